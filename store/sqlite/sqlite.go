// Package sqlite is the SQLite dialect of the store (modernc.org/sqlite, pure
// Go, so runlet cross-compiles): the default database of a single server,
// one file under its data directory.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
	"github.com/runlet/runlet/store/internal/sqlstore"
)

// Scheme is the URL scheme of this dialect: sqlite:PATH.
const Scheme = "sqlite"

//go:embed migrations/*.sql
var migrations embed.FS

// DB is the store on one SQLite file.
type DB struct {
	*sqlstore.DB
}

var _ store.Store = (*DB)(nil)

// Open opens (creating it if needed) and migrates the database at dsn,
// "sqlite:PATH" or a plain path. Writes go through a single connection,
// which is how SQLite wants them; reads use a pool beside it (WAL mode lets
// them run while a write is in progress). opts.Now is the store's clock.
func Open(ctx context.Context, dsn string, opts store.Options) (*DB, error) {
	path, err := Path(dsn)
	if err != nil {
		return nil, err
	}
	if err := checkDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	// The writer keeps 64 MiB of pages (SQLite's default is 2 MiB): the
	// series of a thousand sensors touch a page each per batch of
	// readings, and a smaller cache spills them mid-transaction.
	w, err := open(path, 1, "&_pragma=cache_size(-65536)&_pragma=wal_autocheckpoint(16384)&_pragma=temp_store(MEMORY)")
	if err != nil {
		return nil, err
	}
	r, err := open(path, max(2, runtime.GOMAXPROCS(0)), "&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, err
	}
	sub, _ := fs.Sub(migrations, "migrations")
	db, err := sqlstore.Open(ctx, r, w, sqlstore.Dialect{
		Name:            "sqlite",
		Migrations:      sub,
		MigrationsTable: `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied INTEGER NOT NULL) STRICT`,
		Time:            func(t time.Time) any { return t.UnixMicro() },
		IsUnique:        isCode(sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY),
		IsForeignKey:    isCode(sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY),
		IsFull:          isFull(path),
		Where:           where(path),
		Bucket:          "time - (((time %% %[1]s) + %[1]s) %% %[1]s)",
	}, opts)
	if err != nil {
		r.Close()
		w.Close()
		err = fmt.Errorf("open %s: %w", path, err)
		if isFull(path)(err) {
			err = runlet.DiskFull(where(path), err)
		}
		return nil, err
	}
	return &DB{db}, nil
}

// Path returns the file path of a sqlite: URL; a string without the scheme
// is taken as a path.
func Path(dsn string) (string, error) {
	path := strings.TrimPrefix(strings.TrimPrefix(dsn, Scheme+":"), "//")
	if path == "" || strings.HasPrefix(path, ":memory:") || strings.ContainsAny(path, "?#") {
		return "", fmt.Errorf("sqlite URL %q: want sqlite:PATH, the path of a file without ? or #", dsn)
	}
	return filepath.Clean(path), nil
}

// checkDir says what is wrong with the directory of the database file,
// for which SQLite says only "unable to open database file" (14).
func checkDir(dir string) error {
	fi, err := os.Stat(dir)
	var pe *fs.PathError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return runlet.Errorf(runlet.EUNAVAILABLE, "the directory %s of the SQLite file does not exist: create it, or name a file in one that does", dir)
	case errors.As(err, &pe):
		return runlet.Errorf(runlet.EUNAVAILABLE, "cannot use the directory %s of the SQLite file: %v", dir, pe.Err)
	case err != nil:
		return fmt.Errorf("the directory of the SQLite file: %w", err)
	case !fi.IsDir():
		return runlet.Errorf(runlet.EUNAVAILABLE, "%s, where the SQLite file would go, is not a directory", dir)
	}
	return nil
}

// open returns a pool of at most n connections to path, each set up with
// the pragmas runlet relies on.
func open(path string, n int, extra string) (*sql.DB, error) {
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() +
		"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)" +
		"&_pragma=synchronous(NORMAL)&_txlock=immediate" + extra
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxIdleTime(0)
	return db, nil
}

// isCode returns a test for SQLite's extended result codes.
func isCode(codes ...int) func(error) bool {
	return func(err error) bool {
		var e *sqlite.Error
		if !errors.As(err, &e) {
			return false
		}
		for _, c := range codes {
			if e.Code() == c {
				return true
			}
		}
		return false
	}
}
