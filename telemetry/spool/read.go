package spool

import (
	"context"
	"fmt"
	"io"
	"math"
	"sync"
)

// readHint is where the last Read stopped: the offset of record seq in
// the segment at path, so that the next Read continues without a scan.
type readHint struct {
	path string
	seq  uint64
	off  int64
}

// segView is a segment as a Read saw it under the lock.
type segView struct {
	g           *segment
	size        int64
	first, last uint64
	index       []indexEntry
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, chunk); return &b }}

// Read returns the records after the sequence number after, in order: at
// most maxRecs records and about maxBytes of data (always one record at
// least; 0 or less is no limit). Records acknowledged or dropped are
// skipped: a cursor in a dropped segment continues at the oldest record
// kept. It returns no records when there is none after after (see Wait).
// The last records written are served from memory, the others from the
// files; each Read's records are its own copies.
func (s *Spool) Read(after uint64, maxRecs int, maxBytes int) ([]Record, error) {
	if maxRecs <= 0 {
		maxRecs = math.MaxInt
	}
	if maxBytes <= 0 {
		maxBytes = math.MaxInt
	}
	s.files.RLock()
	defer s.files.RUnlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	start := max(after, s.st.floor()) + 1
	if start >= s.next {
		s.mu.Unlock()
		return nil, nil
	}
	if chunks := s.tail.from(start); chunks != nil {
		s.mu.Unlock()
		return readChunks(chunks, start, maxRecs, maxBytes), nil
	}
	var views []segView
	for _, g := range s.segs {
		if g.count > 0 && g.last >= start {
			views = append(views, segView{g: g, size: g.size, first: g.first, last: g.last, index: g.index})
		}
	}
	hint := s.hint
	s.mu.Unlock()

	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	r := reading{maxRecs: maxRecs, maxBytes: maxBytes}
	for _, v := range views {
		from := max(start, v.first)
		off := offsetIn(v, from)
		if hint.path == v.g.path && hint.seq == from {
			off = hint.off
		}
		sc := newScanner(v.g.f, v.size, off, *bp)
		done, err := r.scan(sc, from)
		*bp = sc.buf[:0]
		if err != nil {
			return nil, fmt.Errorf("read the telemetry outbox %s after record %d: %w", v.g.path, from-1, err)
		}
		if done {
			s.setHint(readHint{path: v.g.path, seq: r.nextSeq, off: r.nextOff})
			break
		}
		start = v.last + 1
	}
	return r.out, nil
}

// offsetIn is where to scan from for record seq in v.
func offsetIn(v segView, seq uint64) int64 {
	g := segment{index: v.index}
	return g.offsetOf(seq)
}

func (s *Spool) setHint(h readHint) {
	s.mu.Lock()
	s.hint = h
	s.mu.Unlock()
}

// reading collects the records of one Read.
type reading struct {
	maxRecs, maxBytes int
	out               []Record
	arena             []byte
	bytes             int
	nextSeq           uint64 // when full: the record that did not fit
	nextOff           int64  // and its offset
}

// take adds a record unless the Read is full, and reports whether it did.
func (r *reading) take(seq uint64, data []byte) bool {
	if len(r.out) == r.maxRecs || len(r.out) > 0 && r.bytes+len(data) > r.maxBytes {
		return false
	}
	if r.arena == nil {
		r.arena = make([]byte, 0, min(r.maxBytes, 64<<10))
	}
	r.arena = append(r.arena, data...)
	r.out = append(r.out, Record{Seq: seq, Data: r.arena[len(r.arena)-len(data) : len(r.arena) : len(r.arena)]})
	r.bytes += len(data)
	return true
}

// scan takes the records ≥ from of one segment; done is true when the
// Read is full.
func (r *reading) scan(sc *scanner, from uint64) (done bool, err error) {
	for {
		off := sc.off
		seq, data, err := sc.next()
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if seq < from {
			continue
		}
		if !r.take(seq, data) {
			r.nextSeq, r.nextOff = seq, off
			return true, nil
		}
	}
}

// readChunks reads from the tail in memory.
func readChunks(chunks []tailChunk, start uint64, maxRecs, maxBytes int) []Record {
	r := reading{maxRecs: maxRecs, maxBytes: maxBytes}
	for _, c := range chunks {
		for b := c.b; len(b) > 0; {
			seq, data, n, err := parseRecord(b)
			if err != nil {
				// Written by this process a moment ago: cannot happen.
				panic(fmt.Sprintf("telemetry outbox: a record in memory is damaged: %v", err))
			}
			b = b[n:]
			if seq < start {
				continue
			}
			if !r.take(seq, data) {
				return r.out
			}
		}
	}
	return r.out
}

// Wait returns when a record after the sequence number after is pending
// (at once if there is one), when ctx ends (its error), or when the spool
// is closed (ErrClosed).
func (s *Spool) Wait(ctx context.Context, after uint64) error {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return ErrClosed
		}
		if s.next-1 > max(after, s.st.floor()) {
			s.mu.Unlock()
			return nil
		}
		ch := s.notify
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		case <-s.closing:
		}
	}
}
