package sqlstore

import "github.com/runlet/runlet"

// DiskFull implements store.Store with the dialect's test for a full disk.
func (db *DB) DiskFull(err error) error {
	if err == nil || db.dialect.IsFull == nil || runlet.ErrorCode(err) == runlet.EFULL || !db.dialect.IsFull(err) {
		return err
	}
	return runlet.DiskFull(db.dialect.Where, err)
}
