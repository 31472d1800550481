-- Alerts and notifications (issue 14, R-TEL-3 to R-TEL-5): the sensors'
-- own rules, the workspaces' alert and notification settings, channels,
-- the state of each alert key, the alerts and the outbox of
-- notifications; and the server's own signing keys.
-- Keep in step with store/postgres/migrations/0008_alerts.sql.
--
-- Tables are created IF NOT EXISTS like 0007's; the columns added to
-- sensors cannot be, so the migration tests do not run 0008 twice.

-- A sensor's own thresholds (NULL: the workspace's default) and silence
-- period in microseconds (0: the workspace's default).
ALTER TABLE sensors ADD COLUMN temp_min REAL;
ALTER TABLE sensors ADD COLUMN temp_max REAL;
ALTER TABLE sensors ADD COLUMN batt_min REAL;
ALTER TABLE sensors ADD COLUMN batt_max REAL;
ALTER TABLE sensors ADD COLUMN silence INTEGER NOT NULL DEFAULT 0;

-- A workspace's runlet.AlertSettings and store.NotifySettings as JSON;
-- NULL when it never set them.
CREATE TABLE IF NOT EXISTS alert_settings (
    workspace_id TEXT PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    alerts       TEXT,
    notify       TEXT
) STRICT;

-- Channels: a user's (user_id set, a member of the workspace: removing
-- the member removes them) or the workspace's (user_id NULL). seq keeps
-- the order of creation.
CREATE TABLE IF NOT EXISTS channels (
    seq          INTEGER PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id      TEXT,
    kind         TEXT NOT NULL CHECK (kind IN ('email', 'webhook', 'sms')),
    target       TEXT NOT NULL,
    routes       TEXT NOT NULL DEFAULT '[]', -- JSON array of routes
    secret       TEXT NOT NULL DEFAULT '',
    disabled     INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created      INTEGER NOT NULL,
    FOREIGN KEY (workspace_id, user_id) REFERENCES memberships (workspace_id, user_id) ON DELETE CASCADE
) STRICT;
CREATE INDEX IF NOT EXISTS channels_workspace ON channels (workspace_id, seq);
CREATE INDEX IF NOT EXISTS channels_member ON channels (workspace_id, user_id);

-- Alerts, never deleted (AUTOINCREMENT: an id, which notification keys
-- hold, is never given twice). At most one open alert per key.
CREATE TABLE IF NOT EXISTS alerts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL CHECK (kind IN ('threshold', 'silence', 'offline', 'outbox', 'refused')),
    key          TEXT NOT NULL,
    sensor       INTEGER NOT NULL DEFAULT 0,
    device       TEXT NOT NULL DEFAULT '',
    metric       TEXT NOT NULL DEFAULT '',
    bound        TEXT NOT NULL DEFAULT '',
    value        REAL NOT NULL DEFAULT 0,
    limit_value  REAL NOT NULL DEFAULT 0,
    at           INTEGER NOT NULL,
    opened       INTEGER NOT NULL,
    resolved     INTEGER,
    summary      TEXT NOT NULL DEFAULT '',
    recovery     TEXT NOT NULL DEFAULT '',
    notified     INTEGER,
    reminders    INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE UNIQUE INDEX IF NOT EXISTS alerts_open ON alerts (workspace_id, key) WHERE resolved IS NULL;
CREATE INDEX IF NOT EXISTS alerts_workspace ON alerts (workspace_id, id);
CREATE INDEX IF NOT EXISTS alerts_sensor ON alerts (workspace_id, sensor, id);

-- The state of each alert key: its open alert (kept in step with alerts
-- by ChangeAlert), when people were last told, and for a sensor's
-- silence when it was heard and when it counts as silent.
CREATE TABLE IF NOT EXISTS alert_marks (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    key          TEXT NOT NULL,
    open_alert   INTEGER,
    notified     INTEGER,
    sensor       INTEGER NOT NULL DEFAULT 0,
    device       TEXT NOT NULL DEFAULT '',
    heard        INTEGER,
    due          INTEGER,
    evaluated    INTEGER,
    PRIMARY KEY (workspace_id, key)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS alert_marks_due ON alert_marks (due) WHERE open_alert IS NULL AND due IS NOT NULL;

-- The outbox. channel has no foreign key: a deleted channel's
-- notifications stay, with their target.
CREATE TABLE IF NOT EXISTS notifications (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    alert        INTEGER REFERENCES alerts (id) ON DELETE CASCADE, -- NULL: a channel's test
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
    created      INTEGER NOT NULL,
    next         INTEGER,
    sent         INTEGER,
    claimed_by   TEXT NOT NULL DEFAULT '',
    claim_until  INTEGER
) STRICT;
CREATE INDEX IF NOT EXISTS notifications_due ON notifications (next, id) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS notifications_workspace ON notifications (workspace_id, id);
CREATE INDEX IF NOT EXISTS notifications_alert ON notifications (alert, id);

-- The server's own keys (the admin API's signing key), shared by every
-- server process on the database.
CREATE TABLE IF NOT EXISTS server_keys (
    name    TEXT PRIMARY KEY,
    key     BLOB NOT NULL,
    created INTEGER NOT NULL
) STRICT;
