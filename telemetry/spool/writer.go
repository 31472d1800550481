package spool

import (
	"context"
	"fmt"
	"runtime"

	"github.com/runlet/runlet"
)

// appendReq is one Append waiting for the writer.
type appendReq struct {
	recs  [][]byte
	first uint64
	err   error
	done  chan struct{}
}

// writer is the writer goroutine's own state.
type writer struct {
	next   uint64   // seq of the next record given out
	active *segment // the segment written to
	buf    []byte   // framed records not written yet
	bufRec uint64   // first seq in buf
	pend   []pendingNote
}

// pendingNote is a record in buf, to note in its segment once durable.
type pendingNote struct {
	seq uint64
	off int64
}

// Append writes recs as consecutive records, fsyncs them and returns the
// sequence number of the first (the others follow it: first+1, …); with
// no records it returns 0. Concurrent Appends share their fsyncs. ctx
// bounds the wait for the writer only: once the records are handed to
// it, Append waits for the fsync, so that its answer is true.
//
// A record longer than the segment or MaxRecord is refused (EINVALID); a
// full disk is EFULL; after Close, ErrClosed.
func (s *Spool) Append(ctx context.Context, recs ...[]byte) (first uint64, err error) {
	if len(recs) == 0 {
		return 0, nil
	}
	limit := min(MaxRecord, int(s.opts.SegmentBytes)-headerSize)
	for i, r := range recs {
		if len(r) > limit {
			return 0, runlet.Errorf(runlet.EINVALID, "Record %d of %d is %d bytes; the telemetry outbox takes at most %d.", i+1, len(recs), len(r), limit)
		}
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return 0, ErrClosed
	}
	if s.broken != nil {
		s.mu.Unlock()
		return 0, s.broken
	}
	s.inflight.Add(1)
	s.mu.Unlock()
	defer s.inflight.Done()
	req := &appendReq{recs: recs, done: make(chan struct{})}
	select {
	case s.reqs <- req:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	<-req.done
	return req.first, req.err
}

// maxKeptBuf bounds the write buffer kept from one group to the next.
const maxKeptBuf = 256 << 10

// maxGroup bounds the Appends that share one fsync.
const maxGroup = 1024

// run is the writer goroutine: it takes the Appends waiting, writes them
// with one write and one fsync, and answers them.
func (s *Spool) run() {
	defer close(s.writerDone)
	group := make([]*appendReq, 0, maxGroup)
	for {
		select {
		case r := <-s.reqs:
			group = append(group[:0], r)
		case <-s.stop:
			return
		}
		// Let the Appends just answered (and others ready to run) queue
		// up before the group closes: without it a group often holds
		// only the first of them.
		runtime.Gosched()
	more:
		for len(group) < maxGroup {
			select {
			case r := <-s.reqs:
				group = append(group, r)
			default:
				break more
			}
		}
		s.commit(group)
		clear(group)
	}
}

// commit writes a group of Appends and answers each.
func (s *Spool) commit(group []*appendReq) {
	err := s.write(group)
	if err != nil {
		err = s.undo(err)
	}
	s.mu.Lock()
	durable := s.next
	s.mu.Unlock()
	for _, r := range group {
		switch {
		case r.first != 0 && r.first+uint64(len(r.recs)) <= durable:
			// Written, even if a later part of the group failed.
		case err != nil:
			r.first, r.err = 0, err
		}
		close(r.done)
	}
}

// write frames the group's records into the active segment, starting new
// segments and dropping old ones as needed, and fsyncs.
func (s *Spool) write(group []*appendReq) error {
	w := &s.w
	for _, r := range group {
		r.first = w.next
		for _, data := range r.recs {
			n := int64(headerSize + len(data))
			if w.active.size+int64(len(w.buf))+n > s.opts.SegmentBytes && w.active.size+int64(len(w.buf)) > 0 {
				if err := s.flush(); err != nil {
					return err
				}
				if err := s.rotate(); err != nil {
					return err
				}
			}
			if err := s.makeRoom(n + int64(len(w.buf))); err != nil {
				return err
			}
			if len(w.buf) == 0 {
				w.bufRec = w.next
			}
			w.pend = append(w.pend, pendingNote{seq: w.next, off: w.active.size + int64(len(w.buf))})
			w.buf = appendRecord(w.buf, w.next, data)
			w.next++
		}
	}
	return s.flush()
}

// flush writes and fsyncs the buffer, then makes its records visible.
func (s *Spool) flush() error {
	w := &s.w
	if len(w.buf) == 0 {
		return nil
	}
	g := w.active
	if _, err := g.f.WriteAt(w.buf, g.size); err != nil {
		return fmt.Errorf("write to the telemetry outbox %s: %w", g.path, err)
	}
	if err := g.f.Sync(); err != nil {
		return fmt.Errorf("sync the telemetry outbox %s: %w", g.path, err)
	}
	s.syncs.Add(1)
	s.mu.Lock()
	for _, p := range w.pend {
		g.note(p.seq, p.off)
	}
	g.size += int64(len(w.buf))
	s.disk += int64(len(w.buf))
	s.next = w.next
	s.tail.add(w.bufRec, w.next-w.bufRec, w.buf)
	close(s.notify)
	s.notify = make(chan struct{})
	s.mu.Unlock()
	w.buf, w.pend = w.buf[:0], w.pend[:0]
	if cap(w.buf) > maxKeptBuf {
		// A large group passed: do not keep its buffer for the small ones.
		w.buf, w.pend = nil, nil
	}
	return nil
}

// rotate starts a new active segment, named by the next seq.
func (s *Spool) rotate() error {
	g, err := s.createSegment(s.w.next)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.segs = append(s.segs, g)
	s.mu.Unlock()
	s.w.active = g
	return nil
}

// makeRoom drops the oldest segments until n more bytes fit in the bound.
// The active segment is never dropped, and alone it always leaves room
// (SegmentBytes ≤ MaxBytes/2).
func (s *Spool) makeRoom(n int64) error {
	s.trimMu.Lock()
	defer s.trimMu.Unlock()
	for {
		s.mu.Lock()
		if s.disk+n <= s.opts.MaxBytes || len(s.segs) < 2 {
			s.mu.Unlock()
			return nil
		}
		oldest := s.segs[0]
		lost := oldest.pendingAfter(s.st.floor())
		s.mu.Unlock()
		now := s.opts.Now()
		if lost > 0 {
			err := s.saveState(func(st *state) {
				st.DroppedThrough = max(st.DroppedThrough, oldest.last)
				st.Dropped += lost
				st.LastDrop = now.UnixMilli()
			})
			if err != nil {
				return fmt.Errorf("record a drop in the telemetry outbox: %w", err)
			}
		}
		s.files.Lock()
		s.mu.Lock()
		s.segs = s.segs[1:]
		s.disk -= oldest.size
		dropped, disk := s.st.Dropped, s.disk
		s.mu.Unlock()
		s.deleteSegment(oldest)
		s.files.Unlock()
		if lost > 0 {
			s.log.Warn("telemetry outbox full: dropped the oldest readings to make room",
				"dropped", lost, "droppedTotal", dropped, "bound", s.opts.MaxBytes, "diskBytes", disk,
				"oldestKept", oldest.last+1, "dir", s.dir)
		}
	}
}

// undo puts the active segment back as it was before a failed write, so
// that the sequence numbers not given out can be given again. If that
// fails too, the spool refuses further Appends: its file may hold records
// nobody was told about.
func (s *Spool) undo(cause error) error {
	w := &s.w
	s.mu.Lock()
	w.next = s.next
	s.mu.Unlock()
	w.buf, w.pend = w.buf[:0], w.pend[:0]
	g := w.active
	if err := g.f.Truncate(g.size); err != nil {
		s.mu.Lock()
		s.broken = fmt.Errorf("the telemetry outbox %s cannot be written (%w); restart to recover it", s.dir, err)
		s.mu.Unlock()
	}
	if runlet.IsDiskFull(cause) {
		return runlet.DiskFull("the telemetry outbox at "+s.dir, cause)
	}
	return cause
}
