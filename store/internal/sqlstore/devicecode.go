package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/runlet/runlet"
)

const deviceCodeCols = `hash, user_code, workspace_id, device_name, status, approved_by, created, expires, interval_seconds, last_poll`

func scanDeviceCode(s scanner) (runlet.DeviceCode, error) {
	var c runlet.DeviceCode
	var secs int64
	err := s.Scan(&c.Hash, &c.UserCode, textCol{&c.Workspace}, &c.DeviceName, &c.Status, textCol{&c.ApprovedBy},
		timeCol{&c.Created}, timeCol{&c.Expires}, &secs, timeCol{&c.LastPoll})
	c.Interval = time.Duration(secs) * time.Second
	return c, err
}

const codeNotFound = "The code is unknown or has expired; start the sign-in again."

// CreateDeviceCode implements store.DeviceCodes.
func (db *DB) CreateDeviceCode(ctx context.Context, c *runlet.DeviceCode) error {
	switch {
	case len(c.Hash) != 32:
		return invalid("A device code hash must be the 32 bytes of a SHA-256, not %d.", len(c.Hash))
	case c.UserCode == "":
		return invalid("A device code needs a user code.")
	case c.Expires.IsZero():
		return invalid("A device code needs an expiry.")
	}
	nc := *c
	nc.Status = runlet.DeviceCodePending
	nc.Created = db.now()
	nc.Expires = stamp(nc.Expires)
	nc.Interval = nc.Interval.Truncate(time.Second)
	nc.LastPoll = time.Time{}
	_, err := db.w.ExecContext(ctx, `INSERT INTO device_codes
		(hash, user_code, workspace_id, device_name, status, approved_by, created, expires, interval_seconds)
		VALUES ($1, $2, $3, $4, $5, NULL, $6, $7, $8)`,
		nc.Hash, nc.UserCode, nullText(nc.Workspace), nc.DeviceName, string(nc.Status),
		db.t(nc.Created), db.t(nc.Expires), int64(nc.Interval/time.Second))
	if err = db.constraint(err, "create device code", "This device or user code exists already; make a new one.", "Workspace "+quote(nc.Workspace)+" not found."); err != nil {
		return err
	}
	*c = nc
	return nil
}

// DeviceCodeByUserCode implements store.DeviceCodes.
func (db *DB) DeviceCodeByUserCode(ctx context.Context, userCode string) (runlet.DeviceCode, error) {
	c, err := scanDeviceCode(db.r.QueryRowContext(ctx, `SELECT `+deviceCodeCols+` FROM device_codes
		WHERE user_code = $1 AND expires > $2`, userCode, db.t(db.now())))
	return c, notFound(err, "read device code", codeNotFound)
}

// ApproveDeviceCode implements store.DeviceCodes.
func (db *DB) ApproveDeviceCode(ctx context.Context, userCode, workspace, user string) (runlet.DeviceCode, error) {
	c, err := scanDeviceCode(db.w.QueryRowContext(ctx, `UPDATE device_codes
		SET status = 'approved', workspace_id = $2, approved_by = $3
		WHERE user_code = $1 AND status = 'pending' AND expires > $4 RETURNING `+deviceCodeCols,
		userCode, workspace, user, db.t(db.now())))
	if err != nil && db.dialect.IsForeignKey(err) {
		return c, db.constraint(err, "", "", "Workspace "+quote(workspace)+" or user "+quote(user)+" not found.")
	}
	return codeTransition(c, err, "approve device code", func() (runlet.DeviceCode, error) {
		return db.DeviceCodeByUserCode(ctx, userCode)
	})
}

// DenyDeviceCode implements store.DeviceCodes.
func (db *DB) DenyDeviceCode(ctx context.Context, userCode, user string) (runlet.DeviceCode, error) {
	c, err := scanDeviceCode(db.w.QueryRowContext(ctx, `UPDATE device_codes
		SET status = 'denied', approved_by = $2
		WHERE user_code = $1 AND status = 'pending' AND expires > $3 RETURNING `+deviceCodeCols,
		userCode, nullText(user), db.t(db.now())))
	if err != nil && db.dialect.IsForeignKey(err) {
		return c, db.constraint(err, "", "", "User "+quote(user)+" not found.")
	}
	return codeTransition(c, err, "deny device code", func() (runlet.DeviceCode, error) {
		return db.DeviceCodeByUserCode(ctx, userCode)
	})
}

// PollDeviceCode implements store.DeviceCodes.
func (db *DB) PollDeviceCode(ctx context.Context, hash []byte) (runlet.DeviceCode, error) {
	var c runlet.DeviceCode
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		c, err = scanDeviceCode(tx.QueryRowContext(ctx, `SELECT `+deviceCodeCols+` FROM device_codes WHERE hash = $1`, hash))
		if err != nil {
			return notFound(err, "read device code", codeNotFound)
		}
		_, err = tx.ExecContext(ctx, `UPDATE device_codes SET last_poll = $2 WHERE hash = $1`, hash, db.t(db.now()))
		return wrap(err, "record poll")
	})
	return c, err
}

// ConsumeDeviceCode implements store.DeviceCodes.
func (db *DB) ConsumeDeviceCode(ctx context.Context, hash []byte) (runlet.DeviceCode, error) {
	c, err := scanDeviceCode(db.w.QueryRowContext(ctx, `UPDATE device_codes SET status = 'consumed'
		WHERE hash = $1 AND status = 'approved' AND expires > $2 RETURNING `+deviceCodeCols,
		hash, db.t(db.now())))
	return codeTransition(c, err, "consume device code", func() (runlet.DeviceCode, error) {
		c, err := scanDeviceCode(db.r.QueryRowContext(ctx, `SELECT `+deviceCodeCols+` FROM device_codes
			WHERE hash = $1 AND expires > $2`, hash, db.t(db.now())))
		return c, notFound(err, "read device code", codeNotFound)
	})
}

// codeTransition explains why a conditional update changed no row: the
// code is missing or expired (ENOTFOUND, from current) or in another status
// (ECONFLICT).
func codeTransition(c runlet.DeviceCode, err error, what string, current func() (runlet.DeviceCode, error)) (runlet.DeviceCode, error) {
	if err == nil {
		return c, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return c, wrap(err, what)
	}
	cur, err := current()
	if err != nil {
		return cur, err
	}
	return cur, runlet.Errorf(runlet.ECONFLICT, "%s", codeStatusMessage[cur.Status])
}

var codeStatusMessage = map[runlet.DeviceCodeStatus]string{
	runlet.DeviceCodePending:  "The sign-in request has not been approved yet.",
	runlet.DeviceCodeApproved: "The sign-in request was approved already.",
	runlet.DeviceCodeDenied:   "The sign-in request was denied.",
	runlet.DeviceCodeConsumed: "The sign-in request was used already; start the sign-in again.",
}

// DeleteExpiredDeviceCodes implements store.DeviceCodes.
func (db *DB) DeleteExpiredDeviceCodes(ctx context.Context) (int, error) {
	n, err := rowsAffected(db.w.ExecContext(ctx, `DELETE FROM device_codes WHERE expires <= $1`, db.t(db.now())))
	return n, wrap(err, "delete expired device codes")
}
