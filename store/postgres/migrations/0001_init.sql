-- Runlet schema, PostgreSQL dialect. Times are timestamptz, labels jsonb.
-- Keep in step with store/sqlite/migrations/0001_init.sql: the contract
-- suite runs on both.

CREATE TABLE workspaces (
    id      TEXT PRIMARY KEY,
    name    TEXT NOT NULL UNIQUE,
    created TIMESTAMPTZ NOT NULL
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL,
    email_key     TEXT NOT NULL UNIQUE, -- lower-case email: uniqueness ignores case
    name          TEXT NOT NULL DEFAULT '',
    avatar_url    TEXT NOT NULL DEFAULT '',
    type          TEXT NOT NULL CHECK (type IN ('basic', 'pro')),
    password_hash TEXT NOT NULL DEFAULT '',
    created       TIMESTAMPTZ NOT NULL
);

CREATE TABLE memberships (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role         TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    created      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE devices (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    os           TEXT NOT NULL DEFAULT '',
    arch         TEXT NOT NULL DEFAULT '',
    version      TEXT NOT NULL DEFAULT '',
    labels       JSONB NOT NULL DEFAULT '{}',
    last_seen    TIMESTAMPTZ,
    created      TIMESTAMPTZ NOT NULL,
    revoked      BOOLEAN NOT NULL DEFAULT FALSE
);
-- A revoked device gives its name back, so a machine can sign in again.
CREATE UNIQUE INDEX devices_name ON devices (workspace_id, name) WHERE NOT revoked;

CREATE TABLE tokens (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT REFERENCES workspaces (id) ON DELETE CASCADE, -- NULL for sessions
    kind         TEXT NOT NULL CHECK (kind IN ('session', 'device', 'enrollment', 'api')),
    hash         BYTEA NOT NULL UNIQUE, -- SHA-256 of the secret
    subject      TEXT NOT NULL,
    created      TIMESTAMPTZ NOT NULL,
    expires      TIMESTAMPTZ,
    revoked      BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX tokens_subject ON tokens (workspace_id, subject);

CREATE TABLE device_codes (
    hash             BYTEA PRIMARY KEY, -- SHA-256 of the device_code
    user_code        TEXT NOT NULL UNIQUE,
    workspace_id     TEXT REFERENCES workspaces (id) ON DELETE CASCADE,
    device_name      TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'consumed')),
    approved_by      TEXT REFERENCES users (id) ON DELETE SET NULL,
    created          TIMESTAMPTZ NOT NULL,
    expires          TIMESTAMPTZ NOT NULL,
    interval_seconds INTEGER NOT NULL,
    last_poll        TIMESTAMPTZ
);
CREATE INDEX device_codes_expires ON device_codes (expires);

CREATE TABLE jobs (
    workspace_id TEXT PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    source       BYTEA NOT NULL, -- the YAML job set, as the user wrote it
    version      BIGINT NOT NULL,
    updated      TIMESTAMPTZ NOT NULL
);

CREATE TABLE executions (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, -- insertion order, breaks ties of created
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id           TEXT NOT NULL,
    device       TEXT NOT NULL,
    job          TEXT NOT NULL,
    client       TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL CHECK (status IN ('Pending', 'Running', 'Error', 'Finished')),
    created      TIMESTAMPTZ NOT NULL,
    scheduled    TIMESTAMPTZ,
    started      TIMESTAMPTZ,
    finished     TIMESTAMPTZ,
    expires      TIMESTAMPTZ,
    exit_code    INTEGER NOT NULL DEFAULT 0,
    signal       TEXT NOT NULL DEFAULT '',
    killed       BOOLEAN NOT NULL DEFAULT FALSE,
    reason       TEXT NOT NULL DEFAULT '',
    UNIQUE (workspace_id, id, device)
);
CREATE INDEX executions_recent ON executions (workspace_id, created, seq);
CREATE INDEX executions_device ON executions (workspace_id, device, created, seq);
CREATE INDEX executions_pending ON executions (expires) WHERE status = 'Pending';
