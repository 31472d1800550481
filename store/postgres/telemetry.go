package postgres

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store/internal/sqlstore"
)

// addReadings is the bulk path of AddReadings: the batch is COPYed into a
// session's temporary table (emptied at each commit), and three
// statements move it on: into the raw archive (ON CONFLICT DO NOTHING on
// (device, seq)), into the series (first value wins per sensor, metric
// and time) and into the sensors' latest values. One transaction, a
// handful of round trips whatever the batch's size.
func addReadings(ctx context.Context, w *sql.DB, b sqlstore.Readings) (archived int, err error) {
	conn, err := w.Conn(ctx)
	if err != nil {
		return 0, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("the driver connection is a %T, not pgx's", dc)
		}
		return pgx.BeginFunc(ctx, c.Conn(), func(tx pgx.Tx) error {
			n, err := copyReadings(ctx, tx, b)
			archived = n
			return err
		})
	})
	return archived, err
}

// readingsIn is the session's staging table for a batch.
const readingsIn = `CREATE TEMPORARY TABLE IF NOT EXISTS readings_in (
	ord      INTEGER NOT NULL,
	sensor   BIGINT NOT NULL,
	device   INTEGER NOT NULL,
	seq      BIGINT NOT NULL,
	time     TIMESTAMPTZ NOT NULL,
	accepted TIMESTAMPTZ NOT NULL,
	sent     BIGINT NOT NULL,
	replaced BOOLEAN NOT NULL,
	temp     DOUBLE PRECISION,
	batt     DOUBLE PRECISION
) ON COMMIT DELETE ROWS`

var readingsInCols = []string{"ord", "sensor", "device", "seq", "time", "accepted", "sent", "replaced", "temp", "batt"}

func copyReadings(ctx context.Context, tx pgx.Tx, b sqlstore.Readings) (int, error) {
	devices, err := internDevices(ctx, tx, b.Devices)
	if err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, readingsIn); err != nil {
		return 0, fmt.Errorf("create the staging table: %w", err)
	}
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"readings_in"}, readingsInCols, pgx.CopyFromSlice(len(b.Raw), func(i int) ([]any, error) {
		r := b.Raw[i]
		return []any{i, r.Sensor, devices[r.Device], int64(r.Seq), r.Time, r.Accepted, r.SentTime, r.TimeReplaced,
			metric(r.Has, r.Values, 0), metric(r.Has, r.Values, 1)}, nil
	}))
	if err != nil {
		return 0, fmt.Errorf("copy the batch: %w", err)
	}
	tag, err := tx.Exec(ctx, `INSERT INTO raw_readings (sensor, device, seq, time, accepted, stored, sent, replaced, temp, batt)
		SELECT sensor, device, seq, time, accepted, $1, sent, replaced, temp, batt FROM readings_in ORDER BY ord
		ON CONFLICT (device, seq) DO NOTHING`, b.Stored)
	if err != nil {
		return 0, fmt.Errorf("archive readings: %w", err)
	}
	archived := int(tag.RowsAffected())
	// Two readings of a sensor at the same time in one batch make one
	// row, each metric the first value; sorted so that concurrent
	// batches lock rows in the same order.
	_, err = tx.Exec(ctx, `INSERT INTO series (sensor, time, temp, batt)
		SELECT sensor, time,
			(array_agg(temp ORDER BY ord) FILTER (WHERE temp IS NOT NULL))[1],
			(array_agg(batt ORDER BY ord) FILTER (WHERE batt IS NOT NULL))[1]
		FROM readings_in WHERE temp IS NOT NULL OR batt IS NOT NULL
		GROUP BY sensor, time ORDER BY sensor, time
		ON CONFLICT (sensor, time) DO UPDATE SET
			temp = COALESCE(series.temp, EXCLUDED.temp), batt = COALESCE(series.batt, EXCLUDED.batt)
		WHERE series.temp IS NULL AND EXCLUDED.temp IS NOT NULL OR series.batt IS NULL AND EXCLUDED.batt IS NOT NULL`)
	if err != nil {
		return 0, fmt.Errorf("store the series: %w", err)
	}
	return archived, updateLatest(ctx, tx, b.Latest)
}

