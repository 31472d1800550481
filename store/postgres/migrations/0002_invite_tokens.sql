-- Invitations: a token of kind 'invite' lets an invited user set a
-- password once. Keep in step with store/sqlite/migrations/0002_invite_tokens.sql.

ALTER TABLE tokens DROP CONSTRAINT tokens_kind_check;
ALTER TABLE tokens ADD CONSTRAINT tokens_kind_check
    CHECK (kind IN ('session', 'device', 'enrollment', 'api', 'invite'));
