package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
)

const leaseCols = `name, holder, acquired, expires`

func scanLease(s scanner) (store.Lease, error) {
	var l store.Lease
	err := s.Scan(&l.Name, &l.Holder, timeCol{&l.Acquired}, timeCol{&l.Expires})
	return l, err
}

// AcquireLease implements store.Leases: one upsert, which takes a free or
// expired lease, renews the holder's own, and changes nothing when another
// holds it, so that of two servers asking at once one gets it.
func (db *DB) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (store.Lease, bool, error) {
	switch {
	case name == "" || holder == "":
		return store.Lease{}, false, invalid("A lease needs a name and a holder.")
	case ttl < time.Millisecond:
		return store.Lease{}, false, invalid("A lease lasts at least a millisecond, not %v.", ttl)
	}
	now := db.now()
	l, err := scanLease(db.w.QueryRowContext(ctx, `INSERT INTO leases (name, holder, acquired, expires) VALUES ($1, $2, $3, $4)
		ON CONFLICT (name) DO UPDATE SET
			acquired = CASE WHEN leases.holder = excluded.holder AND leases.expires > $3 THEN leases.acquired ELSE excluded.acquired END,
			holder = excluded.holder, expires = excluded.expires
		WHERE leases.holder = excluded.holder OR leases.expires <= $3
		RETURNING `+leaseCols, name, holder, db.t(now), db.t(now.Add(ttl))))
	if err == nil {
		return l, true, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return store.Lease{}, false, wrap(err, "acquire lease "+quote(name))
	}
	l, err = db.lease(ctx, db.w, name)
	if runlet.ErrorCode(err) == runlet.ENOTFOUND {
		// Released between the upsert and the read: free, but not
		// taken by this call; the holder asks again.
		return store.Lease{Name: name}, false, nil
	}
	return l, false, err
}

// ReleaseLease implements store.Leases.
func (db *DB) ReleaseLease(ctx context.Context, name, holder string) error {
	_, err := db.w.ExecContext(ctx, `DELETE FROM leases WHERE name = $1 AND holder = $2`, name, holder)
	return wrap(err, "release lease "+quote(name))
}

// Lease implements store.Leases.
func (db *DB) Lease(ctx context.Context, name string) (store.Lease, error) {
	return db.lease(ctx, db.r, name)
}

func (db *DB) lease(ctx context.Context, q querier, name string) (store.Lease, error) {
	l, err := scanLease(q.QueryRowContext(ctx, `SELECT `+leaseCols+` FROM leases WHERE name = $1`, name))
	return l, notFound(err, "read lease "+quote(name), "No one holds the lease "+quote(name)+".")
}
