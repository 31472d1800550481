package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
)

const deviceCols = `id, workspace_id, name, os, arch, version, labels, last_seen, created, revoked`

func scanDevice(s scanner) (runlet.Device, error) {
	var d runlet.Device
	err := s.Scan(&d.ID, &d.Workspace, &d.Name, &d.OS, &d.Arch, &d.Version,
		labelsCol{&d.Labels}, timeCol{&d.LastSeen}, timeCol{&d.Created}, &d.Revoked)
	return d, err
}

func deviceNotFound(workspace, id string) string {
	return "Device " + quote(id) + " not found in workspace " + quote(workspace) + "."
}

func nameTaken(name string) string {
	return "A device named " + quote(name) + " is already signed in to this workspace; choose another name or sign that one out."
}

// CreateDevice implements store.Devices.
func (db *DB) CreateDevice(ctx context.Context, d *runlet.Device) error {
	if strings.TrimSpace(d.Name) == "" {
		return invalid("A device needs a name.")
	}
	nd := *d
	if nd.ID == "" {
		nd.ID = store.NewID()
	}
	nd.Created = db.now()
	nd.LastSeen = stampOrZero(nd.LastSeen)
	nd.Revoked = false
	if len(nd.Labels) == 0 {
		nd.Labels = nil
	}
	_, err := db.w.ExecContext(ctx, `INSERT INTO devices (id, workspace_id, name, os, arch, version, labels, last_seen, created)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		nd.ID, nd.Workspace, nd.Name, nd.OS, nd.Arch, nd.Version, labelsArg(nd.Labels), db.t(nd.LastSeen), db.t(nd.Created))
	if err = db.constraint(err, "create device", nameTaken(nd.Name), "Workspace "+quote(nd.Workspace)+" not found."); err != nil {
		return err
	}
	*d = nd
	return nil
}

// Device implements store.Devices.
func (db *DB) Device(ctx context.Context, workspace, id string) (runlet.Device, error) {
	d, err := scanDevice(db.r.QueryRowContext(ctx, `SELECT `+deviceCols+` FROM devices
		WHERE workspace_id = $1 AND id = $2`, workspace, id))
	return d, notFound(err, "read device", deviceNotFound(workspace, id))
}

// DeviceByName implements store.Devices.
func (db *DB) DeviceByName(ctx context.Context, workspace, name string) (runlet.Device, error) {
	d, err := scanDevice(db.r.QueryRowContext(ctx, `SELECT `+deviceCols+` FROM devices
		WHERE workspace_id = $1 AND name = $2 AND NOT revoked`, workspace, name))
	return d, notFound(err, "read device", "No device named "+quote(name)+" in this workspace.")
}

// ListDevices implements store.Devices.
func (db *DB) ListDevices(ctx context.Context, workspace string) ([]runlet.Device, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+deviceCols+` FROM devices
		WHERE workspace_id = $1 ORDER BY name, created, id`, workspace)
	ds, err := collect(rows, err, scanDevice)
	return ds, wrap(err, "list devices")
}

// UpdateDevice implements store.Devices.
func (db *DB) UpdateDevice(ctx context.Context, workspace, id string, upd store.DeviceUpdate) (runlet.Device, error) {
	if upd.Name != nil && strings.TrimSpace(*upd.Name) == "" {
		return runlet.Device{}, invalid("A device needs a name.")
	}
	var labels *string
	if upd.Labels != nil {
		s := labelsArg(upd.Labels)
		labels = &s
	}
	d, err := scanDevice(db.w.QueryRowContext(ctx, `UPDATE devices SET
		name = COALESCE($3, name), os = COALESCE($4, os), arch = COALESCE($5, arch),
		version = COALESCE($6, version), labels = COALESCE($7, labels)
		WHERE workspace_id = $1 AND id = $2 RETURNING `+deviceCols,
		workspace, id, upd.Name, upd.OS, upd.Arch, upd.Version, labels))
	if err != nil && upd.Name != nil && db.dialect.IsUnique(err) {
		return d, db.constraint(err, "", nameTaken(*upd.Name), "")
	}
	return d, notFound(err, "update device", deviceNotFound(workspace, id))
}

// TouchDevice implements store.Devices.
func (db *DB) TouchDevice(ctx context.Context, workspace, id string, seen time.Time) error {
	if seen.IsZero() {
		seen = db.now()
	}
	seenArg := db.t(seen)
	n, err := rowsAffected(db.w.ExecContext(ctx, `UPDATE devices SET last_seen = $3
		WHERE workspace_id = $1 AND id = $2 AND (last_seen IS NULL OR last_seen < $3)`, workspace, id, seenArg))
	if err != nil {
		return wrap(err, "touch device")
	}
	if n == 0 { // not found, or seen already at or after seen
		_, err := db.Device(ctx, workspace, id)
		return err
	}
	return nil
}

// RevokeDevice implements store.Devices.
func (db *DB) RevokeDevice(ctx context.Context, workspace, id string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		n, err := rowsAffected(tx.ExecContext(ctx, `UPDATE devices SET revoked = TRUE WHERE workspace_id = $1 AND id = $2`, workspace, id))
		if err != nil {
			return wrap(err, "revoke device")
		}
		if n == 0 {
			return notFound(sql.ErrNoRows, "", deviceNotFound(workspace, id))
		}
		_, err = tx.ExecContext(ctx, `UPDATE tokens SET revoked = TRUE WHERE workspace_id = $1 AND subject = $2`, workspace, id)
		return wrap(err, "revoke device tokens")
	})
}

func stampOrZero(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return stamp(t)
}
