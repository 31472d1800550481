package castlog

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"sync"
	"time"

	"filippo.io/age"

	"github.com/runlet/runlet"
)

// Writer writes one log file (R-LOG-1): frames go into the open segment's
// text, which is encrypted and appended as one write, then synced, when it
// is full, MaxSegmentAge after its first frame, at Flush and at Close.
// WriteFrame, Flush and Close may be called from different goroutines; the
// age timer seals from its own.
type Writer struct {
	path       string
	recipients []age.Recipient
	maxBytes   int
	maxAge     time.Duration

	mu      sync.Mutex
	f       *os.File
	closed  bool
	base    time.Time // the header's timestamp: event times count from it
	off     int64     // where the next segment goes
	sealed  []Segment // the segments in the file, for the index
	text    []byte    // the open segment's text
	frames  bool      // the open segment holds a frame
	first   uint64    // the open segment's first frame
	start   time.Time // and its time
	lastSeq uint64
	lastT   time.Time // the last frame's time (times never go back)
	carry   []byte    // a character cut short at the end of the last frame
	timer   *time.Timer
	gen     uint64 // counts seals, so that a late timer does not seal the next segment
	retryAt int    // after a failed seal by size, the text length to try again at
	bgErr   error  // the timer's failed seal, for the next caller
	out     bytes.Buffer

	// A segment sealed because it is full or old is synced by a goroutine
	// of its own, so that the frames behind it do not wait for the disk
	// (a kill loses nothing written; a power cut, what was not synced yet).
	// Flush and Close sync before they return.
	syncReq  chan struct{} // nil until the first such seal
	syncDone chan struct{}
	errMu    sync.Mutex
	syncErr  error // the syncer's, for the next caller
	encErr   error // the encoder's, for the next WriteFrame

	in inbox // frames taken by WriteFrame, for the encoder
}

// Create creates the log file at path (mode 0600, failing if it exists)
// with the header line in its first segment, encrypting to recipients. A
// zero h.Timestamp is now; it counts in whole seconds, as asciicast's does.
func Create(path string, recipients []age.Recipient, h Header) (*Writer, error) {
	if len(recipients) == 0 {
		return nil, runlet.Errorf(runlet.EINVALID, "create log %s: no recipient to encrypt to", path)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, writeFailed(path, fmt.Errorf("create log: %w", err))
	}
	w := newWriter(path, f, recipients)
	if err := w.start0(h); err != nil {
		f.Close()
		return nil, err
	}
	return w, nil
}

// Resume opens the log at path that a dead writer left without an index:
// it cuts a torn tail off, and appends after its last whole segment. Its
// LastSeq says which frames the caller must write again (from the
// plaintext frame log). h must be the header the log was created with:
// the first segment holds it encrypted, and event times count from its
// Timestamp. A log that has no whole segment at all is started anew with
// h. A complete log (one with an index) is refused, EINVALID.
func Resume(path string, recipients []age.Recipient, h Header) (*Writer, error) {
	if len(recipients) == 0 {
		return nil, runlet.Errorf(runlet.EINVALID, "resume log %s: no recipient to encrypt to", path)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("resume log: %w", err)
	}
	w, err := resume(path, f, recipients, h)
	if err != nil {
		f.Close()
		return nil, err
	}
	return w, nil
}

func resume(path string, f *os.File, recipients []age.Recipient, h Header) (*Writer, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("resume log: %w", err)
	}
	l, err := Scan(f, fi.Size())
	if err != nil {
		return nil, fmt.Errorf("resume log %s: %w", path, err)
	}
	if l.Complete {
		return nil, runlet.Errorf(runlet.EINVALID, "resume log %s: the log is complete (it has an index): nothing to resume", path)
	}
	w := newWriter(path, f, recipients)
	if len(l.Segments) == 0 {
		if err := f.Truncate(0); err != nil {
			return nil, writeFailed(path, fmt.Errorf("resume log %s: %w", path, err))
		}
		return w, w.start0(h)
	}
	last := l.Segments[len(l.Segments)-1]
	w.off = last.Offset + last.Length
	if w.off != fi.Size() {
		if err := f.Truncate(w.off); err != nil {
			return nil, writeFailed(path, fmt.Errorf("resume log %s: cut the torn tail: %w", path, err))
		}
		if err := f.Sync(); err != nil {
			return nil, writeFailed(path, fmt.Errorf("resume log %s: %w", path, err))
		}
	}
	w.sealed = l.Segments
	w.base = normalize(h).Timestamp
	w.lastT = w.base
	for _, s := range l.Segments {
		if s.hasFrames() {
			w.lastSeq, w.lastT = s.LastSeq, s.End
		}
	}
	w.in.lastSeq = w.lastSeq
	return w, nil
}

