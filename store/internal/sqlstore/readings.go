package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/runlet/runlet"
)

// Readings is a batch of readings ready to store, as AddReadings hands it
// to a dialect's bulk path: checked, times stamped to the microsecond,
// the newest values of each sensor worked out.
type Readings struct {
	Workspace string
	// Stored is the store's clock, each archived reading's Stored.
	Stored time.Time
	Raw    []runlet.RawReading
	// Devices lists the distinct devices of Raw.
	Devices []string
	// Latest holds one entry per sensor of Raw, for its LastSeen and
	// Latest.
	Latest []Latest
}

// Latest is what a batch tells of a sensor's newest values: the time of
// its newest reading, and for each metric the newest value and its time
// (zero when the batch has none). Of two values at the same time the
// first in the batch wins, as in the series.
type Latest struct {
	Sensor int64
	Seen   time.Time
	Values [2]float64
	Times  [2]time.Time
}

// Value returns the value of metric i and its time, nil and nil when the
// batch has none: the arguments of a statement.
func (l Latest) Value(i int) (value, at any) {
	if l.Times[i].IsZero() {
		return nil, nil
	}
	return l.Values[i], l.Times[i]
}

// prepareReadings checks rs and returns them as a batch.
func prepareReadings(workspace string, rs []runlet.RawReading, stored time.Time) (Readings, error) {
	b := Readings{Workspace: workspace, Stored: stored, Raw: make([]runlet.RawReading, len(rs))}
	devices := map[string]bool{}
	latest := map[int64]int{} // sensor → index in b.Latest
	for i, r := range rs {
		switch {
		case r.Sensor <= 0:
			return b, invalid("Reading %d of the batch names sensor %d; sensor ids are positive.", i, r.Sensor)
		case r.Time.IsZero() || r.Accepted.IsZero():
			return b, invalid("Reading %d of the batch (sensor %d) has no time.", i, r.Sensor)
		case r.Device == "":
			return b, invalid("Reading %d of the batch (sensor %d) names no device.", i, r.Sensor)
		}
		r.Time, r.Accepted, r.Stored, r.ID = stamp(r.Time), stamp(r.Accepted), stored, 0
		r.Has &= 1<<len(runlet.Metrics) - 1
		for m := range runlet.Metrics {
			if r.Has&(1<<m) == 0 {
				r.Values[m] = 0
				continue
			}
			if v := r.Values[m]; math.IsNaN(v) || math.IsInf(v, 0) {
				return b, invalid("Reading %d of the batch (sensor %d) has %s = %v; values are finite numbers.", i, r.Sensor, runlet.Metrics[m], v)
			}
		}
		b.Raw[i] = r
		if !devices[r.Device] {
			devices[r.Device] = true
			b.Devices = append(b.Devices, r.Device)
		}
		j, ok := latest[r.Sensor]
		if !ok {
			j = len(b.Latest)
			latest[r.Sensor] = j
			b.Latest = append(b.Latest, Latest{Sensor: r.Sensor})
		}
		l := &b.Latest[j]
		if r.Time.After(l.Seen) {
			l.Seen = r.Time
		}
		for m := range runlet.Metrics {
			if r.Has&(1<<m) != 0 && r.Time.After(l.Times[m]) {
				l.Values[m], l.Times[m] = r.Values[m], r.Time
			}
		}
	}
	return b, nil
}

// AddReadings implements store.Telemetry. The generic path (SQLite's)
// sends the batch as multi-row statements of readingsChunk rows inside
// one transaction, with INSERT OR IGNORE and UPDATE OR IGNORE: a
// statement that cannot abort needs no statement journal, which was
// half of the pages written. The measurements are in
// store/sqlite/migrations/0007_telemetry.sql.
func (db *DB) AddReadings(ctx context.Context, workspace string, rs []runlet.RawReading) (int, error) {
	if err := db.workspaceExists(ctx, workspace); err != nil {
		return 0, err
	}
	if len(rs) == 0 {
		return 0, nil
	}
	b, err := prepareReadings(workspace, rs, db.now())
	if err != nil {
		return 0, err
	}
	if db.dialect.AddReadings != nil {
		n, err := db.dialect.AddReadings(ctx, db.w, b)
		return n, wrap(err, "add readings")
	}
	var archived int
	err = db.tx(ctx, func(tx *sql.Tx) error {
		devices, err := internDevices(ctx, tx, b.Devices)
		if err != nil {
			return err
		}
		if archived, err = insertRaw(ctx, tx, db, b, devices); err != nil {
			return err
		}
		if err := insertSeries(ctx, tx, db, b); err != nil {
			return err
		}
		return updateLatest(ctx, tx, db, b)
	})
	return archived, wrap(err, "add readings")
}

// readingsChunk is how many rows one statement of the generic path
// inserts: SQLite allows 32766 placeholders, the raw archive takes 10.
const readingsChunk = 100

// internDevices returns the number of each device in telemetry_devices,
// numbering the new ones.
func internDevices(ctx context.Context, tx *sql.Tx, ids []string) (map[string]int64, error) {
	out := make(map[string]int64, len(ids))
	for _, id := range ids {
		var n int64
		err := tx.QueryRowContext(ctx, `SELECT n FROM telemetry_devices WHERE id = $1`, id).Scan(&n)
		if err == sql.ErrNoRows {
			err = tx.QueryRowContext(ctx, `INSERT INTO telemetry_devices (id) VALUES ($1) RETURNING n`, id).Scan(&n)
		}
		if err != nil {
			return nil, fmt.Errorf("number device %s: %w", id, err)
		}
		out[id] = n
	}
	return out, nil
}

