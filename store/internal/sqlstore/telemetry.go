package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
)

// sensorInWorkspace tells ENOTFOUND for a sensor that is not the
// workspace's.
func (db *DB) sensorInWorkspace(ctx context.Context, workspace string, id int64) error {
	var one int
	err := db.r.QueryRowContext(ctx, `SELECT 1 FROM sensors WHERE workspace_id = $1 AND id = $2`, workspace, id).Scan(&one)
	return notFound(err, "read sensor", sensorNotFound(workspace, id))
}

// pageLimit applies DefaultLimit and MaxLimit.
func pageLimit(limit int) (int, error) {
	if limit < 0 {
		return 0, invalid("A page of readings needs a limit of 0 or more, not %d.", limit)
	}
	if limit == 0 {
		return store.DefaultLimit, nil
	}
	return min(limit, store.MaxLimit), nil
}

// timeRange appends the conditions of [from, to) on col to where; a zero
// from or to leaves that side open.
func (db *DB) timeRange(where []string, args []any, col string, from, to time.Time) ([]string, []any, error) {
	if !from.IsZero() && !to.IsZero() && to.Before(from) {
		return nil, nil, invalid("The end of the range (%s) is before its start (%s).", to.UTC().Format(time.RFC3339Nano), from.UTC().Format(time.RFC3339Nano))
	}
	if !from.IsZero() {
		args = append(args, db.t(from))
		where = append(where, fmt.Sprintf("%s >= $%d", col, len(args)))
	}
	if !to.IsZero() {
		args = append(args, db.t(to))
		where = append(where, fmt.Sprintf("%s < $%d", col, len(args)))
	}
	return where, args, nil
}

const rawCols = `r.id, r.sensor, d.id, r.seq, r.time, r.accepted, r.stored, r.sent, r.replaced, r.temp, r.batt`

func scanRaw(s scanner) (runlet.RawReading, error) {
	var r runlet.RawReading
	var seq int64
	var temp, batt sql.NullFloat64
	err := s.Scan(&r.ID, &r.Sensor, &r.Device, &seq, timeCol{&r.Time}, timeCol{&r.Accepted}, timeCol{&r.Stored},
		&r.SentTime, &r.TimeReplaced, &temp, &batt)
	r.Seq = uint64(seq)
	if temp.Valid {
		r.Set(runlet.MetricTemp, temp.Float64)
	}
	if batt.Valid {
		r.Set(runlet.MetricBatt, batt.Float64)
	}
	return r, err
}

// RawReadings implements store.Telemetry. A zero from or to leaves that
// side of the range open. The index (sensor, id) gives the order; the
// time range is a filter on it.
func (db *DB) RawReadings(ctx context.Context, workspace string, sensor int64, from, to time.Time, after int64, limit int) ([]runlet.RawReading, error) {
	limit, err := pageLimit(limit)
	if err != nil {
		return nil, err
	}
	where, args, err := db.timeRange([]string{"r.sensor = $1", "r.id > $2"}, []any{sensor, after}, "r.time", from, to)
	if err != nil {
		return nil, err
	}
	if err := db.sensorInWorkspace(ctx, workspace, sensor); err != nil {
		return nil, err
	}
	q, args := rawQuery(where, args, limit)
	rows, err := db.r.QueryContext(ctx, q, args...)
	rs, err := collect(rows, err, scanRaw)
	return rs, wrap(err, "read raw readings")
}

// rawQuery is the SQL of a page of the raw archive.
func rawQuery(where []string, args []any, limit int) (string, []any) {
	args = slices.Clip(args)
	args = append(args, limit)
	return `SELECT ` + rawCols + ` FROM raw_readings r JOIN telemetry_devices d ON d.n = r.device
		WHERE ` + strings.Join(where, " AND ") + fmt.Sprintf(` ORDER BY r.id LIMIT $%d`, len(args)), args
}

// seriesQuery is the SQL of a page of points (step 0) or buckets.
func seriesQuery(d Dialect, col string, where []string, args []any, step time.Duration, limit int) (string, []any) {
	args = slices.Clip(args)
	if step == 0 {
		args = append(args, limit)
		return fmt.Sprintf(`SELECT time, %[1]s, %[1]s, %[1]s, 1 FROM series WHERE %[2]s ORDER BY time LIMIT $%[3]d`,
			col, strings.Join(where, " AND "), len(args)), args
	}
	args = append(args, max(step.Microseconds(), 1), limit)
	bucket := fmt.Sprintf(d.Bucket, fmt.Sprintf("$%d", len(args)-1))
	return fmt.Sprintf(`SELECT %[1]s AS bucket, MIN(%[2]s), MAX(%[2]s), AVG(%[2]s), COUNT(*) FROM series
		WHERE %[3]s GROUP BY bucket ORDER BY bucket LIMIT $%[4]d`, bucket, col, strings.Join(where, " AND "), len(args)), args
}

// Query is a statement of the store with its arguments.
type Query struct {
	Name string
	SQL  string
	Args []any
}

