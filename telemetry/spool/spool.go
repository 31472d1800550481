package spool

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/internal/atomicfile"
	"github.com/runlet/runlet/internal/lockfile"
)

// Defaults of Options.
const (
	// DefaultMaxBytes holds about 3.8 million readings of ~50 bytes:
	// days of a busy gateway offline (see the package doc, Sizing).
	DefaultMaxBytes = 256 << 20
	// DefaultSegmentBytes is the unit of deletion and of dropping.
	DefaultSegmentBytes = 4 << 20
	// TailBytes bounds the fsynced records kept in memory for a reader
	// that keeps up.
	TailBytes = 1 << 20
)

// Options configure a spool. The zero value is the defaults.
type Options struct {
	// MaxBytes bounds the segments on disk (DefaultMaxBytes when 0).
	MaxBytes int64
	// SegmentBytes is the size at which a new segment is started
	// (DefaultSegmentBytes when 0, at most MaxBytes/2).
	SegmentBytes int64
	// Logger receives the damage recovery found and the drops.
	Logger *slog.Logger
	// Now is the clock of Stats.LastDrop (time.Now when nil).
	Now func() time.Time
}

// Spool is a durable queue of records in a directory. Its methods are
// safe for concurrent use.
type Spool struct {
	dir  string
	opts Options
	log  *slog.Logger
	lock *lockfile.Lock

	reqs       chan *appendReq
	stop       chan struct{}
	writerDone chan struct{}
	inflight   sync.WaitGroup // Appends between their check of closed and their answer
	w          writer         // the writer goroutine's own

	// stateMu serialises the writes of the cursor file.
	stateMu sync.Mutex
	cursor  *cursorFile
	// files is held for reading while a segment's file is read, and for
	// writing to close one.
	files sync.RWMutex

	mu     sync.Mutex // the fields below; a leaf: nothing is taken under it
	closed bool
	broken error // a write that could not be undone: Append refuses
	segs   []*segment
	next   uint64 // seq of the next record once written: all below are durable
	st     state
	disk   int64 // bytes of all segments
	tail   tail
	hint   readHint
	notify chan struct{} // closed and replaced when records are added

	closing chan struct{} // closed by Close
	// trimMu makes a drop (the writer) and an Ack, which both change the
	// cursors and delete segments, take turns.
	trimMu sync.Mutex
	// syncs counts the fsyncs of records, for the benchmarks.
	syncs atomic.Uint64
}

// ErrClosed is the error of a method called after Close.
var ErrClosed = runlet.Errorf(runlet.EUNAVAILABLE, "The telemetry outbox is closed.")

// Open opens the spool in dir, creating it (mode 0700), and recovers what
// a crash left: see the package doc. One process at a time may have a
// directory open: another gets an ECONFLICT error naming the holder.
func Open(dir string, opts Options) (*Spool, error) {
	if err := opts.fill(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create the telemetry outbox %s: %w", dir, err)
	}
	lock, err := lockfile.Acquire(filepath.Join(dir, "LOCK"))
	if err != nil {
		var held *lockfile.HeldError
		if errors.As(err, &held) {
			return nil, runlet.Errorf(runlet.ECONFLICT, "The telemetry outbox %s is in use by %s.", dir, held.Holder())
		}
		return nil, fmt.Errorf("lock the telemetry outbox %s: %w", dir, err)
	}
	s := &Spool{
		dir: dir, opts: opts, log: opts.Logger, lock: lock,
		reqs: make(chan *appendReq, 1024), stop: make(chan struct{}), writerDone: make(chan struct{}),
		notify: make(chan struct{}), closing: make(chan struct{}),
	}
	if err := s.recover(); err != nil {
		s.closeFiles()
		lock.Close()
		return nil, err
	}
	s.w.next = s.next
	s.w.active = s.segs[len(s.segs)-1]
	go s.run()
	return s, nil
}

func (o *Options) fill() error {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = min(DefaultSegmentBytes, o.MaxBytes/2)
	}
	if o.SegmentBytes > o.MaxBytes/2 || o.SegmentBytes < 2*headerSize {
		return runlet.Errorf(runlet.EINVALID, "The telemetry outbox's segments (%d bytes) must be at most half of its bound (%d bytes).", o.SegmentBytes, o.MaxBytes)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

// recover loads the state and the segments, cuts damaged records, deletes
// what is acknowledged or dropped, and makes sure there is an active
// segment.
func (s *Spool) recover() error {
	cur, st, err := openCursor(s.dir)
	if cur == nil {
		return err
	}
	s.cursor = cur
	if err != nil {
		s.log.Error("telemetry outbox: its cursor is damaged; starting from zero", "dir", s.dir, "err", err)
	}
	s.st = st
	bases, err := listSegments(s.dir)
	if err != nil {
		return fmt.Errorf("list the telemetry outbox %s: %w", s.dir, err)
	}
	buf := make([]byte, chunk)
	var after uint64
	var lastCut int64 // bytes cut off the last segment
	for _, base := range bases {
		path := filepath.Join(s.dir, segmentName(base))
		g, dmg, err := loadSegment(path, base, after, buf)
		if err != nil {
			return fmt.Errorf("recover the telemetry outbox: %w", err)
		}
		if dmg != nil {
			s.log.Warn("telemetry outbox: cut a damaged record and what followed it in its segment",
				"file", path, "offset", dmg.off, "bytesCut", dmg.cut, "reason", dmg.reason, "lastGoodSeq", g.last)
		}
		if g.count > 0 {
			after = g.last
		}
		lastCut = 0
		if dmg != nil {
			lastCut = dmg.cut
		}
		s.segs = append(s.segs, g)
		s.disk += g.size
	}
	s.next = s.st.floor() + 1
	if n := len(s.segs); n > 0 {
		last := s.segs[n-1]
		s.next = max(s.next, last.base)
		if last.count > 0 {
			s.next = max(s.next, last.last+1)
		}
		if lastCut > 0 {
			// The bytes cut may have held records whose Append returned
			// (damage, not a torn write): skip as many numbers as they
			// could have held, and write in a new segment, so that no
			// number is given twice and a segment's numbers stay
			// consecutive.
			s.next += uint64((lastCut + headerSize - 1) / headerSize)
			g, err := s.createSegment(s.next)
			if err != nil {
				return err
			}
			s.segs = append(s.segs, g)
		}
	} else {
		g, err := s.createSegment(s.next)
		if err != nil {
			return err
		}
		s.segs = append(s.segs, g)
	}
	for _, g := range s.removable() {
		s.deleteSegment(g)
	}
	return nil
}

// createSegment creates the segment file for base, durably.
func (s *Spool) createSegment(base uint64) (*segment, error) {
	path := filepath.Join(s.dir, segmentName(base))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create a segment of the telemetry outbox: %w", err)
	}
	if err := atomicfile.SyncDir(s.dir); err != nil {
		f.Close()
		return nil, fmt.Errorf("sync the telemetry outbox %s: %w", s.dir, err)
	}
	return &segment{base: base, path: path, f: f}, nil
}

