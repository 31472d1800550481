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
	"github.com/runlet/runlet/store"
)

const alertCols = `id, workspace_id, kind, key, sensor, device, metric, bound, value, limit_value,
	at, opened, resolved, summary, recovery, notified, reminders`

func scanAlert(s scanner) (runlet.Alert, error) {
	var a runlet.Alert
	err := s.Scan(&a.ID, &a.Workspace, &a.Kind, &a.Key, &a.Sensor, &a.Device, &a.Metric, &a.Bound, &a.Value, &a.Limit,
		timeCol{&a.At}, timeCol{&a.Opened}, timeCol{&a.Resolved}, &a.Summary, &a.Recovery, timeCol{&a.Notified}, &a.Reminders)
	return a, err
}

const markCols = `workspace_id, key, notified, sensor, device, heard, due, evaluated`

func scanMark(s scanner) (store.AlertMark, error) {
	var m store.AlertMark
	err := s.Scan(&m.Workspace, &m.Key, timeCol{&m.Notified}, &m.Sensor, &m.Device, timeCol{&m.Heard}, timeCol{&m.Due}, timeCol{&m.Evaluated})
	return m, err
}

// ChangeAlert implements store.Alerts (R-TEL-4): the key's mark is
// upserted first, which locks its row on PostgreSQL (a second
// transaction on the key waits there until the first commits, and then
// reads what it decided) and takes SQLite's one writer, so decide always
// sees the key's state as committed and no other decision on the key
// runs until this one is applied. decide must not write to the store: on
// SQLite the write connection is this transaction's.
func (db *DB) ChangeAlert(ctx context.Context, workspace, key string, decide func(m store.AlertMark) (store.AlertChange, error)) (store.AlertChange, error) {
	if key == "" {
		return store.AlertChange{}, invalid("An alert key cannot be empty.")
	}
	var applied store.AlertChange
	err := db.tx(ctx, func(tx *sql.Tx) error {
		m, err := scanMark(tx.QueryRowContext(ctx, `INSERT INTO alert_marks (workspace_id, key) VALUES ($1, $2)
			ON CONFLICT (workspace_id, key) DO UPDATE SET key = excluded.key
			RETURNING `+markCols, workspace, key))
		if err != nil {
			return db.constraint(err, "lock alert key "+quote(key), "", "Workspace "+quote(workspace)+" not found.")
		}
		open, err := scanAlert(tx.QueryRowContext(ctx, `SELECT `+alertCols+` FROM alerts
			WHERE workspace_id = $1 AND key = $2 AND resolved IS NULL`, workspace, key))
		switch {
		case err == nil:
			m.Open = &open
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("read the open alert of key %s: %w", quote(key), err)
		}
		c, err := decide(m)
		if err != nil {
			return err
		}
		applied, err = db.applyChange(ctx, tx, m, c)
		return err
	})
	if err != nil {
		return store.AlertChange{}, err
	}
	return applied, nil
}

