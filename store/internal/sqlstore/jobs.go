package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
)

// GetJobs implements store.Jobs.
func (db *DB) GetJobs(ctx context.Context, workspace string) (src []byte, version int64, updated time.Time, err error) {
	err = db.r.QueryRowContext(ctx, `SELECT source, version, updated FROM jobs WHERE workspace_id = $1`, workspace).
		Scan(&src, &version, timeCol{&updated})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, time.Time{}, db.workspaceExists(ctx, workspace)
	}
	return src, version, updated, wrap(err, "read jobs")
}

// PutJobs implements store.Jobs.
func (db *DB) PutJobs(ctx context.Context, workspace string, src []byte, expectVersion int64) (int64, error) {
	if src == nil {
		src = []byte{} // the column is NOT NULL; an empty set is still a set
	}
	now := db.t(db.now())
	var q string
	args := []any{workspace, src, now}
	switch {
	case expectVersion == store.AnyVersion:
		q = `INSERT INTO jobs (workspace_id, source, version, updated) VALUES ($1, $2, 1, $3)
			ON CONFLICT (workspace_id) DO UPDATE SET source = excluded.source,
			version = jobs.version + 1, updated = excluded.updated RETURNING version`
	case expectVersion == 0:
		q = `INSERT INTO jobs (workspace_id, source, version, updated) VALUES ($1, $2, 1, $3)
			ON CONFLICT (workspace_id) DO NOTHING RETURNING version`
	case expectVersion > 0:
		q = `UPDATE jobs SET source = $2, version = version + 1, updated = $3
			WHERE workspace_id = $1 AND version = $4 RETURNING version`
		args = append(args, expectVersion)
	default:
		return 0, invalid("Unknown job set version %d.", expectVersion)
	}
	var version int64
	err := db.w.QueryRowContext(ctx, q, args...).Scan(&version)
	switch {
	case err == nil:
		return version, nil
	case db.dialect.IsForeignKey(err):
		return 0, runlet.Errorf(runlet.ENOTFOUND, "Workspace %q not found.", workspace)
	case !errors.Is(err, sql.ErrNoRows):
		return 0, wrap(err, "write jobs")
	}
	if err := db.workspaceExists(ctx, workspace); err != nil {
		return 0, err
	}
	return 0, runlet.Errorf(runlet.ECONFLICT, "The jobs were changed by someone else since version %d; load them again and reapply your change.", expectVersion)
}