// metric is the value of metric i, or NULL.
func metric(has runlet.MetricSet, values [2]float64, i int) any {
	if has&(1<<i) == 0 {
		return nil
	}
	return values[i]
}

// internDevices returns the number of each device in telemetry_devices,
// numbering the new ones.
func internDevices(ctx context.Context, tx pgx.Tx, ids []string) (map[string]int32, error) {
	if _, err := tx.Exec(ctx, `INSERT INTO telemetry_devices (id) SELECT unnest($1::text[]) ON CONFLICT (id) DO NOTHING`, ids); err != nil {
		return nil, fmt.Errorf("number devices: %w", err)
	}
	rows, _ := tx.Query(ctx, `SELECT id, n FROM telemetry_devices WHERE id = ANY($1)`, ids)
	out := make(map[string]int32, len(ids))
	var id string
	var n int32
	_, err := pgx.ForEachRow(rows, []any{&id, &n}, func() error {
		out[id] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("number devices: %w", err)
	}
	return out, nil
}

// updateLatest moves the sensors' LastSeen and Latest forward, locking
// the rows in id order first so that concurrent batches cannot deadlock.
func updateLatest(ctx context.Context, tx pgx.Tx, ls []sqlstore.Latest) error {
	ids := make([]int64, len(ls))
	seen := make([]pgtype.Timestamptz, len(ls))
	var vals [2][]pgtype.Float8
	var times [2][]pgtype.Timestamptz
	for m := range vals {
		vals[m] = make([]pgtype.Float8, len(ls))
		times[m] = make([]pgtype.Timestamptz, len(ls))
	}
	for i, l := range ls {
		ids[i] = l.Sensor
		seen[i] = pgtype.Timestamptz{Time: l.Seen, Valid: true}
		for m := range vals {
			if !l.Times[m].IsZero() {
				vals[m][i] = pgtype.Float8{Float64: l.Values[m], Valid: true}
				times[m][i] = pgtype.Timestamptz{Time: l.Times[m], Valid: true}
			}
		}
	}
	if _, err := tx.Exec(ctx, `SELECT 1 FROM sensors WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE`, ids); err != nil {
		return fmt.Errorf("lock the sensors: %w", err)
	}
	_, err := tx.Exec(ctx, `UPDATE sensors s SET
			last_seen = GREATEST(s.last_seen, v.seen),
			temp = CASE WHEN v.temp_time > s.temp_time OR s.temp_time IS NULL AND v.temp_time IS NOT NULL THEN v.temp ELSE s.temp END,
			temp_time = CASE WHEN v.temp_time > s.temp_time OR s.temp_time IS NULL AND v.temp_time IS NOT NULL THEN v.temp_time ELSE s.temp_time END,
			batt = CASE WHEN v.batt_time > s.batt_time OR s.batt_time IS NULL AND v.batt_time IS NOT NULL THEN v.batt ELSE s.batt END,
			batt_time = CASE WHEN v.batt_time > s.batt_time OR s.batt_time IS NULL AND v.batt_time IS NOT NULL THEN v.batt_time ELSE s.batt_time END
		FROM unnest($1::bigint[], $2::timestamptz[], $3::float8[], $4::timestamptz[], $5::float8[], $6::timestamptz[])
			AS v (id, seen, temp, temp_time, batt, batt_time)
		WHERE s.id = v.id AND (s.last_seen IS NULL OR s.last_seen < v.seen
			OR v.temp_time > s.temp_time OR s.temp_time IS NULL AND v.temp_time IS NOT NULL
			OR v.batt_time > s.batt_time OR s.batt_time IS NULL AND v.batt_time IS NOT NULL)`,
		ids, seen, vals[0], times[0], vals[1], times[1])
	if err != nil {
		return fmt.Errorf("update the sensors' latest readings: %w", err)
	}
	return nil
}
