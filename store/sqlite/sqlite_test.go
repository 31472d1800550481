package sqlite_test

import (
	"context"
	"path/filepath"
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
	storetest.RunMigrations(t, 6, func(ctx context.Context) (storetest.Migrated, error) {
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
