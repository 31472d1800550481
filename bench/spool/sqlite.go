package main

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"

	_ "modernc.org/sqlite" // the SQLite the seed's gateway used, for comparison
)

// sqliteOutbox is the alternative the seed's gateway used: a table in
// SQLite (WAL, synchronous FULL so that a commit is on disk, as an
// Append is), one transaction per append, deleted on acknowledgement.
type sqliteOutbox struct {
	db  *sql.DB
	ins *sql.Stmt
}

func openSQLite(dir string) (*sqliteOutbox, error) {
	dsn := "file:" + filepath.Join(dir, "outbox.db") +
		"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, data BLOB NOT NULL)`); err != nil {
		db.Close()
		return nil, fmt.Errorf("create the table: %w", err)
	}
	ins, err := db.Prepare(`INSERT INTO outbox (data) VALUES (?)`)
	if err != nil {
		db.Close()
		return nil, err
	}
	return &sqliteOutbox{db: db, ins: ins}, nil
}

// Append inserts recs in one transaction.
func (o *sqliteOutbox) Append(ctx context.Context, recs ...[]byte) (uint64, error) {
	tx, err := o.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	st := tx.Stmt(o.ins)
	var first int64
	for i, r := range recs {
		res, err := st.Exec(r)
		if err != nil {
			return 0, err
		}
		if i == 0 {
			first, _ = res.LastInsertId()
		}
	}
	return uint64(first), tx.Commit()
}

// drain reads n at a time in order and deletes what it read, as Read and
// Ack do.
func (o *sqliteOutbox) drain(n int) (int, error) {
	var after int64
	total := 0
	for {
		rows, err := o.db.Query(`SELECT seq, data FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?`, after, n)
		if err != nil {
			return total, err
		}
		got := 0
		for rows.Next() {
			var data []byte
			if err := rows.Scan(&after, &data); err != nil {
				rows.Close()
				return total, err
			}
			got++
		}
		if err := rows.Close(); err != nil {
			return total, err
		}
		if got == 0 {
			return total, nil
		}
		if _, err := o.db.Exec(`DELETE FROM outbox WHERE seq <= ?`, after); err != nil {
			return total, err
		}
		total += got
	}
}

func (o *sqliteOutbox) pending() (n uint64, err error) {
	err = o.db.QueryRow(`SELECT count(*) FROM outbox`).Scan(&n)
	return n, err
}

func (o *sqliteOutbox) Close() error { return o.db.Close() }
