package spool

import (
	"github.com/runlet/runlet"
)

// Ack records that every record ≤ upTo is confirmed by the broker: it
// writes the cursor durably, then deletes the segments that hold nothing
// pending any more (never the active one). Acknowledging less than before
// does nothing; more than was appended is EINVALID.
func (s *Spool) Ack(upTo uint64) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if upTo >= s.next {
		next := s.next
		s.mu.Unlock()
		return runlet.Errorf(runlet.EINVALID, "Cannot acknowledge record %d of the telemetry outbox: the last one written is %d.", upTo, next-1)
	}
	if upTo <= s.st.Acked {
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	s.trimMu.Lock()
	defer s.trimMu.Unlock()
	if err := s.saveState(func(st *state) { st.Acked = max(st.Acked, upTo) }); err != nil {
		return err
	}
	s.files.Lock()
	defer s.files.Unlock()
	s.mu.Lock()
	gone := s.removable()
	s.mu.Unlock()
	for _, g := range gone {
		s.deleteSegment(g)
	}
	return nil
}