func newWriter(path string, f *os.File, recipients []age.Recipient) *Writer {
	return &Writer{
		path:       path,
		f:          f,
		recipients: recipients,
		maxBytes:   MaxSegmentBytes,
		maxAge:     MaxSegmentAge,
	}
}

// start0 writes the magic to an empty file and puts h's line in the first
// segment's text.
func (w *Writer) start0(h Header) error {
	if _, err := w.f.WriteAt([]byte(magic), 0); err != nil {
		return writeFailed(w.path, fmt.Errorf("write log %s: %w", w.path, err))
	}
	h = normalize(h)
	w.off = int64(len(magic))
	w.base, w.lastT = h.Timestamp, h.Timestamp
	w.text = appendHeaderLine(w.text, h)
	return nil
}

// setLimits changes when segments are sealed (tests).
func (w *Writer) setLimits(maxBytes int, maxAge time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.maxBytes, w.maxAge = maxBytes, maxAge
}

// WriteFrame adds frame seq (which must follow the last one written) at
// time t. It only queues the frame: the Writer's own goroutine encodes it
// and seals the segment when it is full, so that the caller (the runner's
// terminal reader) does not wait for JSON or encryption; WriteFrame
// encodes and seals itself only when the queue holds more than a
// segment's worth (the goroutine is behind: the caller is slowed down
// rather than memory growing). Times never go back: a frame earlier than
// the one before (a clock set back) takes its time. An error of an earlier
// frame's encoding or seal (a full disk) is returned by a later call; the
// frames stay in memory and are sealed once the disk has room.
func (w *Writer) WriteFrame(seq uint64, t time.Time, data []byte) error {
	w.in.mu.Lock()
	switch {
	case w.in.closed:
		w.in.mu.Unlock()
		return fmt.Errorf("write log %s: %w", w.path, os.ErrClosed)
	case seq != w.in.lastSeq+1:
		want := w.in.lastSeq + 1
		w.in.mu.Unlock()
		return runlet.Errorf(runlet.EINVALID, "write log %s: frame %d out of order, want %d", w.path, seq, want)
	}
	w.in.lastSeq = seq
	start := len(w.in.buf)
	w.in.buf = append(w.in.buf, data...)
	w.in.frames = append(w.in.frames, queued{seq: seq, t: t, start: start, end: len(w.in.buf)})
	behind := len(w.in.buf) > w.maxBytes
	if w.in.wake == nil {
		w.in.wake, w.in.done = make(chan struct{}, 1), make(chan struct{})
		go w.encoder(w.in.wake, w.in.done)
	}
	wake := w.in.wake
	w.in.mu.Unlock()
	if behind {
		w.mu.Lock()
		w.drainLocked()
		err := w.takeErr()
		w.mu.Unlock()
		return err
	}
	select {
	case wake <- struct{}{}:
	default: // the encoder is asked already
	}
	w.errMu.Lock()
	err := w.encErr
	w.encErr = nil
	w.errMu.Unlock()
	return err
}

// queued is a frame WriteFrame took and the encoder has not: its data is
// in.buf[start:end].
type queued struct {
	seq        uint64
	t          time.Time
	start, end int
}

// inbox is the queue between WriteFrame and the encoder.
type inbox struct {
	mu      sync.Mutex
	closed  bool
	lastSeq uint64 // the last frame taken
	frames  []queued
	buf     []byte // the queued frames' data
	spare   []byte // a drained buf, for reuse
	wake    chan struct{}
	done    chan struct{}
}

// encoder drains the inbox each time it is woken, until wake is closed.
func (w *Writer) encoder(wake <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	for range wake {
		w.mu.Lock()
		w.drainLocked()
		if err := w.takeErr(); err != nil {
			w.errMu.Lock()
			if w.encErr == nil {
				w.encErr = err
			}
			w.errMu.Unlock()
		}
		w.mu.Unlock()
	}
}

// stopEncoder stops the encoder (the caller holds no lock) and refuses
// frames from then on.
func (w *Writer) stopEncoder() {
	w.in.mu.Lock()
	w.in.closed = true
	wake, done := w.in.wake, w.in.done
	w.in.wake = nil
	w.in.mu.Unlock()
	if wake != nil {
		close(wake)
		<-done
	}
}