// TelemetryQueries returns the queries of Series and RawReadings for a
// sensor and a day, as the dialect runs them, so that its tests can check
// their plans (EXPLAIN) use the indexes.
func (db *DB) TelemetryQueries() []Query {
	d := db.dialect
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	to := from.Add(24 * time.Hour)
	where, args, _ := db.timeRange([]string{"r.sensor = $1", "r.id > $2"}, []any{int64(1), int64(0)}, "r.time", from, to)
	raw, rawArgs := rawQuery(where, args, store.MaxLimit)
	where, args, _ = db.timeRange([]string{"sensor = $1", "temp IS NOT NULL"}, []any{int64(1)}, "time", from, to)
	points, pointArgs := seriesQuery(d, "temp", where, args, 0, store.MaxLimit)
	buckets, bucketArgs := seriesQuery(d, "temp", where, args, time.Minute, store.MaxLimit)
	return []Query{{"RawReadings", raw, rawArgs}, {"Series", points, pointArgs}, {"SeriesBuckets", buckets, bucketArgs}}
}

// metricCol is the series column of a metric; m is valid.
func metricCol(m runlet.Metric) string { return string(m) }

// Series implements store.Telemetry. A zero from or to leaves that side
// of the range open; a step under a microsecond is a microsecond.
func (db *DB) Series(ctx context.Context, workspace string, sensor int64, metric runlet.Metric, from, to time.Time, step time.Duration, limit int) ([]runlet.SeriesPoint, error) {
	if !metric.Valid() {
		return nil, invalid("Unknown metric %q: the metrics are %s.", metric, metricNames())
	}
	if step < 0 {
		return nil, invalid("A step of %s is negative; use 0 for every point, or a positive step.", step)
	}
	limit, err := pageLimit(limit)
	if err != nil {
		return nil, err
	}
	col := metricCol(metric)
	where, args, err := db.timeRange([]string{"sensor = $1", col + " IS NOT NULL"}, []any{sensor}, "time", from, to)
	if err != nil {
		return nil, err
	}
	if err := db.sensorInWorkspace(ctx, workspace, sensor); err != nil {
		return nil, err
	}
	q, args := seriesQuery(db.dialect, col, where, args, step, limit)
	rows, err := db.r.QueryContext(ctx, q, args...)
	ps, err := collect(rows, err, func(s scanner) (runlet.SeriesPoint, error) {
		var p runlet.SeriesPoint
		err := s.Scan(timeCol{&p.Time}, &p.Min, &p.Max, &p.Mean, &p.Count)
		return p, err
	})
	return ps, wrap(err, "read series")
}

func metricNames() string {
	var s []string
	for _, m := range runlet.Metrics {
		s = append(s, quote(string(m)))
	}
	return strings.Join(s, ", ")
}

// TelemetrySettings implements store.Telemetry.
func (db *DB) TelemetrySettings(ctx context.Context, workspace string) (store.TelemetrySettings, error) {
	s := store.TelemetrySettings{Retention: store.DefaultRetention}
	var secs int64
	err := db.r.QueryRowContext(ctx, `SELECT retention, auto_register FROM telemetry_settings WHERE workspace_id = $1`, workspace).
		Scan(&secs, &s.AutoRegister)
	if err == sql.ErrNoRows {
		return s, db.workspaceExists(ctx, workspace)
	}
	if err != nil {
		return s, wrap(err, "read telemetry settings")
	}
	s.Retention = time.Duration(secs) * time.Second
	return s, nil
}

// SetTelemetrySettings implements store.Telemetry. The retention is kept
// to the second.
func (db *DB) SetTelemetrySettings(ctx context.Context, workspace string, s store.TelemetrySettings) error {
	if s.Retention < time.Hour {
		return invalid("A retention of %s is too short: keep readings an hour or more.", s.Retention)
	}
	_, err := db.w.ExecContext(ctx, `INSERT INTO telemetry_settings (workspace_id, retention, auto_register) VALUES ($1, $2, $3)
		ON CONFLICT (workspace_id) DO UPDATE SET retention = excluded.retention, auto_register = excluded.auto_register`,
		workspace, int64(s.Retention/time.Second), s.AutoRegister)
	return db.constraint(err, "store telemetry settings", "", "Workspace "+quote(workspace)+" not found.")
}

// PruneReadings implements store.Telemetry.
func (db *DB) PruneReadings(ctx context.Context, workspace string, before time.Time) (int64, error) {
	var n int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{
			`DELETE FROM series WHERE sensor IN (SELECT id FROM sensors WHERE workspace_id = $1) AND time < $2`,
			`DELETE FROM raw_readings WHERE sensor IN (SELECT id FROM sensors WHERE workspace_id = $1) AND time < $2`,
		} {
			res, err := tx.ExecContext(ctx, q, workspace, db.t(before))
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			if err != nil {
				return err
			}
			n += k
		}
		return nil
	})
	return n, wrap(err, "prune readings")
}
