-- Named leases (one holder at a time: the scheduler, later the telemetry
-- silence alerts) and the ticks of job schedules, one row per workspace,
-- job and instant, so that a run happens once a tick (R-JOB-7).
-- IF NOT EXISTS: the migration tests run the migrations from 4 on again.
-- Keep in step with store/sqlite/migrations/0005_schedules.sql.

CREATE TABLE IF NOT EXISTS leases (
    name     TEXT PRIMARY KEY,
    holder   TEXT NOT NULL,
    acquired TIMESTAMPTZ NOT NULL,
    expires  TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS schedule_ticks (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    job          TEXT NOT NULL,
    tick         TIMESTAMPTZ NOT NULL, -- the instant the schedule named
    every        TEXT NOT NULL,    -- the schedule as written then
    execution    TEXT NOT NULL,    -- the run's ID, chosen at the first claim
    state        TEXT NOT NULL CHECK (state IN ('claimed', 'started', 'failed', 'skipped')),
    holder       TEXT NOT NULL,    -- the scheduler that claimed it last
    claimed      TIMESTAMPTZ NOT NULL,
    reason       TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (workspace_id, job, tick)
);
