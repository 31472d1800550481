-- The audit log: security events such as lockouts after failed sign-ins.
-- Keep in step with store/postgres/migrations/0003_audit.sql.

CREATE TABLE audit (
    seq          INTEGER PRIMARY KEY, -- insertion order, breaks ties of created
    id           TEXT NOT NULL UNIQUE,
    workspace_id TEXT REFERENCES workspaces (id) ON DELETE CASCADE, -- NULL: server-wide
    kind         TEXT NOT NULL,
    subject      TEXT NOT NULL DEFAULT '',
    user_id      TEXT NOT NULL DEFAULT '',
    source       TEXT NOT NULL DEFAULT '',
    detail       TEXT NOT NULL DEFAULT '',
    created      INTEGER NOT NULL
) STRICT;
CREATE INDEX audit_recent ON audit (created, seq);
CREATE INDEX audit_workspace ON audit (workspace_id, created, seq);
