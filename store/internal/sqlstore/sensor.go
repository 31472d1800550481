package sqlstore

import (
	"context"
	"database/sql"
	"strconv"
	"time"

	"github.com/runlet/runlet"
)

const sensorCols = `id, workspace_id, name, owner, location, contact, state, created, last_seen, temp, batt,
	temp_min, temp_max, batt_min, batt_max, silence`

func scanSensor(s scanner) (runlet.Sensor, error) {
	var x runlet.Sensor
	var temp, batt sql.NullFloat64
	var silence int64
	r := &x.Rules.Thresholds
	err := s.Scan(&x.ID, &x.Workspace, &x.Name, &x.Owner, &x.Location, &x.Contact, &x.State,
		timeCol{&x.Created}, timeCol{&x.LastSeen}, &temp, &batt,
		floatCol{&r.TempMin}, floatCol{&r.TempMax}, floatCol{&r.BattMin}, floatCol{&r.BattMax}, &silence)
	x.Rules.Silence = runlet.Duration(time.Duration(silence) * time.Microsecond)
	if temp.Valid || batt.Valid {
		x.Latest = map[runlet.Metric]float64{}
		if temp.Valid {
			x.Latest[runlet.MetricTemp] = temp.Float64
		}
		if batt.Valid {
			x.Latest[runlet.MetricBatt] = batt.Float64
		}
	}
	return x, err
}

func sensorNotFound(workspace string, id int64) string {
	return "Sensor " + strconv.FormatInt(id, 10) + " not found in workspace " + quote(workspace) + "."
}

// checkSensor validates what AddSensor and UpdateSensor store; secret is
// checked when required or not empty.
func checkSensor(s runlet.Sensor, secret string, required bool) error {
	switch {
	case s.ID <= 0:
		return invalid("A sensor needs a positive id, not %d.", s.ID)
	case required && secret == "":
		return invalid("Sensor %d needs a secret.", s.ID)
	case len(secret) > runlet.MaxSensorSecret:
		return invalid("The secret of sensor %d is %d bytes long; at most %d are allowed.", s.ID, len(secret), runlet.MaxSensorSecret)
	case !s.State.Valid():
		return invalid("A sensor's state is %q or %q, not %q.", runlet.SensorActive, runlet.SensorInactive, s.State)
	case s.Rules.Silence < 0 || s.Rules.Silence > 0 && time.Duration(s.Rules.Silence) < runlet.MinAlertPeriod:
		return invalid("The silence period of sensor %d must be at least %v, not %v.", s.ID, runlet.MinAlertPeriod, time.Duration(s.Rules.Silence))
	}
	return s.Rules.Check() // EINVALID naming the range

}

// rulesArgs are the columns of a sensor's rules (R-TEL-3): its thresholds,
// NULL when unset, and its silence period in microseconds.
func rulesArgs(r runlet.SensorRules) []any {
	f := func(p *float64) any {
		if p == nil {
			return nil
		}
		return *p
	}
	return []any{f(r.TempMin), f(r.TempMax), f(r.BattMin), f(r.BattMax), time.Duration(r.Silence).Microseconds()}
}

// floatCol scans a possibly NULL number into a pointer, nil for NULL.
type floatCol struct{ p **float64 }

func (c floatCol) Scan(v any) error {
	var n sql.NullFloat64
	if err := n.Scan(v); err != nil {
		return err
	}
	*c.p = nil
	if n.Valid {
		f := n.Float64
		*c.p = &f
	}
	return nil
}

