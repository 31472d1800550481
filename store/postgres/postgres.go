// Package postgres is the PostgreSQL dialect of the store (pgx through
// database/sql): the database for servers that outgrow one machine or run
// as several replicas.
//
// It uses pgx's database/sql driver rather than pgxpool so that both
// dialects run the same SQL code (store/internal/sqlstore) and cannot
// drift apart. The one pgx-only path is the bulk path of telemetry
// readings (telemetry.go), which reaches the pgx connection through
// (*sql.Conn).Raw to COPY a batch.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
	"github.com/runlet/runlet/store/internal/sqlstore"
)

// Schemes are the URL schemes of this dialect.
var Schemes = []string{"postgres", "postgresql"}

//go:embed migrations/*.sql
var migrations embed.FS

// migrateLock is the advisory lock key that serializes migrations of
// servers starting together ("runlet" in ASCII).
const migrateLock = `SELECT pg_advisory_xact_lock(126943093630068)`

// DB is the store on one PostgreSQL database.
type DB struct {
	*sqlstore.DB
}

var _ store.Store = (*DB)(nil)

// Open connects to the database at url (postgres://…) and migrates it.
// opts.Now is the store's clock.
func Open(ctx context.Context, url string, opts store.Options) (*DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres URL: %w", err)
	}
	if cfg.ConnectTimeout == 0 {
		// A host that drops packets would otherwise hold a starting
		// server for the system's TCP timeout, minutes, saying nothing.
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	pool := stdlib.OpenDB(*cfg)
	pool.SetMaxOpenConns(16)
	pool.SetMaxIdleConns(4)
	pool.SetConnMaxIdleTime(5 * time.Minute)
	sub, _ := fs.Sub(migrations, "migrations")
	db, err := sqlstore.Open(ctx, pool, pool, sqlstore.Dialect{
		Name:       "postgres",
		Migrations: sub,
		MigrationsTable: `CREATE TABLE IF NOT EXISTS schema_migrations
			(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied TIMESTAMPTZ NOT NULL)`,
		MigrateLock:  migrateLock,
		Time:         func(t time.Time) any { return t },
		IsUnique:     isCode("23505"),
		IsForeignKey: isCode("23503"),
		IsFull:       isCode("53100"), // disk_full
		Where:        fmt.Sprintf("the PostgreSQL server at %s:%d", cfg.Host, cfg.Port),
		Bucket:       "date_bin(%[1]s::bigint * interval '1 microsecond', time, timestamptz '1970-01-01 00:00:00+00')",
		AddReadings:  addReadings,
		SkipLocked:   " FOR UPDATE SKIP LOCKED",
	}, opts)
	if err != nil {
		pool.Close()
		return nil, explain(cfg, err)
	}
	return &DB{db}, nil
}

// DefaultConnectTimeout bounds each attempt to connect when the URL sets
// no connect_timeout.
const DefaultConnectTimeout = 15 * time.Second

// explain says why Open failed when the server could not be reached or
// refused the database or the user: an EUNAVAILABLE error whose message
// names the cause and what to check, the driver's error kept in the chain.
// Other errors keep their code, with the database named.
func explain(cfg *pgx.ConnConfig, err error) error {
	at := fmt.Sprintf("the PostgreSQL server at %s:%d", cfg.Host, cfg.Port)
	var pe *pgconn.PgError
	var ne *net.OpError
	var msg string
	switch {
	case runlet.ErrorCode(err) != runlet.EINTERNAL: // disk full: said already
	case errors.As(err, &pe) && pe.Code == "3D000": // invalid_catalog_name
		msg = fmt.Sprintf("%s has no database %q: create it, or name one that exists", at, cfg.Database)
	case errors.As(err, &pe) && (pe.Code == "28P01" || pe.Code == "28000"): // invalid_password, invalid_authorization_specification
		msg = fmt.Sprintf("%s refused the user %q (%s): check the user and the password", at, cfg.User, pe.Message)
	case errors.As(err, &ne) && ne.Op == "dial":
		msg = fmt.Sprintf("cannot reach %s (%v): check that it runs and that this machine can reach it", at, ne.Err)
	case errors.Is(err, context.DeadlineExceeded):
		msg = fmt.Sprintf("%s did not answer within %s: check that it runs and that this machine can reach it", at, cfg.ConnectTimeout)
	}
	if msg == "" {
		return fmt.Errorf("open postgres database %s on %s: %w", cfg.Database, cfg.Host, err)
	}
	return fmt.Errorf("%w (%w)", runlet.Errorf(runlet.EUNAVAILABLE, "%s", msg), err)
}

// IsURL reports whether s names a PostgreSQL database.
func IsURL(s string) bool {
	for _, scheme := range Schemes {
		if strings.HasPrefix(s, scheme+"://") {
			return true
		}
	}
	return false
}

// isCode returns a test for a PostgreSQL SQLSTATE.
func isCode(code string) func(error) bool {
	return func(err error) bool {
		var e *pgconn.PgError
		return errors.As(err, &e) && e.Code == code
	}
}
