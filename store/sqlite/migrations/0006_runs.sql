-- One row per run (an execution ID and its targets) of a workspace, for
-- the activity: it pages through runs newest first by (created, id), a
-- cursor that runs added meanwhile cannot shift, and filters on job and
-- client with an index each. The first target of a run writes its row
-- (sqlstore insertExecution); the targets stay in executions.
-- IF NOT EXISTS and ON CONFLICT: the migration tests run the migrations
-- from 4 on again.
-- Keep in step with store/postgres/migrations/0006_runs.sql.

CREATE TABLE IF NOT EXISTS runs (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id           TEXT NOT NULL,
    job          TEXT NOT NULL,
    client       TEXT NOT NULL DEFAULT '',
    created      INTEGER NOT NULL, -- the first target's
    PRIMARY KEY (workspace_id, id)
) STRICT;
CREATE INDEX IF NOT EXISTS runs_recent ON runs (workspace_id, created, id);
CREATE INDEX IF NOT EXISTS runs_job ON runs (workspace_id, job, created, id);
CREATE INDEX IF NOT EXISTS runs_client ON runs (workspace_id, client, created, id);

-- The executions stored before: each run from its first target.
INSERT INTO runs (workspace_id, id, job, client, created)
    SELECT workspace_id, id, job, client, created FROM executions e
    WHERE seq = (SELECT MIN(seq) FROM executions f WHERE f.workspace_id = e.workspace_id AND f.id = e.id)
    ON CONFLICT (workspace_id, id) DO NOTHING;
