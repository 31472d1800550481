// Package connect opens the store named by a --db URL, choosing the dialect
// by its scheme: sqlite:PATH or postgres://…. It is the one package that
// imports every dialect, so the server's wiring does not have to.
package connect

import (
	"context"
	"strings"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/internal/redact"
	"github.com/runlet/runlet/store"
	"github.com/runlet/runlet/store/postgres"
	"github.com/runlet/runlet/store/sqlite"
)

// Open opens and migrates the database at url with opts (opts.Now is the
// store's clock; the zero Options uses time.Now).
func Open(ctx context.Context, url string, opts store.Options) (store.Store, error) {
	switch {
	case strings.HasPrefix(url, sqlite.Scheme+":"):
		return opened(sqlite.Open(ctx, url, opts))
	case postgres.IsURL(url):
		return opened(postgres.Open(ctx, url, opts))
	}
	return nil, runlet.Errorf(runlet.EINVALID,
		"Unknown database URL %q: use sqlite:PATH (a file) or postgres://USER@HOST/DB.", redact.URL(url))
}

// opened returns a dialect's Open as a Store, nil when it failed: a nil
// *DB in a Store interface is not nil, and the caller would Close it.
func opened[DB store.Store](db DB, err error) (store.Store, error) {
	if err != nil {
		return nil, err
	}
	return db, nil
}
