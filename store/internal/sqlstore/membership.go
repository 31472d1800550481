package sqlstore

import (
	"context"
	"database/sql"

	"github.com/runlet/runlet"
)

const membershipCols = `workspace_id, user_id, role, created`

func scanMembership(s scanner) (runlet.Membership, error) {
	var m runlet.Membership
	err := s.Scan(&m.Workspace, &m.User, &m.Role, timeCol{&m.Created})
	return m, err
}

// PutMembership implements store.Memberships.
func (db *DB) PutMembership(ctx context.Context, m *runlet.Membership) error {
	if !m.Role.Valid() {
		return invalid("Unknown role %q: use owner, admin or member.", m.Role)
	}
	got, err := scanMembership(db.w.QueryRowContext(ctx, `INSERT INTO memberships (workspace_id, user_id, role, created)
		VALUES ($1, $2, $3, $4)
		ON CONFLICT (workspace_id, user_id) DO UPDATE SET role = excluded.role
		RETURNING `+membershipCols,
		m.Workspace, m.User, string(m.Role), db.t(db.now())))
	if err = db.constraint(err, "put membership", "", "Workspace "+quote(m.Workspace)+" or user "+quote(m.User)+" not found."); err != nil {
		return err
	}
	*m = got
	return nil
}

// Membership implements store.Memberships.
func (db *DB) Membership(ctx context.Context, workspace, user string) (runlet.Membership, error) {
	m, err := scanMembership(db.r.QueryRowContext(ctx, `SELECT `+membershipCols+` FROM memberships
		WHERE workspace_id = $1 AND user_id = $2`, workspace, user))
	return m, notFound(err, "read membership", "User "+quote(user)+" is not a member of workspace "+quote(workspace)+".")
}

// ListMembers implements store.Memberships.
func (db *DB) ListMembers(ctx context.Context, workspace string) ([]runlet.Membership, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+membershipCols+` FROM memberships
		WHERE workspace_id = $1 ORDER BY created, user_id`, workspace)
	ms, err := collect(rows, err, scanMembership)
	return ms, wrap(err, "list members")
}

// ListUserMemberships implements store.Memberships.
func (db *DB) ListUserMemberships(ctx context.Context, user string) ([]runlet.Membership, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+membershipCols+` FROM memberships
		WHERE user_id = $1 ORDER BY created, workspace_id`, user)
	ms, err := collect(rows, err, scanMembership)
	return ms, wrap(err, "list memberships")
}

// DeleteMembership implements store.Memberships.
func (db *DB) DeleteMembership(ctx context.Context, workspace, user string) error {
	n, err := rowsAffected(db.w.ExecContext(ctx, `DELETE FROM memberships WHERE workspace_id = $1 AND user_id = $2`, workspace, user))
	if err != nil {
		return wrap(err, "delete membership")
	}
	if n == 0 {
		return notFound(sql.ErrNoRows, "", "User "+quote(user)+" is not a member of workspace "+quote(workspace)+".")
	}
	return nil
}
