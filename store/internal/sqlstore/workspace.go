package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
)

const workspaceCols = `id, name, created`

func scanWorkspace(s scanner) (runlet.Workspace, error) {
	var w runlet.Workspace
	err := s.Scan(&w.ID, &w.Name, timeCol{&w.Created})
	return w, err
}

// CreateWorkspace implements store.Workspaces.
func (db *DB) CreateWorkspace(ctx context.Context, w *runlet.Workspace) error {
	if strings.TrimSpace(w.Name) == "" {
		return invalid("A workspace needs a name.")
	}
	nw := *w
	if nw.ID == "" {
		nw.ID = store.NewID()
	}
	nw.Created = db.now()
	_, err := db.w.ExecContext(ctx, `INSERT INTO workspaces (id, name, created) VALUES ($1, $2, $3)`,
		nw.ID, nw.Name, db.t(nw.Created))
	if err = db.constraint(err, "create workspace", "A workspace named "+quote(nw.Name)+" (or with its ID) already exists.", ""); err != nil {
		return err
	}
	*w = nw
	return nil
}

// Workspace implements store.Workspaces.
func (db *DB) Workspace(ctx context.Context, id string) (runlet.Workspace, error) {
	w, err := scanWorkspace(db.r.QueryRowContext(ctx, `SELECT `+workspaceCols+` FROM workspaces WHERE id = $1`, id))
	return w, notFound(err, "read workspace", "Workspace "+quote(id)+" not found.")
}

// WorkspaceByName implements store.Workspaces.
func (db *DB) WorkspaceByName(ctx context.Context, name string) (runlet.Workspace, error) {
	w, err := scanWorkspace(db.r.QueryRowContext(ctx, `SELECT `+workspaceCols+` FROM workspaces WHERE name = $1`, name))
	return w, notFound(err, "read workspace", "Workspace "+quote(name)+" not found.")
}

// ListWorkspaces implements store.Workspaces.
func (db *DB) ListWorkspaces(ctx context.Context) ([]runlet.Workspace, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+workspaceCols+` FROM workspaces ORDER BY name`)
	ws, err := collect(rows, err, scanWorkspace)
	return ws, wrap(err, "list workspaces")
}

// workspaceExists tells ENOTFOUND from an empty answer.
func (db *DB) workspaceExists(ctx context.Context, id string) error {
	var one int
	err := db.r.QueryRowContext(ctx, `SELECT 1 FROM workspaces WHERE id = $1`, id).Scan(&one)
	return notFound(err, "read workspace", "Workspace "+quote(id)+" not found.")
}

// RenameWorkspace implements store.Workspaces.
func (db *DB) RenameWorkspace(ctx context.Context, id, name string) (runlet.Workspace, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return runlet.Workspace{}, invalid("A workspace needs a name.")
	}
	w, err := scanWorkspace(db.w.QueryRowContext(ctx, `UPDATE workspaces SET name = $2 WHERE id = $1
		RETURNING `+workspaceCols, id, name))
	if errors.Is(err, sql.ErrNoRows) {
		return w, notFound(err, "", "Workspace "+quote(id)+" not found.")
	}
	return w, db.constraint(err, "rename workspace", "A workspace named "+quote(name)+" already exists.", "")
}
