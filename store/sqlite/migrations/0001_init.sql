-- Runlet schema, SQLite dialect. Times are microseconds since the Unix
-- epoch (INTEGER), booleans 0 or 1. Keep in step with
-- store/postgres/migrations/0001_init.sql: the contract suite runs on both.

CREATE TABLE workspaces (
    id      TEXT PRIMARY KEY,
    name    TEXT NOT NULL UNIQUE,
    created INTEGER NOT NULL
) STRICT;

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL,
    email_key     TEXT NOT NULL UNIQUE, -- lower-case email: uniqueness ignores case
    name          TEXT NOT NULL DEFAULT '',
    avatar_url    TEXT NOT NULL DEFAULT '',
    type          TEXT NOT NULL CHECK (type IN ('basic', 'pro')),
    password_hash TEXT NOT NULL DEFAULT '',
    created       INTEGER NOT NULL
) STRICT;

CREATE TABLE memberships (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role         TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    created      INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
) STRICT;
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE devices (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    os           TEXT NOT NULL DEFAULT '',
    arch         TEXT NOT NULL DEFAULT '',
    version      TEXT NOT NULL DEFAULT '',
    labels       TEXT NOT NULL DEFAULT '{}', -- JSON object
    last_seen    INTEGER,
    created      INTEGER NOT NULL,
    revoked      INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))
) STRICT;
-- A revoked device gives its name back, so a machine can sign in again.
CREATE UNIQUE INDEX devices_name ON devices (workspace_id, name) WHERE NOT revoked;

CREATE TABLE tokens (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT REFERENCES workspaces (id) ON DELETE CASCADE, -- NULL for sessions
    kind         TEXT NOT NULL CHECK (kind IN ('session', 'device', 'enrollment', 'api')),
    hash         BLOB NOT NULL UNIQUE, -- SHA-256 of the secret
    subject      TEXT NOT NULL,
    created      INTEGER NOT NULL,
    expires      INTEGER,
    revoked      INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))
) STRICT;
CREATE INDEX tokens_subject ON tokens (workspace_id, subject);

CREATE TABLE device_codes (
    hash             BLOB PRIMARY KEY, -- SHA-256 of the device_code
    user_code        TEXT NOT NULL UNIQUE,
    workspace_id     TEXT REFERENCES workspaces (id) ON DELETE CASCADE,
    device_name      TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'consumed')),
    approved_by      TEXT REFERENCES users (id) ON DELETE SET NULL,
    created          INTEGER NOT NULL,
    expires          INTEGER NOT NULL,
    interval_seconds INTEGER NOT NULL,
    last_poll        INTEGER
) STRICT;
CREATE INDEX device_codes_expires ON device_codes (expires);

CREATE TABLE jobs (
    workspace_id TEXT PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    source       BLOB NOT NULL, -- the YAML job set, as the user wrote it
    version      INTEGER NOT NULL,
    updated      INTEGER NOT NULL
) STRICT;

CREATE TABLE executions (
    seq          INTEGER PRIMARY KEY, -- insertion order, breaks ties of created
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id           TEXT NOT NULL,
    device       TEXT NOT NULL,
    job          TEXT NOT NULL,
    client       TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL CHECK (status IN ('Pending', 'Running', 'Error', 'Finished')),
    created      INTEGER NOT NULL,
    scheduled    INTEGER,
    started      INTEGER,
    finished     INTEGER,
    expires      INTEGER,
    exit_code    INTEGER NOT NULL DEFAULT 0,
    signal       TEXT NOT NULL DEFAULT '',
    killed       INTEGER NOT NULL DEFAULT 0 CHECK (killed IN (0, 1)),
    reason       TEXT NOT NULL DEFAULT '',
    UNIQUE (workspace_id, id, device)
) STRICT;
CREATE INDEX executions_recent ON executions (workspace_id, created, seq);
CREATE INDEX executions_device ON executions (workspace_id, device, created, seq);
CREATE INDEX executions_pending ON executions (expires) WHERE status = 'Pending';
