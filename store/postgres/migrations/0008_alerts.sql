-- Alerts and notifications (issue 14, R-TEL-3 to R-TEL-5).
-- Keep in step with store/sqlite/migrations/0008_alerts.sql, where the
-- tables are explained.

ALTER TABLE sensors ADD COLUMN IF NOT EXISTS temp_min DOUBLE PRECISION;
ALTER TABLE sensors ADD COLUMN IF NOT EXISTS temp_max DOUBLE PRECISION;
ALTER TABLE sensors ADD COLUMN IF NOT EXISTS batt_min DOUBLE PRECISION;
ALTER TABLE sensors ADD COLUMN IF NOT EXISTS batt_max DOUBLE PRECISION;
ALTER TABLE sensors ADD COLUMN IF NOT EXISTS silence BIGINT NOT NULL DEFAULT 0; -- microseconds

CREATE TABLE IF NOT EXISTS alert_settings (
    workspace_id TEXT PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    alerts       TEXT,
    notify       TEXT
);

CREATE TABLE IF NOT EXISTS channels (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id      TEXT,
    kind         TEXT NOT NULL CHECK (kind IN ('email', 'webhook', 'sms')),
    target       TEXT NOT NULL,
    routes       TEXT NOT NULL DEFAULT '[]',
    secret       TEXT NOT NULL DEFAULT '',
    disabled     BOOLEAN NOT NULL DEFAULT FALSE,
    created      TIMESTAMPTZ NOT NULL,
    FOREIGN KEY (workspace_id, user_id) REFERENCES memberships (workspace_id, user_id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS channels_workspace ON channels (workspace_id, seq);
CREATE INDEX IF NOT EXISTS channels_member ON channels (workspace_id, user_id);

CREATE TABLE IF NOT EXISTS alerts (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL CHECK (kind IN ('threshold', 'silence', 'offline', 'outbox', 'refused')),
    key          TEXT NOT NULL,
    sensor       BIGINT NOT NULL DEFAULT 0,
    device       TEXT NOT NULL DEFAULT '',
    metric       TEXT NOT NULL DEFAULT '',
    bound        TEXT NOT NULL DEFAULT '',
    value        DOUBLE PRECISION NOT NULL DEFAULT 0,
    limit_value  DOUBLE PRECISION NOT NULL DEFAULT 0,
    at           TIMESTAMPTZ NOT NULL,
    opened       TIMESTAMPTZ NOT NULL,
    resolved     TIMESTAMPTZ,
    summary      TEXT NOT NULL DEFAULT '',
    recovery     TEXT NOT NULL DEFAULT '',
    notified     TIMESTAMPTZ,
    reminders    INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS alerts_open ON alerts (workspace_id, key) WHERE resolved IS NULL;
CREATE INDEX IF NOT EXISTS alerts_workspace ON alerts (workspace_id, id);
CREATE INDEX IF NOT EXISTS alerts_sensor ON alerts (workspace_id, sensor, id);

CREATE TABLE IF NOT EXISTS alert_marks (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    key          TEXT NOT NULL,
    open_alert   BIGINT,
    notified     TIMESTAMPTZ,
    sensor       BIGINT NOT NULL DEFAULT 0,
    device       TEXT NOT NULL DEFAULT '',
    heard        TIMESTAMPTZ,
    due          TIMESTAMPTZ,
    evaluated    TIMESTAMPTZ,
    PRIMARY KEY (workspace_id, key)
);
CREATE INDEX IF NOT EXISTS alert_marks_due ON alert_marks (due) WHERE open_alert IS NULL AND due IS NOT NULL;

CREATE TABLE IF NOT EXISTS notifications (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    alert        BIGINT REFERENCES alerts (id) ON DELETE CASCADE, -- NULL: a channel's test
    event        TEXT NOT NULL CHECK (event IN ('opened', 'reminder', 'resolved', 'test')),
    channel      TEXT NOT NULL,
    kind         TEXT NOT NULL,
    target       TEXT NOT NULL,
    key          TEXT NOT NULL UNIQUE,
    subject      TEXT NOT NULL DEFAULT '',
    body         TEXT NOT NULL DEFAULT '',
    payload      TEXT NOT NULL DEFAULT '',
    state        TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    error        TEXT NOT NULL DEFAULT '',
    created      TIMESTAMPTZ NOT NULL,
    next         TIMESTAMPTZ,
    sent         TIMESTAMPTZ,
    claimed_by   TEXT NOT NULL DEFAULT '',
    claim_until  TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS notifications_due ON notifications (next, id) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS notifications_workspace ON notifications (workspace_id, id);
CREATE INDEX IF NOT EXISTS notifications_alert ON notifications (alert, id);

CREATE TABLE IF NOT EXISTS server_keys (
    name    TEXT PRIMARY KEY,
    key     BYTEA NOT NULL,
    created TIMESTAMPTZ NOT NULL
);
