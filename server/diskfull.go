package server

import (
	"errors"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus"
)

// diskFull returns err as runlet's EFULL naming the disk that is full when
// err means one is, and err itself otherwise: the database's (the store
// recognises its own errors), the broker's (bus.ErrFull), or the server's
// own files in DATA (the system's ENOSPC). error() passes every error of
// the API through it, so a write added later is covered too.
func (s *Server) diskFull(err error) error {
	if err == nil || runlet.ErrorCode(err) == runlet.EFULL {
		return err
	}
	if errors.Is(err, bus.ErrFull) {
		return runlet.DiskFull(s.brokerStore, err)
	}
	// Compare codes, not errors: some errors (jobspec.Errors) are slices,
	// and == on them panics.
	if s.db != nil {
		if full := s.db.DiskFull(err); runlet.ErrorCode(full) == runlet.EFULL {
			return full
		}
	}
	if runlet.IsDiskFull(err) {
		return runlet.DiskFull("the data directory "+s.cfg.DataDir, err)
	}
	return err
}
