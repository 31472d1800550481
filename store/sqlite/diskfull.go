package sqlite

import (
	"errors"
	"path/filepath"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/runlet/runlet/internal/disk"
)

// where names the database in a disk-full message.
func where(path string) string { return "the database at " + path }

// lowSpace is how little free space turns an I/O error into a full disk.
const lowSpace = 1 << 20

// isFull returns the test for a full disk under the database at path:
// SQLITE_FULL, which SQLite returns when a write finds no space, or an I/O
// error while the disk has almost nothing free (SQLite reports a WAL index
// it cannot grow, for one, as SQLITE_IOERR_SHMSIZE).
func isFull(path string) func(error) bool {
	return func(err error) bool {
		var e *sqlite.Error
		if !errors.As(err, &e) {
			return false
		}
		switch e.Code() & 0xff { // the primary result code
		case sqlite3.SQLITE_FULL:
			return true
		case sqlite3.SQLITE_IOERR:
			sp, err := disk.Usage(filepath.Dir(path))
			return err == nil && sp.Free < lowSpace
		}
		return false
	}
}
