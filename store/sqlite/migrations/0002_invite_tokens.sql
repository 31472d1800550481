-- Invitations: a token of kind 'invite' lets an invited user set a
-- password once. SQLite cannot change a CHECK, so the table is rebuilt.
-- Keep in step with store/postgres/migrations/0002_invite_tokens.sql.

CREATE TABLE tokens_new (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT REFERENCES workspaces (id) ON DELETE CASCADE, -- NULL for sessions
    kind         TEXT NOT NULL CHECK (kind IN ('session', 'device', 'enrollment', 'api', 'invite')),
    hash         BLOB NOT NULL UNIQUE, -- SHA-256 of the secret
    subject      TEXT NOT NULL,
    created      INTEGER NOT NULL,
    expires      INTEGER,
    revoked      INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))
) STRICT;
INSERT INTO tokens_new (id, workspace_id, kind, hash, subject, created, expires, revoked)
    SELECT id, workspace_id, kind, hash, subject, created, expires, revoked FROM tokens;
DROP TABLE tokens;
ALTER TABLE tokens_new RENAME TO tokens;
CREATE INDEX tokens_subject ON tokens (workspace_id, subject);
