package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/runlet/runlet"
)

// store.Logs (issue 15, R-LOG-1 to R-LOG-3): log key generations, the
// records of uploaded logs and the log settings of each workspace.

const logKeyCols = `generation, recipient, sealed, created, created_by`

func scanLogKey(s scanner) (runlet.LogKey, error) {
	var k runlet.LogKey
	err := s.Scan(&k.Generation, &k.Recipient, &k.Sealed, timeCol{&k.Created}, &k.CreatedBy)
	return k, err
}

// LogKeys implements store.Logs (R-LOG-1).
func (db *DB) LogKeys(ctx context.Context, workspace string) ([]runlet.LogKey, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+logKeyCols+` FROM log_keys
		WHERE workspace_id = $1 ORDER BY generation`, workspace)
	ks, err := collect(rows, err, scanLogKey)
	if err != nil {
		return nil, fmt.Errorf("list the log keys of workspace %s: %w", quote(workspace), err)
	}
	if len(ks) == 0 {
		return nil, db.workspaceExists(ctx, workspace)
	}
	return ks, nil
}

// AddLogKey implements store.Logs (R-LOG-1): a rotation is one
// transaction. The new generation's row is inserted first: two rotations
// from the same generation insert the same primary key, so on PostgreSQL
// the second waits for the first and then fails on the key (ECONFLICT),
// and SQLite's one writer runs them one after the other, the second
// seeing the first's generation. Re-sealed texts are written after, in
// generation order.
func (db *DB) AddLogKey(ctx context.Context, workspace string, after int64, k *runlet.LogKey, resealed map[int64]string) error {
	switch {
	case strings.TrimSpace(k.Recipient) == "":
		return invalid("A log key needs its public recipient (age1…).")
	case strings.TrimSpace(k.Sealed) == "":
		return invalid("A log key needs its sealed identity (the private half encrypted with the log passphrase).")
	case after < 0:
		return invalid("A new log key follows generation 0 (none yet) or later, not %d.", after)
	}
	gens := make([]int64, 0, len(resealed))
	for g, text := range resealed {
		if g < 1 || g > after {
			return invalid("Generation %d cannot be re-sealed: the workspace's log keys before the new one are 1 to %d.", g, after)
		}
		if strings.TrimSpace(text) == "" {
			return invalid("The re-sealed identity of log key generation %d is empty.", g)
		}
		gens = append(gens, g)
	}
	slices.Sort(gens)
	created := db.now()
	conflict := func(newest int64) error {
		return runlet.Errorf(runlet.ECONFLICT, "The log key of workspace %s changed meanwhile: the active generation is %d, not %d. Read the keys again and retry.",
			quote(workspace), newest, after)
	}
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var newest int64
		err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(generation), 0) FROM log_keys WHERE workspace_id = $1`, workspace).Scan(&newest)
		if err != nil {
			return fmt.Errorf("read the active log key of workspace %s: %w", quote(workspace), err)
		}
		if newest != after {
			if err := db.workspaceExists(ctx, workspace); err != nil {
				return err
			}
			return conflict(newest)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO log_keys (workspace_id, generation, recipient, sealed, created, created_by)
			VALUES ($1, $2, $3, $4, $5, $6)`, workspace, after+1, k.Recipient, k.Sealed, db.t(created), k.CreatedBy)
		switch {
		case db.dialect.IsUnique(err):
			return conflict(after + 1)
		case err != nil:
			return db.constraint(err, "store log key generation "+strconv.FormatInt(after+1, 10), "",
				"Workspace "+quote(workspace)+" not found.")
		}
		for _, g := range gens {
			n, err := rowsAffected(tx.ExecContext(ctx, `UPDATE log_keys SET sealed = $3 WHERE workspace_id = $1 AND generation = $2`,
				workspace, g, resealed[g]))
			if err != nil {
				return fmt.Errorf("re-seal log key generation %d: %w", g, err)
			}
			if n == 0 { // a workspace's generations have no gaps: not expected
				return invalid("Log key generation %d does not exist in workspace %s.", g, quote(workspace))
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	k.Generation, k.Created = after+1, created
	return nil
}

const logObjectCols = `workspace_id, execution, device, device_name, state, size, sha256, modified, uploaded, generation, segments`

func scanLogObject(s scanner) (runlet.LogObject, error) {
	var o runlet.LogObject
	err := s.Scan(&o.Workspace, &o.Execution, &o.Device, &o.DeviceName, &o.State, &o.Size, &o.SHA256,
		timeCol{&o.Modified}, timeCol{&o.Uploaded}, &o.Generation, &o.Segments)
	return o, err
}

// PutLogObject implements store.Logs (R-LOG-2). o.Modified is kept to
// the microsecond, in UTC, as it is stored.
func (db *DB) PutLogObject(ctx context.Context, o *runlet.LogObject) error {
	switch {
	case o.Execution == "":
		return invalid("A log's record needs its execution.")
	case o.Device == "":
		return invalid("A log's record needs its device.")
	case o.State != runlet.LogUploaded && o.State != runlet.LogInterrupted:
		return invalid("A log is %q or %q, not %q.", runlet.LogUploaded, runlet.LogInterrupted, o.State)
	case o.Size < 0:
		return invalid("A log cannot be %d bytes long.", o.Size)
	case o.Generation < 0 || o.Segments < 0:
		return invalid("A log's key generation (%d) and segment count (%d) cannot be negative.", o.Generation, o.Segments)
	}
	if err := runlet.CheckSHA256(o.SHA256); err != nil {
		return err
	}
	uploaded := db.now()
	modified := time.Time{}
	if !o.Modified.IsZero() {
		modified = stamp(o.Modified)
	}
	_, err := db.w.ExecContext(ctx, `INSERT INTO log_objects (`+logObjectCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (workspace_id, execution, device) DO UPDATE SET device_name = excluded.device_name,
			state = excluded.state, size = excluded.size, sha256 = excluded.sha256, modified = excluded.modified,
			uploaded = excluded.uploaded, generation = excluded.generation, segments = excluded.segments`,
		o.Workspace, o.Execution, o.Device, o.DeviceName, string(o.State), o.Size, o.SHA256,
		db.t(modified), db.t(uploaded), o.Generation, o.Segments)
	if err != nil {
		return db.constraint(err, "record the log of execution "+quote(o.Execution)+" on device "+quote(o.Device), "",
			"Workspace "+quote(o.Workspace)+" not found.")
	}
	o.Modified, o.Uploaded = modified, uploaded
	return nil
}

// LogObject implements store.Logs.
func (db *DB) LogObject(ctx context.Context, workspace, execution, device string) (runlet.LogObject, error) {
	o, err := scanLogObject(db.r.QueryRowContext(ctx, `SELECT `+logObjectCols+` FROM log_objects
		WHERE workspace_id = $1 AND execution = $2 AND device = $3`, workspace, execution, device))
	return o, notFound(err, "read the log record", "No log of execution "+quote(execution)+" on device "+quote(device)+" was uploaded.")
}

// LogObjects implements store.Logs.
func (db *DB) LogObjects(ctx context.Context, workspace, execution string) ([]runlet.LogObject, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+logObjectCols+` FROM log_objects
		WHERE workspace_id = $1 AND execution = $2 ORDER BY device_name, device`, workspace, execution)
	objs, err := collect(rows, err, scanLogObject)
	return objs, wrap(err, "list the logs of execution "+quote(execution))
}

// ExpiredLogObjects implements store.Logs, for the retention sweep: a
// limit of 0 is store.DefaultLimit, and no more than store.MaxLimit.
// EINVALID: a negative limit.
func (db *DB) ExpiredLogObjects(ctx context.Context, workspace string, before time.Time, limit int) ([]runlet.LogObject, error) {
	if limit < 0 {
		return nil, invalid("A page of expired logs needs a limit of 0 or more, not %d.", limit)
	}
	limit, _ = pageLimit(limit)
	rows, err := db.r.QueryContext(ctx, `SELECT `+logObjectCols+` FROM log_objects
		WHERE workspace_id = $1 AND uploaded < $2 ORDER BY uploaded, execution, device LIMIT $3`,
		workspace, db.dialect.Time(stamp(before)), limit)
	objs, err := collect(rows, err, scanLogObject)
	return objs, wrap(err, "list expired logs")
}

// DeleteLogObject implements store.Logs.
func (db *DB) DeleteLogObject(ctx context.Context, workspace, execution, device string) error {
	_, err := db.w.ExecContext(ctx, `DELETE FROM log_objects WHERE workspace_id = $1 AND execution = $2 AND device = $3`,
		workspace, execution, device)
	return wrap(err, "delete the record of the log of execution "+quote(execution)+" on device "+quote(device))
}

// LogSettings implements store.Logs. The retention is kept to the
// microsecond.
func (db *DB) LogSettings(ctx context.Context, workspace string) (runlet.LogSettings, error) {
	var s runlet.LogSettings
	var micros int64
	err := db.r.QueryRowContext(ctx, `SELECT retention FROM log_settings WHERE workspace_id = $1`, workspace).Scan(&micros)
	if errors.Is(err, sql.ErrNoRows) {
		return s, db.workspaceExists(ctx, workspace)
	}
	if err != nil {
		return s, fmt.Errorf("read the log settings of workspace %s: %w", quote(workspace), err)
	}
	s.Retention = runlet.Duration(time.Duration(micros) * time.Microsecond)
	return s, nil
}

// SetLogSettings implements store.Logs.
func (db *DB) SetLogSettings(ctx context.Context, workspace string, s runlet.LogSettings) error {
	if err := s.Check(); err != nil {
		return err
	}
	_, err := db.w.ExecContext(ctx, `INSERT INTO log_settings (workspace_id, retention) VALUES ($1, $2)
		ON CONFLICT (workspace_id) DO UPDATE SET retention = excluded.retention`,
		workspace, time.Duration(s.Retention).Microseconds())
	return db.constraint(err, "store the log settings", "", "Workspace "+quote(workspace)+" not found.")
}