// applyChange applies c to the key whose mark is m, in tx, and returns c
// as applied: Open as stored, Notify with IDs, keys and states.
func (db *DB) applyChange(ctx context.Context, tx *sql.Tx, m store.AlertMark, c store.AlertChange) (store.AlertChange, error) {
	now := db.now()
	switch {
	case c.Open != nil && m.Open != nil:
		return c, invalid("Key %s has an open alert (%d) already; it cannot open another.", quote(m.Key), m.Open.ID)
	case (c.Resolve || c.Remind || c.Update != nil) && m.Open == nil:
		return c, invalid("Key %s has no open alert to resolve, remind of or update.", quote(m.Key))
	case len(c.Notify) > 0 && c.Open == nil && m.Open == nil:
		return c, invalid("Key %s has no alert to notify of.", quote(m.Key))
	}
	var alert *runlet.Alert // the alert the change is about
	switch {
	case c.Open != nil:
		a := *c.Open
		if !a.Kind.Valid() {
			return c, invalid("An alert's kind is threshold, silence, offline, outbox or refused, not %q.", a.Kind)
		}
		a.Workspace, a.Key, a.Opened, a.Resolved, a.Recovery, a.Reminders = m.Workspace, m.Key, now, time.Time{}, "", 0
		a.At = stamp(a.At)
		if a.At.IsZero() {
			a.At = now
		}
		a.Notified = time.Time{}
		if c.Notified {
			a.Notified = now
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO alerts (workspace_id, kind, key, sensor, device, metric, bound, value, limit_value,
			at, opened, summary, notified) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
			a.Workspace, string(a.Kind), a.Key, a.Sensor, a.Device, string(a.Metric), string(a.Bound), a.Value, a.Limit,
			db.t(a.At), db.t(a.Opened), a.Summary, db.t(a.Notified)).Scan(&a.ID)
		if db.dialect.IsUnique(err) {
			return c, invalid("Key %s has an open alert already; it cannot open another.", quote(m.Key))
		}
		if err != nil {
			return c, wrap(err, "open alert")
		}
		// The mark remembers its sensor, so that deleting the sensor
		// forgets its threshold keys too.
		if _, err := tx.ExecContext(ctx, `UPDATE alert_marks SET open_alert = $3,
			sensor = CASE WHEN sensor = 0 THEN $4 ELSE sensor END
			WHERE workspace_id = $1 AND key = $2`, m.Workspace, m.Key, a.ID, a.Sensor); err != nil {
			return c, wrap(err, "mark alert key "+quote(m.Key))
		}
		c.Open, alert = &a, &a
	case m.Open != nil:
		a := *m.Open
		if c.Update != nil {
			a.Value, a.Limit, a.At, a.Summary = c.Update.Value, c.Update.Limit, stamp(c.Update.At), c.Update.Summary
			if a.At.IsZero() {
				a.At = now
			}
		}
		if c.Remind {
			a.Reminders++
		}
		if c.Notified {
			a.Notified = now
		}
		if c.Resolve {
			a.Resolved, a.Recovery = now, c.Recovery
		}
		if c.Update != nil || c.Remind || c.Notified || c.Resolve {
			_, err := tx.ExecContext(ctx, `UPDATE alerts SET value = $2, limit_value = $3, at = $4, summary = $5,
				reminders = $6, notified = $7, resolved = $8, recovery = $9 WHERE id = $1`,
				a.ID, a.Value, a.Limit, db.t(a.At), a.Summary, a.Reminders, db.t(a.Notified), db.t(a.Resolved), a.Recovery)
			if err != nil {
				return c, wrap(err, "change alert "+strconv.FormatInt(a.ID, 10))
			}
		}
		if c.Resolve {
			if _, err := tx.ExecContext(ctx, `UPDATE alert_marks SET open_alert = NULL WHERE workspace_id = $1 AND key = $2`,
				m.Workspace, m.Key); err != nil {
				return c, wrap(err, "mark alert key "+quote(m.Key))
			}
		}
		alert = &a
	}
	if ev := stamp(c.Evaluated); ev.After(m.Evaluated) {
		if _, err := tx.ExecContext(ctx, `UPDATE alert_marks SET evaluated = $3 WHERE workspace_id = $1 AND key = $2`,
			m.Workspace, m.Key, db.t(ev)); err != nil {
			return c, wrap(err, "mark alert key "+quote(m.Key))
		}
	}
	if c.Notified || c.Unwatch {
		notified := db.t(m.Notified)
		if c.Notified {
			notified = db.t(now)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE alert_marks SET notified = $3, due = CASE WHEN $4 THEN NULL ELSE due END
			WHERE workspace_id = $1 AND key = $2`, m.Workspace, m.Key, notified, c.Unwatch); err != nil {
			return c, wrap(err, "mark alert key "+quote(m.Key))
		}
	}
	if len(c.Notify) > 0 {
		ns, err := db.queue(ctx, tx, *alert, c.Notify, c.Render, now)
		if err != nil {
			return c, err
		}
		c.Notify = ns
	}
	return c, nil
}

// queue writes the notifications of a change about alert a into the
// outbox (R-TEL-5), pending and due at now.
func (db *DB) queue(ctx context.Context, tx *sql.Tx, a runlet.Alert, ns []runlet.Notification,
	render func(runlet.Alert, *runlet.Notification), now time.Time) ([]runlet.Notification, error) {
	out := make([]runlet.Notification, len(ns))
	keys := map[string]bool{}
	for i, n := range ns {
		switch n.Event {
		case runlet.EventOpened, runlet.EventReminder, runlet.EventResolved:
		default:
			return nil, invalid("A notification tells that an alert opened, is a reminder or resolved, not %q.", n.Event)
		}
		if n.Channel == "" || !n.Kind.Valid() {
			return nil, invalid("A notification needs its channel and the channel's kind (%q of %q).", n.Kind, n.Channel)
		}
		n.Workspace, n.Alert, n.State, n.Attempts, n.Error = a.Workspace, a.ID, runlet.NotificationPending, 0, ""
		n.Created, n.Next, n.Sent = now, now, time.Time{}
		if n.Key == "" {
			nth := 0
			if n.Event == runlet.EventReminder {
				nth = a.Reminders
			}
			n.Key = runlet.NotificationKey(a.Workspace, a.ID, n.Event, nth, n.Channel)
		}
		if keys[n.Key] {
			return nil, invalid("Two notifications of one change have the key %s.", quote(n.Key))
		}
		keys[n.Key] = true
		if render != nil {
			r := n
			render(a, &r)
			n.Subject, n.Body, n.Payload = r.Subject, r.Body, r.Payload
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO notifications (workspace_id, alert, event, channel, kind, target, key,
			subject, body, payload, state, created, next) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
			n.Workspace, n.Alert, string(n.Event), n.Channel, string(n.Kind), n.Target, n.Key,
			n.Subject, n.Body, n.Payload, string(n.State), db.t(n.Created), db.t(n.Next)).Scan(&n.ID)
		if db.dialect.IsUnique(err) {
			return nil, invalid("A notification with the key %s is queued already.", quote(n.Key))
		}
		if err != nil {
			return nil, wrap(err, "queue notification")
		}
		out[i] = n
	}
	return out, nil
}

// HeardSensors implements store.Alerts (R-TEL-4): one upsert per
// hundred marks. A mark heard later than h.Heard already is left as it
// is, so that a batch replayed late does not move a sensor's Due back.
func (db *DB) HeardSensors(ctx context.Context, workspace string, heard []store.SensorHeard) error {
	if len(heard) == 0 {
		return nil
	}
	// One row per key (the latest), in key order: PostgreSQL refuses to
	// upsert a row twice in one statement, and a fixed order keeps two
	// callers from locking each other's marks crosswise.
	latest := map[string]store.SensorHeard{}
	for _, h := range heard {
		if h.Key == "" {
			return invalid("A sensor heard needs its alert key (runlet.SilenceKey).")
		}
		if old, ok := latest[h.Key]; !ok || !h.Heard.Before(old.Heard) {
			latest[h.Key] = h
		}
	}
	keys := make([]string, 0, len(latest))
	for k := range latest {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	const chunk = 100
	return db.tx(ctx, func(tx *sql.Tx) error {
		for start := 0; start < len(keys); start += chunk {
			var values []string
			var args []any
			for _, k := range keys[start:min(start+chunk, len(keys))] {
				h := latest[k]
				n := len(args)
				values = append(values, fmt.Sprintf("($%d, $%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5, n+6))
				args = append(args, workspace, h.Key, h.Sensor, h.Device, db.t(h.Heard), db.t(h.Due))
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO alert_marks (workspace_id, key, sensor, device, heard, due)
				VALUES `+strings.Join(values, ", ")+`
				ON CONFLICT (workspace_id, key) DO UPDATE SET
					sensor = excluded.sensor, device = excluded.device, heard = excluded.heard, due = excluded.due
				WHERE alert_marks.heard IS NULL OR excluded.heard IS NULL OR alert_marks.heard <= excluded.heard`, args...)
			if err != nil {
				return db.constraint(err, "record sensors heard", "", "Workspace "+quote(workspace)+" not found.")
			}
		}
		return nil
	})
}

