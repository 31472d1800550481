package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runlet/runlet/store"
	"github.com/runlet/runlet/store/sqlite"
	"github.com/runlet/runlet/store/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t testing.TB, opts store.Options) store.Store {
		db, err := sqlite.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "runlet.db"), opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}

func TestMigrations(t *testing.T) {
	url := "sqlite:" + filepath.Join(t.TempDir(), "data", "..", "runlet.db")
	storetest.RunMigrations(t, 9, func(ctx context.Context) (storetest.Migrated, error) {
		return sqlite.Open(ctx, url, store.Options{})
	})
}

func TestPath(t *testing.T) {
	for in, want := range map[string]string{
		"sqlite:/var/lib/runlet/runlet.db":   "/var/lib/runlet/runlet.db",
		"sqlite:///var/lib/runlet/runlet.db": "/var/lib/runlet/runlet.db",
		"sqlite:data/runlet.db":              "data/runlet.db",
		"/tmp/x.db":                          "/tmp/x.db",
	} {
		got, err := sqlite.Path(in)
		if err != nil || got != want {
			t.Errorf("Path(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"sqlite:", "sqlite::memory:", "sqlite:x.db?mode=ro", ""} {
		if _, err := sqlite.Path(bad); err == nil {
			t.Errorf("Path(%q) accepted", bad)
		}
	}
}

func TestOpenFailsClearly(t *testing.T) {
	_, err := sqlite.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "missing-dir", "runlet.db"), store.Options{})
	if err == nil {
		t.Fatal("opened a database in a directory that does not exist")
	}
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b testing.TB) store.Store {
		db, err := sqlite.Open(context.Background(), "sqlite:"+filepath.Join(b.TempDir(), "runlet.db"), store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		return db
	})
}

// BenchmarkTelemetry: the disk figure is the file's size after a
// checkpoint, divided by the readings stored.
func BenchmarkTelemetry(b *testing.B) {
	storetest.BenchTelemetry(b, func(b testing.TB) (store.Store, func(context.Context) (int64, error)) {
		path := filepath.Join(b.TempDir(), "runlet.db")
		db, err := sqlite.Open(context.Background(), "sqlite:"+path, store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		return db, func(ctx context.Context) (int64, error) {
			if _, err := db.SQL().ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
				return 0, err
			}
			fi, err := os.Stat(path)
			if err != nil {
				return 0, err
			}
			return fi.Size(), nil
		}
	})
}

// TestTelemetryPlans: the queries of Series and RawReadings read a
// sensor's range through an index, never by scanning a table.
func TestTelemetryPlans(t *testing.T) {
	db, err := sqlite.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "runlet.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range db.TelemetryQueries() {
		rows, err := db.SQL().QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+q.SQL, q.Args...)
		if err != nil {
			t.Fatalf("%s: %v", q.Name, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		text := strings.Join(plan, "\n")
		t.Logf("%s:\n%s", q.Name, text)
		for _, p := range plan {
			if strings.HasPrefix(p, "SCAN ") && !strings.Contains(p, "USING") {
				t.Errorf("%s scans a table: %s\n%s", q.Name, p, text)
			}
		}
		want := map[string]string{"RawReadings": "raw_readings_sensor", "Series": "PRIMARY KEY", "SeriesBuckets": "PRIMARY KEY"}[q.Name]
		if !strings.Contains(text, want) {
			t.Errorf("%s does not use %s:\n%s", q.Name, want, text)
		}
	}
}
