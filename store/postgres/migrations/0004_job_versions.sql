-- The history of each workspace's job set: every saved version, the last
-- store.JobHistory (100) of them, so that an older one can be read and
-- restored. The current version is the newest row.
-- Keep in step with store/sqlite/migrations/0004_job_versions.sql.

CREATE TABLE job_versions (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    version      BIGINT NOT NULL,
    source       BYTEA NOT NULL, -- the YAML job set, as the user wrote it
    saved        TIMESTAMPTZ NOT NULL,
    saved_by     TEXT NOT NULL DEFAULT '', -- a user's email or a device's name; '' unknown
    job_count    INTEGER NOT NULL DEFAULT -1, -- -1: unknown (the store does not parse sources)
    note         TEXT NOT NULL DEFAULT '', -- why, when not an edit: "rollback to version 3"
    PRIMARY KEY (workspace_id, version)
);

-- The job sets saved before the history existed start it.
INSERT INTO job_versions (workspace_id, version, source, saved)
    SELECT workspace_id, version, source, updated FROM jobs;