// drainLocked encodes the queued frames into the open segment, sealing it
// each time it is full. A failed seal keeps the text (it is sealed later)
// and is kept in bgErr for the next caller.
func (w *Writer) drainLocked() {
	w.in.mu.Lock()
	frames, buf := w.in.frames, w.in.buf
	w.in.frames, w.in.buf = nil, w.in.spare[:0]
	w.in.spare = nil
	w.in.mu.Unlock()
	for _, q := range frames {
		if err := w.encodeLocked(q.seq, q.t, buf[q.start:q.end]); err != nil && w.bgErr == nil {
			w.bgErr = err
		}
	}
	w.in.mu.Lock()
	if w.in.spare == nil && cap(buf) <= 4*w.maxBytes {
		w.in.spare = buf[:0]
	}
	w.in.mu.Unlock()
}

// encodeLocked adds one frame to the open segment's text and seals it
// when full.
func (w *Writer) encodeLocked(seq uint64, t time.Time, data []byte) error {
	if t.Before(w.lastT) {
		t = w.lastT
	}
	if len(w.carry) > 0 {
		data = append(w.carry, data...)
		w.carry = nil
	}
	whole, rest := splitIncomplete(data)
	if len(rest) > 0 {
		w.carry = append([]byte(nil), rest...)
	}
	w.text = appendEvent(w.text, seq, t.Sub(w.base), whole)
	if !w.frames {
		w.frames, w.first, w.start = true, seq, t
		gen := w.gen
		w.timer = time.AfterFunc(w.maxAge, func() { w.sealByAge(gen) })
	}
	w.lastSeq, w.lastT = seq, t
	if len(w.text) >= w.maxBytes && len(w.text) >= w.retryAt {
		if err := w.seal(); err != nil {
			w.retryAt = len(w.text) + w.maxBytes
			return err
		}
		w.syncLater()
	}
	return nil
}

// sealByAge is the timer's: it seals segment gen unless it is sealed.
func (w *Writer) sealByAge(gen uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed || w.gen != gen || !w.frames {
		return
	}
	if err := w.seal(); err != nil {
		w.bgErr = err
		w.timer = time.AfterFunc(w.maxAge, func() { w.sealByAge(gen) })
		return
	}
	w.syncLater()
}

// syncLater has the syncer sync the file soon.
func (w *Writer) syncLater() {
	if w.syncReq == nil {
		w.syncReq, w.syncDone = make(chan struct{}, 1), make(chan struct{})
		go w.syncer(w.syncReq, w.syncDone)
	}
	select {
	case w.syncReq <- struct{}{}:
	default: // a sync is asked for already, and covers this write
	}
}

// syncer syncs the file when asked, until stopSyncer.
func (w *Writer) syncer(req <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	for range req {
		if err := w.f.Sync(); err != nil {
			w.errMu.Lock()
			if w.syncErr == nil {
				w.syncErr = writeFailed(w.path, fmt.Errorf("sync log %s: %w", w.path, err))
			}
			w.errMu.Unlock()
		}
	}
}

// stopSyncer waits for the syncer to be done, before the file is closed.
func (w *Writer) stopSyncer() {
	if w.syncReq != nil {
		close(w.syncReq)
		<-w.syncDone
		w.syncReq = nil
	}
}

// takeErr returns, once, a failure of the timer's seal or of the syncer.
// A failed seal keeps its text, which the next seal writes; a failed sync
// may have lost what it synced, and is always reported.
func (w *Writer) takeErr() error {
	err := w.bgErr
	w.bgErr = nil
	w.errMu.Lock()
	if err == nil {
		err = w.syncErr
	}
	w.syncErr = nil
	w.errMu.Unlock()
	return err
}

// LastSeq is the last frame written (sealed or not); 0 before any.
func (w *Writer) LastSeq() uint64 {
	w.in.mu.Lock()
	defer w.in.mu.Unlock()
	return w.in.lastSeq
}

// Flush seals the open segment, if it holds any frame, and syncs the file.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return fmt.Errorf("flush log %s: %w", w.path, os.ErrClosed)
	}
	w.bgErr = nil // the timer's failed seal is tried again here
	w.errMu.Lock()
	w.encErr = nil
	w.errMu.Unlock()
	w.drainLocked()
	w.bgErr = nil
	if w.frames {
		if err := w.seal(); err != nil {
			return err
		}
	}
	if err := w.f.Sync(); err != nil {
		return writeFailed(w.path, fmt.Errorf("sync log %s: %w", w.path, err))
	}
	return w.takeErr()
}

