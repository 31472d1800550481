package sqlstore

import (
	"context"
	"database/sql"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
)

const tokenCols = `id, workspace_id, kind, hash, subject, created, expires, revoked`

func scanToken(s scanner) (runlet.Token, error) {
	var t runlet.Token
	err := s.Scan(&t.ID, textCol{&t.Workspace}, &t.Kind, &t.Hash, &t.Subject,
		timeCol{&t.Created}, timeCol{&t.Expires}, &t.Revoked)
	return t, err
}

func validToken(t *runlet.Token) error {
	switch {
	case !t.Kind.Valid():
		return invalid("Unknown token kind %q.", t.Kind)
	case len(t.Hash) != 32:
		return invalid("A token hash must be the 32 bytes of a SHA-256, not %d.", len(t.Hash))
	case t.Subject == "":
		return invalid("A token needs a subject: the user or device it acts as.")
	case t.Workspace == "" && t.Kind != runlet.TokenSession:
		return invalid("A %s token needs a workspace.", t.Kind)
	}
	return nil
}

// CreateToken implements store.Tokens.
func (db *DB) CreateToken(ctx context.Context, t *runlet.Token) error {
	if err := validToken(t); err != nil {
		return err
	}
	nt := *t
	if nt.ID == "" {
		nt.ID = store.NewID()
	}
	nt.Created = db.now()
	nt.Expires = stampOrZero(nt.Expires)
	nt.Revoked = false
	_, err := db.w.ExecContext(ctx, `INSERT INTO tokens (id, workspace_id, kind, hash, subject, created, expires)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		nt.ID, nullText(nt.Workspace), string(nt.Kind), nt.Hash, nt.Subject, db.t(nt.Created), db.t(nt.Expires))
	if err = db.constraint(err, "create token", "A token with this secret (or ID) already exists.", "Workspace "+quote(nt.Workspace)+" not found."); err != nil {
		return err
	}
	*t = nt
	return nil
}

// TokenByHash implements store.Tokens.
func (db *DB) TokenByHash(ctx context.Context, hash []byte) (runlet.Token, error) {
	t, err := scanToken(db.r.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM tokens
		WHERE hash = $1 AND NOT revoked AND (expires IS NULL OR expires > $2)`, hash, db.t(db.now())))
	return t, notFound(err, "read token", "The token is unknown, revoked or expired.")
}

// ListTokens implements store.Tokens.
func (db *DB) ListTokens(ctx context.Context, workspace string) ([]runlet.Token, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+tokenCols+` FROM tokens
		WHERE workspace_id = $1 ORDER BY created DESC, id`, workspace)
	ts, err := collect(rows, err, scanToken)
	return ts, wrap(err, "list tokens")
}

// RevokeToken implements store.Tokens.
func (db *DB) RevokeToken(ctx context.Context, workspace, id string) error {
	n, err := rowsAffected(db.w.ExecContext(ctx, `UPDATE tokens SET revoked = TRUE
		WHERE COALESCE(workspace_id, '') = $1 AND id = $2`, workspace, id))
	if err != nil {
		return wrap(err, "revoke token")
	}
	if n == 0 {
		return notFound(sql.ErrNoRows, "", "Token "+quote(id)+" not found.")
	}
	return nil
}

// RevokeSubjectTokens implements store.Tokens.
func (db *DB) RevokeSubjectTokens(ctx context.Context, workspace, subject string) (int, error) {
	n, err := rowsAffected(db.w.ExecContext(ctx, `UPDATE tokens SET revoked = TRUE
		WHERE workspace_id = $1 AND subject = $2 AND NOT revoked`, workspace, subject))
	return n, wrap(err, "revoke tokens")
}
