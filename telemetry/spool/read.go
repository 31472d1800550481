package spool

import (
	"context"
	"errors"
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
//
// A record found damaged on disk (its checksum, or a number out of
// sequence) is skipped with what follows it up to the next readable
// point (an entry of the segment's index, at most IndexEvery bytes on, or
// the segment's end): those records are counted in Stats.Damaged and
// logged at Error, and reading goes on, so that bit rot cannot stop the
// outbox for good. A failed read of the disk is an error.
func (s *Spool) Read(after uint64, maxRecs int, maxBytes int) ([]Record, error) {
	for {
		recs, dmg, err := s.read(after, maxRecs, maxBytes)
		if err != nil || dmg == nil || len(recs) > 0 {
			return recs, err
		}
		if err := s.skipDamage(dmg); err != nil {
			return nil, err
		}
	}
}

// read is one attempt of Read. It stops at a damaged record: with the
// records before it, or with none and the damage to skip.
func (s *Spool) read(after uint64, maxRecs int, maxBytes int) ([]Record, *readDamage, error) {
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
		return nil, nil, ErrClosed
	}
	start := max(after, s.st.floor()) + 1
	if start >= s.next {
		s.mu.Unlock()
		return nil, nil, nil
	}
	if chunks := s.tail.from(start); chunks != nil {
		s.mu.Unlock()
		return readChunks(chunks, start, maxRecs, maxBytes), nil, nil
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
		done, dmg, err := r.scan(sc, from, v.last)
		*bp = sc.buf[:0]
		if err != nil {
			return nil, nil, fmt.Errorf("read the telemetry outbox %s after record %d: %w", v.g.path, from-1, err)
		}
		if dmg != nil {
			dmg.g = v.g
			return r.out, dmg, nil
		}
		if done {
			s.setHint(readHint{path: v.g.path, seq: r.nextSeq, off: r.nextOff})
			break
		}
		start = v.last + 1
	}
	return r.out, nil, nil
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

// scan takes the records ≥ from of one segment, whose last record is
// last; done is true when the Read is full. A record that is not what the
// segment should hold there is returned as damage; err is a failed read.
func (r *reading) scan(sc *scanner, from, last uint64) (done bool, dmg *readDamage, err error) {
	var prev uint64
	for {
		off := sc.off
		seq, data, err := sc.next()
		if err == io.EOF {
			if prev != 0 && prev < last {
				return false, &readDamage{seq: prev + 1, off: off, reason: "the segment ends before its last record"}, nil
			}
			return false, nil, nil
		}
		var ioErr *readError
		if errors.As(err, &ioErr) {
			return false, nil, ioErr.err
		}
		if err == nil && prev != 0 && seq != prev+1 {
			err = fmt.Errorf("record %d follows %d", seq, prev)
		}
		if err != nil {
			want := prev + 1
			if prev == 0 {
				want = from
			}
			return false, &readDamage{seq: want, off: off, reason: err.Error()}, nil
		}
		prev = seq
		if seq < from {
			continue
		}
		if !r.take(seq, data) {
			r.nextSeq, r.nextOff = seq, off
			return true, nil, nil
		}
	}
}

// readDamage is a damaged record a Read found.
type readDamage struct {
	g      *segment
	seq    uint64 // the first record that cannot be read
	off    int64  // where it should start
	reason string
}

// skipDamage moves the drop cursor past a damaged record and what cannot
// be read after it: up to the next entry of the segment's index, whose
// record recovery or the writer saw whole, or to the segment's end.
func (s *Spool) skipDamage(d *readDamage) error {
	s.trimMu.Lock()
	defer s.trimMu.Unlock()
	s.mu.Lock()
	resume := d.g.last + 1
	for _, e := range d.g.index {
		if e.off > d.off && e.seq > d.seq {
			resume = e.seq
			break
		}
	}
	floor := s.st.floor()
	s.mu.Unlock()
	if resume-1 <= floor {
		return nil // acknowledged or dropped meanwhile
	}
	lost := resume - 1 - max(floor, d.seq-1)
	err := s.saveState(func(st *state) {
		st.DroppedThrough = max(st.DroppedThrough, resume-1)
		st.Damaged += lost
	})
	if err != nil {
		return fmt.Errorf("record damage in the telemetry outbox: %w", err)
	}
	s.log.Error("telemetry outbox: a record on disk is damaged; skipped it and the records up to the next readable one",
		"file", d.g.path, "offset", d.off, "reason", d.reason, "lost", lost, "from", d.seq, "resumeAt", resume)
	return nil
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
