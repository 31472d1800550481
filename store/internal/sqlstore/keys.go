package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// ServerKey implements store.Keys: the first key stored under name wins,
// so that every server process on the database uses the same.
func (db *DB) ServerKey(ctx context.Context, name string, gen func() ([]byte, error)) ([]byte, error) {
	if name == "" {
		return nil, invalid("A server key needs a name.")
	}
	read := func(q querier) ([]byte, error) {
		var key []byte
		err := q.QueryRowContext(ctx, `SELECT key FROM server_keys WHERE name = $1`, name).Scan(&key)
		return key, err
	}
	key, err := read(db.r)
	if err == nil {
		return key, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("read server key %s: %w", quote(name), err)
	}
	key, err = gen()
	if err != nil {
		return nil, fmt.Errorf("make server key %s: %w", quote(name), err)
	}
	if len(key) == 0 {
		return nil, invalid("The new server key %s is empty.", quote(name))
	}
	if _, err := db.w.ExecContext(ctx, `INSERT INTO server_keys (name, key, created) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO NOTHING`, name, key, db.t(db.now())); err != nil {
		return nil, fmt.Errorf("store server key %s: %w", quote(name), err)
	}
	key, err = read(db.w) // ours, or the one another process stored first
	return key, wrap(err, "read server key "+quote(name))
}
