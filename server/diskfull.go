package server

import (
	"errors"
	"path/filepath"

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
		return runlet.DiskFull(s.brokerStore(), err)
	}
	if s.db != nil {
		// Compare codes, not errors: some errors (jobspec.Errors) are
		// slices, and == on them panics.
		if full := s.db.DiskFull(err); runlet.ErrorCode(full) == runlet.EFULL {
			return full
		}
	}
	if runlet.IsDiskFull(err) {
		return runlet.DiskFull("the data directory "+s.cfg.DataDir, err)
	}
	return err
}

// brokerStore names where the broker keeps its messages.
func (s *Server) brokerStore() string {
	if s.nats != nil {
		return "the broker's store at " + filepath.Join(s.cfg.DataDir, "nats")
	}
	return "the broker at " + s.brokerURL
}

// checkBrokerStore has the embedded broker re-read its disk's free space,
// so that a run dispatched next fails when the disk just filled and
// succeeds when space was just freed.
func (s *Server) checkBrokerStore() {
	if s.nats != nil {
		s.nats.CheckStore()
	}
}