// DueMarks implements store.Alerts.
func (db *DB) DueMarks(ctx context.Context, now time.Time, limit int) ([]store.AlertMark, error) {
	limit, err := pageLimit(limit)
	if err != nil {
		return nil, err
	}
	rows, err := db.r.QueryContext(ctx, `SELECT `+markCols+` FROM alert_marks
		WHERE open_alert IS NULL AND due IS NOT NULL AND due <= $1
		ORDER BY due, workspace_id, key LIMIT $2`, db.t(now), limit)
	ms, err := collect(rows, err, scanMark)
	return ms, wrap(err, "list due alert keys")
}

// NextDue implements store.Alerts.
func (db *DB) NextDue(ctx context.Context) (time.Time, bool, error) {
	var due time.Time
	err := db.r.QueryRowContext(ctx, `SELECT due FROM alert_marks
		WHERE open_alert IS NULL AND due IS NOT NULL ORDER BY due LIMIT 1`).Scan(timeCol{&due})
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, wrap(err, "read the next due alert key")
	}
	return due, true, nil
}

// OpenAlerts implements store.Alerts.
func (db *DB) OpenAlerts(ctx context.Context, workspace string) ([]runlet.Alert, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+alertCols+` FROM alerts
		WHERE workspace_id = $1 AND resolved IS NULL ORDER BY id`, workspace)
	as, err := collect(rows, err, scanAlert)
	return as, wrap(err, "list open alerts")
}

