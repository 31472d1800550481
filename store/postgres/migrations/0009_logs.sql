-- Run logs (issue 15, R-LOG-1 to R-LOG-3).
-- Keep in step with store/sqlite/migrations/0009_logs.sql, where the
-- tables are explained.

CREATE TABLE IF NOT EXISTS log_keys (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    generation   BIGINT NOT NULL CHECK (generation > 0),
    recipient    TEXT NOT NULL,
    sealed       TEXT NOT NULL,
    created      TIMESTAMPTZ NOT NULL,
    created_by   TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (workspace_id, generation)
);

CREATE TABLE IF NOT EXISTS log_objects (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    execution    TEXT NOT NULL,
    device       TEXT NOT NULL,
    device_name  TEXT NOT NULL DEFAULT '',
    state        TEXT NOT NULL CHECK (state IN ('uploaded', 'interrupted')),
    size         BIGINT NOT NULL CHECK (size >= 0),
    sha256       TEXT NOT NULL,
    modified     TIMESTAMPTZ,
    uploaded     TIMESTAMPTZ NOT NULL,
    generation   BIGINT NOT NULL DEFAULT 0,
    segments     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace_id, execution, device)
);
CREATE INDEX IF NOT EXISTS log_objects_uploaded ON log_objects (workspace_id, uploaded);

CREATE TABLE IF NOT EXISTS log_settings (
    workspace_id TEXT PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    retention    BIGINT NOT NULL DEFAULT 0
);
