-- Run logs (issue 15, R-LOG-1 to R-LOG-3): the workspaces' log key
-- generations, the records of the logs devices uploaded (the bytes are in
-- the object store) and the workspaces' log settings.
-- Keep in step with store/postgres/migrations/0009_logs.sql.
--
-- Every statement is IF NOT EXISTS, so the migration may run again.

-- A workspace's log key generations, numbered from 1; the newest is the
-- active one. recipient is the public half ("age1…"); sealed the private
-- half encrypted with the workspace's log passphrase (armored age text),
-- which the server cannot open. created_by is a user id, kept when the
-- user goes.
CREATE TABLE IF NOT EXISTS log_keys (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    generation   INTEGER NOT NULL CHECK (generation > 0),
    recipient    TEXT NOT NULL,
    sealed       TEXT NOT NULL,
    created      INTEGER NOT NULL,
    created_by   TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (workspace_id, generation)
) STRICT, WITHOUT ROWID;

-- One record per log uploaded: a run's log on one device. execution has
-- no foreign key: the record (and its object) lives by the workspace's
-- log retention, counted from uploaded. device_name is the device's name
-- when uploaded, for ordering and for people.
CREATE TABLE IF NOT EXISTS log_objects (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    execution    TEXT NOT NULL,
    device       TEXT NOT NULL,
    device_name  TEXT NOT NULL DEFAULT '',
    state        TEXT NOT NULL CHECK (state IN ('uploaded', 'interrupted')),
    size         INTEGER NOT NULL CHECK (size >= 0),
    sha256       TEXT NOT NULL,
    modified     INTEGER,
    uploaded     INTEGER NOT NULL,
    generation   INTEGER NOT NULL DEFAULT 0,
    segments     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace_id, execution, device)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS log_objects_uploaded ON log_objects (workspace_id, uploaded);

-- A workspace's runlet.LogSettings; no row when it never set them.
-- retention is in microseconds, 0 for the default.
CREATE TABLE IF NOT EXISTS log_settings (
    workspace_id TEXT PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    retention    INTEGER NOT NULL DEFAULT 0
) STRICT;
