package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// migration is one NNNN_name.sql file.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations reads the dialect's files in version order.
func (db *DB) migrations() ([]migration, error) {
	names, err := fs.Glob(db.dialect.Migrations, "*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	seen := map[int]string{}
	for _, name := range names {
		num, _, ok := strings.Cut(path.Base(name), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: the name must be NNNN_what.sql", name)
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s have the same version", other, name)
		}
		seen[v] = name
		b, err := fs.ReadFile(db.dialect.Migrations, name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// migrate applies the migrations the database lacks, each in its own
// transaction, and refuses a database newer than this program.
func (db *DB) migrate(ctx context.Context) error {
	ms, err := db.migrations()
	if err != nil {
		return fmt.Errorf("%s migrations: %w", db.dialect.Name, err)
	}
	for _, m := range ms {
		if err := db.tx(ctx, func(tx *sql.Tx) error { return db.apply(ctx, tx, m) }); err != nil {
			return fmt.Errorf("%s migration %s: %w", db.dialect.Name, m.name, err)
		}
	}
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if len(ms) > 0 && v > ms[len(ms)-1].version {
		return fmt.Errorf("the %s database has schema version %d, newer than this runlet knows (%d): upgrade runlet", db.dialect.Name, v, ms[len(ms)-1].version)
	}
	return nil
}

// apply runs m in tx unless it is recorded already.
func (db *DB) apply(ctx context.Context, tx *sql.Tx, m migration) error {
	if db.dialect.MigrateLock != "" {
		if _, err := tx.ExecContext(ctx, db.dialect.MigrateLock); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, db.dialect.MigrationsTable); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = $1`, m.version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied) VALUES ($1, $2, $3)`,
		m.version, m.name, db.t(db.now()))
	return err
}

// SchemaVersion returns the highest migration applied, 0 for none.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	if err := db.w.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return int(v.Int64), nil
}