// Alert implements store.Alerts.
func (db *DB) Alert(ctx context.Context, workspace string, id int64) (runlet.Alert, error) {
	a, err := scanAlert(db.r.QueryRowContext(ctx, `SELECT `+alertCols+` FROM alerts WHERE workspace_id = $1 AND id = $2`, workspace, id))
	return a, notFound(err, "read alert", "Alert "+strconv.FormatInt(id, 10)+" not found in workspace "+quote(workspace)+".")
}

// ListAlerts implements store.Alerts.
func (db *DB) ListAlerts(ctx context.Context, workspace string, f store.AlertFilter) ([]runlet.Alert, error) {
	if f.Limit < 0 {
		return nil, invalid("A page of alerts needs a limit of 0 or more, not %d.", f.Limit)
	}
	limit, _ := pageLimit(f.Limit)
	where, args := []string{"workspace_id = $1"}, []any{workspace}
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.Kind != "" {
		if !f.Kind.Valid() {
			return nil, invalid("There is no alert kind %q; the kinds are threshold, silence, offline, outbox and refused.", f.Kind)
		}
		add("kind = $%d", string(f.Kind))
	}
	if f.Sensor != 0 {
		add("sensor = $%d", f.Sensor)
	}
	if f.Device != "" {
		add("device = $%d", f.Device)
	}
	if f.Open {
		where = append(where, "resolved IS NULL")
	}
	if f.Before > 0 {
		add("id < $%d", f.Before)
	}
	args = append(args, limit)
	rows, err := db.r.QueryContext(ctx, `SELECT `+alertCols+` FROM alerts WHERE `+strings.Join(where, " AND ")+
		fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args)), args...)
	as, err := collect(rows, err, scanAlert)
	return as, wrap(err, "list alerts")
}

// forgetSensorAlerts is DeleteSensor's part: the marks of the sensor's
// keys go, and its open alerts are resolved.
func (db *DB) forgetSensorAlerts(ctx context.Context, tx *sql.Tx, workspace string, sensor int64) error {
	keys := []any{workspace, sensor, runlet.SilenceKey(sensor)}
	in := []string{"$3"}
	for _, m := range runlet.Metrics {
		keys = append(keys, runlet.ThresholdKey(sensor, m))
		in = append(in, fmt.Sprintf("$%d", len(keys)))
	}
	list := strings.Join(in, ", ")
	if _, err := tx.ExecContext(ctx, `DELETE FROM alert_marks WHERE workspace_id = $1 AND (sensor = $2 OR key IN (`+list+`))`, keys...); err != nil {
		return wrap(err, "delete the sensor's alert keys")
	}
	_, err := tx.ExecContext(ctx, `UPDATE alerts SET resolved = $3, recovery = $4
		WHERE workspace_id = $1 AND sensor = $2 AND resolved IS NULL`,
		workspace, sensor, db.t(db.now()), "Sensor "+strconv.FormatInt(sensor, 10)+" was deleted.")
	return wrap(err, "resolve the sensor's alerts")
}
