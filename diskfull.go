package runlet

import (
	"errors"
	"fmt"
	"syscall"
)

// A full disk is one rule with one owner: DiskFull makes the error, with
// the sentence a person reads, and IsDiskFull recognises it. The adapters
// recognise their own backend's signal for it (SQLite's SQLITE_FULL,
// PostgreSQL's disk_full, JetStream refusing for lack of storage) and turn
// it into DiskFull, naming the disk; the operating system's "no space left
// on device" is recognised here, wherever it comes from.

// DiskFull returns the EFULL error for a disk with no space left. where
// names what is on that disk ("the database at /var/lib/runlet/runlet.db",
// "the PostgreSQL server at db:5432"), so that the reader knows which disk
// to free. cause stays in the chain for the log.
func DiskFull(where string, cause error) error {
	e := &Error{Code: EFULL, Message: fmt.Sprintf("The disk is full (%s): free space on it, then try again.", where)}
	if cause == nil {
		return e
	}
	return fmt.Errorf("%w: %w", e, cause)
}

// IsDiskFull reports whether err means a disk with no space left: an EFULL
// error, or the operating system's own error for it (ENOSPC).
func IsDiskFull(err error) bool {
	if err == nil {
		return false
	}
	if ErrorCode(err) == EFULL || errors.Is(err, syscall.ENOSPC) {
		return true
	}
	for _, e := range osDiskFull {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
