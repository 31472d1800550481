package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/store"
	"github.com/runlet/runlet/store/postgres"
	"github.com/runlet/runlet/store/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t testing.TB, opts store.Options) store.Store {
		db, err := postgres.Open(context.Background(), testenv.Postgres(t), opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() }) // runs before testenv drops the database
		return db
	})
}

func TestMigrations(t *testing.T) {
	url := testenv.Postgres(t)
	storetest.RunMigrations(t, 9, func(ctx context.Context) (storetest.Migrated, error) {
		return postgres.Open(ctx, url, store.Options{})
	})
}

// TestConcurrentOpen starts several servers on one new database at once:
// the advisory lock lets one migrate while the others wait.
func TestConcurrentOpen(t *testing.T) {
	url := testenv.Postgres(t)
	const servers = 4
	errs := make(chan error, servers)
	for range servers {
		go func() {
			db, err := postgres.Open(t.Context(), url, store.Options{})
			if err == nil {
				err = db.Close()
			}
			errs <- err
		}()
	}
	for range servers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

func TestOpenBadURL(t *testing.T) {
	if _, err := postgres.Open(t.Context(), "postgres://%zz", store.Options{}); err == nil {
		t.Fatal("accepted a malformed URL")
	}
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b testing.TB) store.Store {
		db, err := postgres.Open(context.Background(), testenv.Postgres(b), store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		return db
	})
}

// BenchmarkTelemetry: the disk figure is pg_total_relation_size of the
// series and the raw archive (indexes included), divided by the readings
// stored.
func BenchmarkTelemetry(b *testing.B) {
	storetest.BenchTelemetry(b, func(b testing.TB) (store.Store, func(context.Context) (int64, error)) {
		db, err := postgres.Open(context.Background(), testenv.Postgres(b), store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		return db, func(ctx context.Context) (int64, error) {
			var n int64
			err := db.SQL().QueryRowContext(ctx, `SELECT pg_total_relation_size('series') + pg_total_relation_size('raw_readings')`).Scan(&n)
			return n, err
		}
	})
}

// TestTelemetryPlans: the queries of Series and RawReadings can read a
// sensor's range through an index (sequential scans are disabled for the
// check: on an empty table the planner would rightly prefer them).
func TestTelemetryPlans(t *testing.T) {
	db, err := postgres.Open(t.Context(), testenv.Postgres(t), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.SQL().Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), `SET enable_seqscan = off`); err != nil {
		t.Fatal(err)
	}
	for _, q := range db.TelemetryQueries() {
		rows, err := conn.QueryContext(t.Context(), "EXPLAIN "+q.SQL, q.Args...)
		if err != nil {
			t.Fatalf("%s: %v", q.Name, err)
		}
		var plan []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, line)
		}
		rows.Close()
		text := strings.Join(plan, "\n")
		t.Logf("%s:\n%s", q.Name, text)
		want := map[string]string{"RawReadings": "raw_readings_sensor", "Series": "series_pkey", "SeriesBuckets": "series_pkey"}[q.Name]
		if !strings.Contains(text, want) || strings.Contains(text, "Seq Scan on series") || strings.Contains(text, "Seq Scan on raw_readings") {
			t.Errorf("%s does not read through %s:\n%s", q.Name, want, text)
		}
	}
}