// Close seals the open segment (the first one even without frames: it
// holds the header line), writes the index (interrupted: the run's end was
// not seen) and syncs and closes the file. The file is closed even when
// Close fails; the log is then one without an index, as after a crash.
func (w *Writer) Close(interrupted bool) error {
	w.stopEncoder()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return fmt.Errorf("close log %s: %w", w.path, os.ErrClosed)
	}
	w.drainLocked()
	w.bgErr = nil // the timer's failed seal is tried again by finish
	w.errMu.Lock()
	w.encErr = nil
	w.errMu.Unlock()
	err := w.finish(interrupted)
	w.closed = true
	w.stopTimer()
	w.stopSyncer()
	if serr := w.takeErr(); err == nil {
		err = serr
	}
	if cerr := w.f.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close log %s: %w", w.path, cerr)
	}
	return err
}

func (w *Writer) finish(interrupted bool) error {
	if w.frames || len(w.sealed) == 0 {
		if err := w.seal(); err != nil {
			return err
		}
	}
	idx := appendIndex(nil, w.sealed, interrupted, w.off)
	if _, err := w.f.WriteAt(idx, w.off); err != nil {
		_ = w.f.Truncate(w.off)
		return writeFailed(w.path, fmt.Errorf("write the index of log %s: %w", w.path, err))
	}
	w.off += int64(len(idx))
	if err := w.f.Sync(); err != nil {
		return writeFailed(w.path, fmt.Errorf("sync log %s: %w", w.path, err))
	}
	return nil
}

// Abort closes the file as it is, without sealing or indexing: what a
// crash would leave (tests, and a run whose log cannot go on).
func (w *Writer) Abort() error {
	w.stopEncoder()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	w.stopTimer()
	w.stopSyncer()
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("close log %s: %w", w.path, err)
	}
	return nil
}

// Path is the file's path.
func (w *Writer) Path() string { return w.path }

func (w *Writer) stopTimer() {
	if w.timer != nil {
		w.timer.Stop()
		w.timer = nil
	}
}

// seal encrypts the open segment's text and appends header and ciphertext
// in one write; the caller syncs, now or later. On failure the text stays, to be sealed later, and
// what was written of the segment is cut off.
func (w *Writer) seal() error {
	seg := Segment{Offset: w.off}
	if w.frames {
		seg.FirstSeq, seg.LastSeq, seg.Start, seg.End = w.first, w.lastSeq, w.start, w.lastT
	}
	w.out.Reset()
	w.out.Write(make([]byte, headerLen))
	enc, err := age.Encrypt(&w.out, w.recipients...)
	if err != nil {
		return fmt.Errorf("encrypt log %s: %w", w.path, err)
	}
	if _, err := enc.Write(w.text); err != nil {
		return fmt.Errorf("encrypt log %s: %w", w.path, err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("encrypt log %s: %w", w.path, err)
	}
	b := w.out.Bytes()
	ctLen := len(b) - headerLen
	if uint64(ctLen) > 0xFFFFFFFF {
		return runlet.Errorf(runlet.EINVALID, "write log %s: a segment of %d bytes is too large", w.path, ctLen)
	}
	seg.Length = int64(len(b))
	appendSegHeader(b[:0], seg.header())
	if _, err := w.f.WriteAt(b, w.off); err != nil {
		_ = w.f.Truncate(w.off)
		return writeFailed(w.path, fmt.Errorf("write log %s: %w", w.path, err))
	}
	w.off += seg.Length
	w.sealed = append(w.sealed, seg)
	w.text = w.text[:0]
	w.frames, w.first, w.start = false, 0, time.Time{}
	w.retryAt = 0
	w.gen++
	w.stopTimer()
	return nil
}

// appendIndex appends the index of segs, which starts at at.
func appendIndex(b []byte, segs []Segment, interrupted bool, at int64) []byte {
	b = append(b, indexMagic...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(segs)))
	var flags uint32
	if interrupted {
		flags |= flagInterrupt
	}
	b = binary.BigEndian.AppendUint32(b, flags)
	for _, s := range segs {
		b = binary.BigEndian.AppendUint64(b, uint64(s.Offset))
		b = appendRange(b, s.header())
	}
	b = binary.BigEndian.AppendUint64(b, uint64(at))
	return append(b, trailerMagic...)
}

// writeFailed names a full disk in err, an error writing the log at path.
func writeFailed(path string, err error) error {
	if runlet.IsDiskFull(err) {
		return runlet.DiskFull("the run log at "+path, err)
	}
	return err
}
