package postgres_test

import (
	"context"
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
	storetest.RunMigrations(t, 6, func(ctx context.Context) (storetest.Migrated, error) {
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