// removable takes out of s.segs, and returns, the segments that hold
// nothing pending, all but the active one. Called under s.mu.
func (s *Spool) removable() []*segment {
	floor := s.st.floor()
	var gone []*segment
	keep := s.segs[:0]
	for i, g := range s.segs {
		if i < len(s.segs)-1 && g.pendingAfter(floor) == 0 {
			gone = append(gone, g)
			s.disk -= g.size
			continue
		}
		keep = append(keep, g)
	}
	clear(s.segs[len(keep):])
	s.segs = keep
	return gone
}

// deleteSegment closes and removes a segment taken out of s.segs; the
// caller holds s.files for writing (or is alone). A failure is logged:
// recovery removes the file next time.
func (s *Spool) deleteSegment(g *segment) {
	g.f.Close()
	if err := os.Remove(g.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Warn("telemetry outbox: could not remove a segment; it will be removed at the next start", "file", g.path, "err", err)
	}
}

// saveState applies change to the state and writes it durably; the state
// in memory changes only once it is on disk.
func (s *Spool) saveState(change func(*state)) error {
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	s.mu.Lock()
	st := s.st
	s.mu.Unlock()
	change(&st)
	if err := s.cursor.write(st); err != nil {
		return err
	}
	s.mu.Lock()
	s.st = st
	s.mu.Unlock()
	return nil
}

// Stats is a spool's state at one moment.
type Stats struct {
	// Pending is the number of records appended and neither acknowledged
	// nor dropped.
	Pending uint64
	// PendingBytes is the bytes on disk of those records, framing
	// included (estimated in the oldest segment, which may hold
	// acknowledged ones too).
	PendingBytes int64
	// DiskBytes is the size of all segments; it stays ≤ MaxBytes.
	DiskBytes int64
	// MaxBytes is the bound.
	MaxBytes int64
	// Acked is the acknowledged cursor: every record ≤ Acked is confirmed.
	Acked uint64
	// Next is the sequence number the next record will get.
	Next uint64
	// Dropped counts the records dropped for lack of room, ever (it
	// survives restarts).
	Dropped uint64
	// Damaged counts the records found damaged on disk by Read and
	// skipped, ever (damage found by Open is logged: see the package doc).
	Damaged uint64
	// LastDrop is when records were last dropped (zero: never).
	LastDrop time.Time
	// Full is true when the spool is at its bound: the next segment will
	// make room by dropping the oldest records.
	Full bool
}

// Stats returns the spool's state now.
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{
		DiskBytes: s.disk, MaxBytes: s.opts.MaxBytes, Acked: s.st.Acked, Next: s.next, Dropped: s.st.Dropped, Damaged: s.st.Damaged,
		Full: s.disk+s.opts.SegmentBytes > s.opts.MaxBytes,
	}
	if s.st.LastDrop != 0 {
		st.LastDrop = time.UnixMilli(s.st.LastDrop)
	}
	floor := s.st.floor()
	for _, g := range s.segs {
		n := g.pendingAfter(floor)
		st.Pending += n
		if n == g.count {
			st.PendingBytes += g.size
		} else if n > 0 {
			st.PendingBytes += int64(float64(g.size) * float64(n) / float64(g.count))
		}
	}
	return st
}

// Dir is the spool's directory.
func (s *Spool) Dir() string { return s.dir }

// Close waits for the Appends under way, stops the writer, closes the
// files and releases the directory. Calls after it fail with ErrClosed;
// closing twice is fine.
func (s *Spool) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.closing)
	s.mu.Unlock()
	s.inflight.Wait()
	close(s.stop)
	<-s.writerDone
	s.files.Lock()
	err := s.closeFiles()
	s.files.Unlock()
	return errors.Join(err, s.lock.Close())
}

func (s *Spool) closeFiles() error {
	var errs []error
	if s.cursor != nil {
		errs = append(errs, s.cursor.close())
	}
	for _, g := range s.segs {
		if err := g.f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close %s: %w", g.path, err))
		}
	}
	return errors.Join(errs...)
}
