// Package sqlstore implements store.Store over database/sql for both
// dialects. The SQL is written once, with $N placeholders that SQLite and
// PostgreSQL both accept; a Dialect holds the few differences (time
// encoding, constraint errors, migrations), so the two cannot drift apart.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
)

// Dialect is what differs between the databases.
type Dialect struct {
	// Name is used in messages ("sqlite", "postgres").
	Name string
	// Migrations holds NNNN_name.sql files, applied in order.
	Migrations fs.FS
	// MigrationsTable creates schema_migrations if it does not exist.
	MigrationsTable string
	// MigrateLock, when set, runs first in every migration transaction so
	// that servers starting together migrate one at a time.
	MigrateLock string
	// Time encodes a non-zero time as the database stores it.
	Time func(time.Time) any
	// IsUnique reports a unique or primary key violation.
	IsUnique func(error) bool
	// IsForeignKey reports a foreign key violation.
	IsForeignKey func(error) bool
	// IsFull reports that the database's disk is full; Where names the
	// database in the message ("the database at /data/runlet.db").
	IsFull func(error) bool
	Where  string
	// Bucket is the SQL of the start of the step-long bucket holding the
	// column time, aligned on the unix epoch; %[1]s is the step in
	// microseconds (a placeholder).
	Bucket string
	// AddReadings, when set, is the dialect's bulk path for
	// store.Telemetry.AddReadings (PostgreSQL's COPY); see Readings. The
	// generic path is SQLite's own (? placeholders, INSERT OR IGNORE).
	// This is the one place where the dialects' SQL differs.
	AddReadings func(ctx context.Context, w *sql.DB, b Readings) (archived int, err error)
	// SkipLocked ends the subquery that picks the notifications to claim
	// (" FOR UPDATE SKIP LOCKED" on PostgreSQL, so that claimers do not
	// wait on each other's rows); empty on SQLite, whose one writer
	// serialises claims anyway.
	SkipLocked string
}

// DB is a store.Store on a database.
type DB struct {
	clock   func() time.Time // the store's clock, from store.Options.Now
	r, w    *sql.DB          // readers and the writer; the same pool on PostgreSQL
	dialect Dialect
}

var _ store.Store = (*DB)(nil)

// Open migrates the database and returns the store. Reads go to r, writes
// to w; they may be the same *sql.DB. The store closes both on Close.
// opts.Now is the store's clock (time.Now when nil), used from the
// migration on.
func Open(ctx context.Context, r, w *sql.DB, d Dialect, opts store.Options) (*DB, error) {
	clock := opts.Now
	if clock == nil {
		clock = time.Now
	}
	db := &DB{clock: clock, r: r, w: w, dialect: d}
	if err := db.migrate(ctx); err != nil {
		return nil, err
	}
	return db, nil
}

// SQL returns the writer pool, for tests and tools that inspect the schema.
func (db *DB) SQL() *sql.DB { return db.w }

// Ping reports whether the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.r.PingContext(ctx); err != nil {
		return runlet.Errorf(runlet.EUNAVAILABLE, "The %s database does not answer: %v", db.dialect.Name, err)
	}
	return nil
}

// Close closes the pools.
func (db *DB) Close() error {
	err := db.w.Close()
	if db.r != db.w {
		err = errors.Join(err, db.r.Close())
	}
	return err
}

// now is the clock's time in the precision the database keeps.
func (db *DB) now() time.Time { return stamp(db.clock()) }

func stamp(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// t encodes a time argument: NULL for the zero time.
func (db *DB) t(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return db.dialect.Time(stamp(t))
}

// tx runs f in a write transaction, committed if f returns nil.
func (db *DB) tx(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if err := f(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// constraint turns a violated constraint into an application error: a
// unique one into ECONFLICT with conflict, a foreign key into ENOTFOUND with
// missing. Other errors are wrapped with what.
func (db *DB) constraint(err error, what, conflict, missing string) error {
	switch {
	case err == nil:
		return nil
	case conflict != "" && db.dialect.IsUnique(err):
		return runlet.Errorf(runlet.ECONFLICT, "%s", conflict)
	case missing != "" && db.dialect.IsForeignKey(err):
		return runlet.Errorf(runlet.ENOTFOUND, "%s", missing)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// notFound turns sql.ErrNoRows into ENOTFOUND with msg.
func notFound(err error, what, msg string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return runlet.Errorf(runlet.ENOTFOUND, "%s", msg)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func invalid(format string, args ...any) error {
	return runlet.Errorf(runlet.EINVALID, format, args...)
}

// rowsAffected returns how many rows res changed.
func rowsAffected(res sql.Result, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// wrap adds what to a non-nil err.
func wrap(err error, what string) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

// quote quotes a name for a message.
func quote(s string) string { return strconv.Quote(s) }