// AddSensor implements store.Sensors.
func (db *DB) AddSensor(ctx context.Context, s *runlet.Sensor, secret string) error {
	ns := *s
	if ns.State == "" {
		ns.State = runlet.SensorActive
	}
	if err := checkSensor(ns, secret, true); err != nil {
		return err
	}
	hash, err := hashSensorSecret(secret)
	if err != nil {
		return err
	}
	ns.Created = db.now()
	ns.LastSeen, ns.Latest = time.Time{}, nil // AddReadings moves them
	_, err = db.w.ExecContext(ctx, `INSERT INTO sensors (id, workspace_id, name, owner, location, contact, state, secret_hash, created,
		temp_min, temp_max, batt_min, batt_max, silence)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		append([]any{ns.ID, ns.Workspace, ns.Name, ns.Owner, ns.Location, ns.Contact, string(ns.State), hash, db.t(ns.Created)},
			rulesArgs(ns.Rules)...)...)
	err = db.constraint(err, "add sensor",
		"Sensor "+strconv.FormatInt(ns.ID, 10)+" is registered already (sensor ids are unique across workspaces); choose another id.",
		"Workspace "+quote(ns.Workspace)+" not found.")
	if err != nil {
		return err
	}
	*s = ns
	return nil
}

// Sensor implements store.Sensors.
func (db *DB) Sensor(ctx context.Context, workspace string, id int64) (runlet.Sensor, error) {
	s, err := scanSensor(db.r.QueryRowContext(ctx, `SELECT `+sensorCols+` FROM sensors
		WHERE workspace_id = $1 AND id = $2`, workspace, id))
	return s, notFound(err, "read sensor", sensorNotFound(workspace, id))
}

// ListSensors implements store.Sensors.
func (db *DB) ListSensors(ctx context.Context, workspace string) ([]runlet.Sensor, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+sensorCols+` FROM sensors
		WHERE workspace_id = $1 ORDER BY id`, workspace)
	ss, err := collect(rows, err, scanSensor)
	return ss, wrap(err, "list sensors")
}

// UpdateSensor implements store.Sensors.
func (db *DB) UpdateSensor(ctx context.Context, s runlet.Sensor, secret string) (runlet.Sensor, error) {
	if err := checkSensor(s, secret, false); err != nil {
		return runlet.Sensor{}, err
	}
	var hash any // NULL keeps the stored one
	if secret != "" {
		h, err := hashSensorSecret(secret)
		if err != nil {
			return runlet.Sensor{}, err
		}
		hash = h
	}
	got, err := scanSensor(db.w.QueryRowContext(ctx, `UPDATE sensors SET
		name = $3, owner = $4, location = $5, contact = $6, state = $7,
		secret_hash = COALESCE($8, secret_hash),
		temp_min = $9, temp_max = $10, batt_min = $11, batt_max = $12, silence = $13
		WHERE workspace_id = $1 AND id = $2 RETURNING `+sensorCols,
		append([]any{s.Workspace, s.ID, s.Name, s.Owner, s.Location, s.Contact, string(s.State), hash}, rulesArgs(s.Rules)...)...))
	return got, notFound(err, "update sensor", sensorNotFound(s.Workspace, s.ID))
}

// DeleteSensor implements store.Sensors: the sensor, its series, its raw
// archive and the state of its alert keys go in one transaction. Its
// alerts stay, as history; those still open are resolved, since nothing
// will resolve them any more.
func (db *DB) DeleteSensor(ctx context.Context, workspace string, id int64) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		n, err := rowsAffected(tx.ExecContext(ctx, `DELETE FROM sensors WHERE workspace_id = $1 AND id = $2`, workspace, id))
		if err != nil {
			return wrap(err, "delete sensor")
		}
		if n == 0 {
			return runlet.Errorf(runlet.ENOTFOUND, "%s", sensorNotFound(workspace, id))
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM series WHERE sensor = $1`, id); err != nil {
			return wrap(err, "delete the sensor's series")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM raw_readings WHERE sensor = $1`, id); err != nil {
			return wrap(err, "delete the sensor's raw readings")
		}
		return db.forgetSensorAlerts(ctx, tx, workspace, id)
	})
}

// CheckSensor implements store.Sensors.
func (db *DB) CheckSensor(ctx context.Context, id int64, secret string) (runlet.Sensor, error) {
	var hash string
	row := db.r.QueryRowContext(ctx, `SELECT `+sensorCols+`, secret_hash FROM sensors WHERE id = $1`, id)
	s, err := scanSensor(scanFunc(func(dest ...any) error { return row.Scan(append(dest, &hash)...) }))
	if err := notFound(err, "check sensor", "Sensor "+strconv.FormatInt(id, 10)+" is not registered."); err != nil {
		return runlet.Sensor{}, err
	}
	ok, err := checkSensorSecret(hash, secret)
	if err != nil {
		return runlet.Sensor{}, wrap(err, "check sensor "+strconv.FormatInt(id, 10))
	}
	if !ok {
		return runlet.Sensor{}, runlet.Errorf(runlet.EUNAUTHORIZED, "Wrong secret for sensor %d.", id)
	}
	return s, nil
}

// scanFunc is a scanner from a function.
type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }
