package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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
	return db.SaveJobs(ctx, workspace, store.JobsSave{Source: src, Expect: expectVersion, Jobs: -1})
}

// SaveJobs implements store.Jobs: the job set and its version in the
// history change in one transaction.
func (db *DB) SaveJobs(ctx context.Context, workspace string, s store.JobsSave) (int64, error) {
	src := s.Source
	if src == nil {
		src = []byte{} // the column is NOT NULL; an empty set is still a set
	}
	now := db.t(db.now())
	var q string
	args := []any{workspace, src, now}
	switch {
	case s.Expect == store.AnyVersion:
		q = `INSERT INTO jobs (workspace_id, source, version, updated) VALUES ($1, $2, 1, $3)
			ON CONFLICT (workspace_id) DO UPDATE SET source = excluded.source,
			version = jobs.version + 1, updated = excluded.updated RETURNING version`
	case s.Expect == 0:
		q = `INSERT INTO jobs (workspace_id, source, version, updated) VALUES ($1, $2, 1, $3)
			ON CONFLICT (workspace_id) DO NOTHING RETURNING version`
	case s.Expect > 0:
		q = `UPDATE jobs SET source = $2, version = version + 1, updated = $3
			WHERE workspace_id = $1 AND version = $4 RETURNING version`
		args = append(args, s.Expect)
	default:
		return 0, invalid("Unknown job set version %d.", s.Expect)
	}
	var version int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, q, args...).Scan(&version); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO job_versions
			(workspace_id, version, source, saved, saved_by, job_count, note) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			workspace, version, src, now, s.By, s.Jobs, s.Note); err != nil {
			return fmt.Errorf("keep version %d: %w", version, err)
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM job_versions WHERE workspace_id = $1 AND version <= $2`,
			workspace, version-store.JobHistory)
		return err
	})
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
	return 0, runlet.Errorf(runlet.ECONFLICT, "The jobs were changed by someone else since version %d; load them again and reapply your change.", s.Expect)
}

// JobVersions implements store.Jobs.
func (db *DB) JobVersions(ctx context.Context, workspace string) ([]runlet.JobVersion, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT version, saved, saved_by, job_count, note FROM job_versions
		WHERE workspace_id = $1 ORDER BY version DESC`, workspace)
	if err != nil {
		return nil, wrap(err, "read the job set's history")
	}
	defer rows.Close()
	vs := []runlet.JobVersion{}
	for rows.Next() {
		var v runlet.JobVersion
		if err := rows.Scan(&v.Version, timeCol{&v.Saved}, &v.By, &v.Jobs, &v.Note); err != nil {
			return nil, wrap(err, "read the job set's history")
		}
		vs = append(vs, v)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(err, "read the job set's history")
	}
	if len(vs) == 0 {
		return vs, db.workspaceExists(ctx, workspace)
	}
	return vs, nil
}

// JobVersion implements store.Jobs.
func (db *DB) JobVersion(ctx context.Context, workspace string, version int64) (runlet.JobVersion, []byte, error) {
	v := runlet.JobVersion{Version: version}
	var src []byte
	err := db.r.QueryRowContext(ctx, `SELECT source, saved, saved_by, job_count, note FROM job_versions
		WHERE workspace_id = $1 AND version = $2`, workspace, version).
		Scan(&src, timeCol{&v.Saved}, &v.By, &v.Jobs, &v.Note)
	if errors.Is(err, sql.ErrNoRows) {
		if err := db.workspaceExists(ctx, workspace); err != nil {
			return runlet.JobVersion{}, nil, err
		}
		return runlet.JobVersion{}, nil, runlet.Errorf(runlet.ENOTFOUND,
			"The job set has no version %d (its history keeps the last %d versions).", version, store.JobHistory)
	}
	if err != nil {
		return runlet.JobVersion{}, nil, wrap(err, "read a version of the job set")
	}
	if src == nil {
		src = []byte{}
	}
	return v, src, nil
}