// chunks executes head + VALUES + tail over rows [0, n) of cols
// arguments each (args appends row i's), readingsChunk rows a statement;
// the statements of one size are prepared once. res, when set, sees each
// statement's result.
func chunks(ctx context.Context, tx *sql.Tx, n, cols int, head, tail string, args func(i int, to []any) []any, res func(sql.Result) error) error {
	stmts := map[int]*sql.Stmt{}
	defer func() {
		for _, st := range stmts {
			st.Close()
		}
	}()
	a := make([]any, 0, readingsChunk*cols)
	for i := 0; i < n; i += readingsChunk {
		rows := min(readingsChunk, n-i)
		st := stmts[rows]
		if st == nil {
			var err error
			if st, err = tx.PrepareContext(ctx, head+placeholders(rows, cols)+tail); err != nil {
				return err
			}
			stmts[rows] = st
		}
		a = a[:0]
		for j := i; j < i+rows; j++ {
			a = args(j, a)
		}
		r, err := st.ExecContext(ctx, a...)
		if err == nil && res != nil {
			err = res(r)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// placeholders returns "(?, ?), (?, ?)" for 2 rows of 2 cols. They are
// SQLite's anonymous ones, not $N: modernc looks up each $N's name in a
// list, which made binding a statement of 1000 of them quadratic (a
// third of AddReadings' time). PostgreSQL does not take them, and has
// its own path (Dialect.AddReadings).
func placeholders(rows, cols int) string {
	row := "(?" + strings.Repeat(", ?", cols-1) + ")"
	return row + strings.Repeat(", "+row, rows-1)
}

// metricArg is the value of metric m of r, or NULL.
func metricArg(r runlet.Reading, m int) any {
	if r.Has&(1<<m) == 0 {
		return nil
	}
	return r.Values[m]
}

func insertRaw(ctx context.Context, tx *sql.Tx, db *DB, b Readings, devices map[string]int64) (int, error) {
	stored := db.t(b.Stored)
	var archived int
	err := chunks(ctx, tx, len(b.Raw), 10,
		`INSERT OR IGNORE INTO raw_readings (sensor, device, seq, time, accepted, stored, sent, replaced, temp, batt) VALUES `, ``,
		func(i int, a []any) []any {
			r := b.Raw[i]
			return append(a, r.Sensor, devices[r.Device], int64(r.Seq), db.t(r.Time), db.t(r.Accepted), stored,
				r.SentTime, r.TimeReplaced, metricArg(r.Reading, 0), metricArg(r.Reading, 1))
		},
		func(res sql.Result) error {
			n, err := res.RowsAffected()
			archived += int(n)
			return err
		})
	return archived, wrap(err, "archive readings")
}

// insertSeries stores each reading's values; a value the series holds
// already (same sensor, metric and time) is kept.
func insertSeries(ctx context.Context, tx *sql.Tx, db *DB, b Readings) error {
	rs := make([]runlet.Reading, 0, len(b.Raw))
	for _, r := range b.Raw {
		if r.Has != 0 {
			rs = append(rs, r.Reading)
		}
	}
	err := chunks(ctx, tx, len(rs), 4, `INSERT OR IGNORE INTO series (sensor, time, temp, batt) VALUES `,
		` ON CONFLICT (sensor, time) DO UPDATE SET
			temp = COALESCE(series.temp, excluded.temp), batt = COALESCE(series.batt, excluded.batt)
			WHERE series.temp IS NULL AND excluded.temp IS NOT NULL OR series.batt IS NULL AND excluded.batt IS NOT NULL`,
		func(i int, a []any) []any {
			r := rs[i]
			return append(a, r.Sensor, db.t(r.Time), metricArg(r, 0), metricArg(r, 1))
		}, nil)
	return wrap(err, "store the series")
}

// updateLatest moves the sensors' LastSeen and Latest forward, never back.
func updateLatest(ctx context.Context, tx *sql.Tx, db *DB, b Readings) error {
	err := chunks(ctx, tx, len(b.Latest), 6, `UPDATE OR IGNORE sensors SET
			last_seen = CASE WHEN last_seen IS NULL OR last_seen < v.column2 THEN v.column2 ELSE last_seen END,
			temp = CASE WHEN v.column4 IS NOT NULL AND (temp_time IS NULL OR temp_time < v.column4) THEN v.column3 ELSE temp END,
			temp_time = CASE WHEN v.column4 IS NOT NULL AND (temp_time IS NULL OR temp_time < v.column4) THEN v.column4 ELSE temp_time END,
			batt = CASE WHEN v.column6 IS NOT NULL AND (batt_time IS NULL OR batt_time < v.column6) THEN v.column5 ELSE batt END,
			batt_time = CASE WHEN v.column6 IS NOT NULL AND (batt_time IS NULL OR batt_time < v.column6) THEN v.column6 ELSE batt_time END
		FROM (VALUES `,
		`) AS v WHERE sensors.id = v.column1 AND (last_seen IS NULL OR last_seen < v.column2
			OR v.column4 IS NOT NULL AND (temp_time IS NULL OR temp_time < v.column4)
			OR v.column6 IS NOT NULL AND (batt_time IS NULL OR batt_time < v.column6))`,
		func(i int, a []any) []any {
			l := b.Latest[i]
			temp, tempAt := l.Value(0)
			batt, battAt := l.Value(1)
			return append(a, l.Sensor, db.t(l.Seen), temp, timeArg(db, tempAt), batt, timeArg(db, battAt))
		}, nil)
	return wrap(err, "update the sensors' latest readings")
}

// timeArg encodes a time or nil.
func timeArg(db *DB, v any) any {
	if t, ok := v.(time.Time); ok {
		return db.t(t)
	}
	return nil
}
