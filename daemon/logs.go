package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"filippo.io/age"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/castlog"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/runner"
)

// A run's logs on the device (R-LOG-1, R-LOG-2, docs/security.md). While
// the run is live the runner writes its plaintext frame log (logs/<id>.log,
// 0600) for live replay, as before issue 15, and castLogs writes, frame by
// frame, its encrypted log (logs/<id>.rcast, package castlog) to the
// workspace's active log key. When the run ends the encrypted log is
// closed and its upload queued (uploads.go); once the runner has let the
// run go, its plaintext is removed. A workspace with no log key keeps only
// the plaintext log, and uploads nothing.
//
// A daemon killed mid-run leaves an encrypted log without an index and the
// plaintext beside it: the next daemon completes the first from the second
// (recoverLogs) before it takes new runs, and uploads it as interrupted.

// castLogs is the runner's LogStore: the plaintext log of runner.FileLogs,
// and the encrypted log beside it.
type castLogs struct {
	plain runner.FileLogs
	home  home.Dir
	keys  *logKeys
	queue *uploads
	log   *slog.Logger
	now   func() time.Time
	// device is the device's name, for the logs' headers.
	device string

	mu sync.Mutex
	// expected holds what the daemon knew of a run before the runner
	// created its log (expect).
	expected map[string]castHeader
	// closed are the runs whose encrypted log is complete and queued:
	// their plaintext goes when the runner lets them go (release).
	closed map[string]bool
}

var (
	_ runner.LogStore = (*castLogs)(nil)
	_ runner.PlainLog = (*castWriter)(nil)
)

// castHeader is what a log's header says, kept in its queue entry so
// that a recovery resumes the log with the header it was created with.
type castHeader struct {
	Job       string      `json:"job,omitempty"`
	Size      runlet.Size `json:"size,omitzero"`
	Timestamp time.Time   `json:"timestamp,omitzero"`
}

func (l *castLogs) header(id string, h castHeader) castlog.Header {
	title := l.device
	if h.Job != "" {
		title = h.Job + " on " + l.device
	}
	return castlog.Header{
		Width: int(h.Size.Cols), Height: int(h.Size.Rows), Timestamp: h.Timestamp,
		Title: title, Execution: id, Device: l.device, Job: h.Job,
	}
}

// expect tells the store of a run about to be enqueued, for its log's header.
func (l *castLogs) expect(id, job string, size runlet.Size) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.expected[id] = castHeader{Job: job, Size: size}
}

// Create creates the plaintext log of run id and, when the workspace has
// a log key, its encrypted log. A failure of the encrypted log alone does
// not fail the run: it is logged, and the log is made from the plaintext
// when the run ends, or at the next start.
func (l *castLogs) Create(id string) (runner.FrameWriter, error) {
	pw, err := l.plain.Create(id)
	if err != nil {
		return nil, err
	}
	w := &castWriter{l: l, id: id, plain: pw}
	key := l.keys.current()
	l.mu.Lock()
	h := l.expected[id]
	delete(l.expected, id)
	l.mu.Unlock()
	if !key.encrypts() {
		return w, nil
	}
	// Whole seconds, as the log's header holds it: a recovery resumes
	// with the same.
	h.Timestamp = time.Unix(l.now().Unix(), 0)
	e := upload{Execution: id, Generation: key.Generation, Recipient: key.Recipient, Header: h, Created: l.now()}
	// The entry first: a log on disk always has one, which says what to
	// resume it with.
	if err := l.queue.put(e); err != nil {
		l.log.Error("cannot queue the encrypted log of a run; it keeps only its plaintext log on this device", "execution", id, "err", err)
		return w, nil
	}
	w.entry = &e
	rcp, err := castlog.ParseRecipient(key.Recipient)
	var path string
	if err == nil {
		path, err = l.home.CastPath(id)
	}
	if err == nil {
		w.cast, err = castlog.Create(path, []age.Recipient{rcp}, l.header(id, h))
	}
	if err != nil {
		l.log.Error("cannot start the encrypted log of a run; it is made from the plaintext log when the run ends", "execution", id, "err", err)
		w.failed = true
	}
	return w, nil
}

// Open reads the plaintext log of run id, while it exists.
func (l *castLogs) Open(id string) (runner.FrameReader, error) { return l.plain.Open(id) }

// release is called once the runner no longer holds run id: its
// plaintext log goes if its encrypted log is complete and queued.
func (l *castLogs) release(id string) {
	l.mu.Lock()
	done := l.closed[id]
	delete(l.closed, id)
	delete(l.expected, id)
	l.mu.Unlock()
	if done {
		l.removePlain(id)
	}
}

func (l *castLogs) removePlain(id string) {
	p := l.plain.Path(id)
	if p == "" {
		return
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		l.log.Error("cannot remove the plaintext log of a run whose encrypted log is complete", "execution", id, "path", p, "err", err)
	}
}

// castWriter is the runner's FrameWriter of one run: plaintext first,
// then the encrypted log. Only the run's goroutine calls it.
type castWriter struct {
	l     *castLogs
	id    string
	plain runner.FrameWriter
	entry *upload         // nil: no encrypted log
	cast  *castlog.Writer // nil once it failed
	// failed: the encrypted log lacks frames the plaintext has.
	failed bool
}

// WriteFrame writes fr to the plaintext log, whose error is the run's,
// then to the encrypted log, whose error is only logged (a run is never
// killed for its log): the rest of the run goes to the plaintext only, and
// the encrypted log is completed from it at the end.
func (w *castWriter) WriteFrame(fr runner.Frame) error {
	if err := w.plain.WriteFrame(fr); err != nil {
		return err
	}
	if w.cast == nil {
		return nil
	}
	if err := w.cast.WriteFrame(fr.Seq, fr.Time, fr.Data); err != nil {
		w.l.log.Error("cannot write the encrypted log of a run; it goes on with its plaintext log, from which the encrypted one is completed at its end",
			"execution", w.id, "frame", fr.Seq, "err", err)
		_ = w.cast.Abort()
		w.cast, w.failed = nil, true
	}
	return nil
}

// Close closes the plaintext log, completes the encrypted log and queues
// its upload (R-LOG-2). The plaintext stays until release: cursors of
// the ended run still read it.
func (w *castWriter) Close() error {
	perr := w.plain.Close()
	if w.entry == nil {
		return perr
	}
	l := w.l
	if w.cast != nil {
		if err := w.cast.Close(false); err != nil {
			l.log.Error("cannot complete the encrypted log of a run; it is made again from the plaintext log", "execution", w.id, "err", err)
			w.failed = true
		}
	}
	var err error
	if w.failed {
		err = l.complete(w.id, *w.entry, false)
	} else {
		err = l.queue.ready(*w.entry, runlet.LogUploaded)
	}
	if err != nil {
		l.log.Error("the encrypted log of a run is not complete; the daemon completes it from the plaintext log at its next start", "execution", w.id, "err", err)
		return perr
	}
	l.mu.Lock()
	l.closed[w.id] = true
	l.mu.Unlock()
	return perr
}

// PlainLog is the plaintext log's writer, so that the runner reads old
// frames at their offsets in it (runner.PlainLog).
func (w *castWriter) PlainLog() *runner.LogWriter {
	l, _ := w.plain.(*runner.LogWriter)
	return l
}

// complete makes the encrypted log of run id whole from its plaintext
// log, closes it (interrupted: the run's end was not seen) and queues its
// upload. It serves a log whose writer failed (Close) and the recovery at
// start, when the run is not live. The plaintext stays: the caller
// removes it when no reader needs it.
func (l *castLogs) complete(id string, e upload, interrupted bool) error {
	path, err := l.home.CastPath(id)
	if err != nil {
		return err
	}
	state := runlet.LogUploaded
	if interrupted {
		state = runlet.LogInterrupted
	}
	lg, err := castlog.ScanFile(path)
	switch {
	case err == nil && lg.Complete:
		// Completed by the writer, which died before the rest.
		if lg.Interrupted {
			state = runlet.LogInterrupted
		}
	case err == nil:
		err = l.rewrite(id, path, e, interrupted, true)
	case errors.Is(err, fs.ErrNotExist):
		err = l.rewrite(id, path, e, interrupted, false)
	case runlet.ErrorCode(err) == runlet.EINVALID:
		l.log.Warn("the encrypted log of a run is damaged past resuming; making it again from the plaintext log", "execution", id, "err", err)
		if err = os.Remove(path); err == nil {
			err = l.rewrite(id, path, e, interrupted, false)
		}
	}
	if err != nil {
		return err
	}
	return l.queue.ready(e, state)
}

// rewrite resumes the encrypted log at path (creates it when it does not
// exist), writes the frames of the plaintext log it lacks, and closes it.
func (l *castLogs) rewrite(id, path string, e upload, interrupted, exists bool) error {
	rcp, err := castlog.ParseRecipient(e.Recipient)
	if err != nil {
		return fmt.Errorf("the queued log of %s names no recipient: %w", id, err)
	}
	rcps := []age.Recipient{rcp}
	h := l.header(id, e.Header)
	var w *castlog.Writer
	if exists {
		w, err = castlog.Resume(path, rcps, h)
	} else {
		w, err = castlog.Create(path, rcps, h)
	}
	if err != nil {
		return err
	}
	n, err := l.copyPlain(id, w)
	if err != nil {
		_ = w.Abort()
		return err
	}
	if err := w.Close(interrupted); err != nil {
		return err
	}
	l.log.Info("completed the encrypted log of a run from its plaintext log", "execution", id, "frames", n, "interrupted", interrupted)
	return nil
}

// copyPlain writes to w the frames of the plaintext log of run id that
// come after w.LastSeq(). A torn last frame (a crash mid-write) ends the
// plaintext; a missing plaintext adds nothing.
func (l *castLogs) copyPlain(id string, w *castlog.Writer) (int, error) {
	r, err := l.plain.Open(id)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer r.Close()
	last, n := w.LastSeq(), 0
	for {
		fr, err := r.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				l.log.Debug("the plaintext log ends in a partial frame", "execution", id, "err", err)
			}
			return n, nil
		}
		if fr.Seq <= last {
			continue
		}
		if err := w.WriteFrame(fr.Seq, fr.Time, fr.Data); err != nil {
			return n, err
		}
		n++
	}
}

// recoverLogs completes, before the daemon takes new runs, the encrypted
// logs an earlier daemon left unfinished (R-LOG-1): every log whose queue
// entry says it was being written, and every encrypted log without an
// index; and it removes the plaintext left beside a complete one. No run
// is live yet.
func (l *castLogs) recoverLogs() {
	entries, err := l.queue.list()
	if err != nil {
		l.log.Error("cannot read the queue of log uploads", "err", err)
		return
	}
	queued := map[string]upload{}
	for _, e := range entries {
		queued[e.Execution] = e
		if e.State != "" {
			continue
		}
		if err := l.complete(e.Execution, e, true); err != nil {
			l.log.Error("cannot complete the encrypted log of an interrupted run; tried again at the next start", "execution", e.Execution, "err", err)
			continue
		}
		queued[e.Execution] = upload{State: runlet.LogInterrupted}
	}
	for _, id := range l.castIDs() {
		e, ok := queued[id]
		switch {
		case ok && e.State != "":
			l.removePlain(id) // the daemon died before release
		case !ok:
			l.recoverUnqueued(id)
		}
	}
}

// recoverUnqueued handles an encrypted log that has no queue entry:
// complete and uploaded already (nothing to do), complete with its
// plaintext still there (queued again: the uploader sends nothing twice),
// or unfinished (completed with the active key, its own unknown).
func (l *castLogs) recoverUnqueued(id string) {
	if _, err := os.Stat(l.plain.Path(id)); err != nil {
		return
	}
	path, _ := l.home.CastPath(id)
	lg, err := castlog.ScanFile(path)
	if err == nil && lg.Complete {
		state := runlet.LogUploaded
		if lg.Interrupted {
			state = runlet.LogInterrupted
		}
		key := l.keys.current()
		if err := l.queue.ready(upload{Execution: id, Generation: key.Generation, Recipient: key.Recipient, Created: l.now()}, state); err != nil {
			l.log.Error("cannot queue the upload of a log", "execution", id, "err", err)
			return
		}
		l.removePlain(id)
		return
	}
	key := l.keys.current()
	if !key.encrypts() {
		l.log.Warn("an encrypted log was left unfinished and no log key is known to finish it; it stays as it is", "execution", id)
		return
	}
	e := upload{Execution: id, Generation: key.Generation, Recipient: key.Recipient, Created: l.now()}
	if err := l.complete(id, e, true); err != nil {
		l.log.Error("cannot complete the encrypted log of an interrupted run", "execution", id, "err", err)
		return
	}
	l.removePlain(id)
}

// castIDs are the runs that have an encrypted log in the log directory.
func (l *castLogs) castIDs() []string {
	des, err := os.ReadDir(l.home.LogDir())
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			l.log.Error("cannot list the logs", "dir", l.home.LogDir(), "err", err)
		}
		return nil
	}
	var ids []string
	for _, de := range des {
		id, ok := strings.CutSuffix(de.Name(), ".rcast")
		if ok && de.Type().IsRegular() && runner.ValidID(id) {
			ids = append(ids, id)
		}
	}
	return ids
}

// lastEncrypted is the last frame of the encrypted log of run id; ok is
// false when there is no such log.
func (l *castLogs) lastEncrypted(id string) (last uint64, ok bool) {
	path, err := l.home.CastPath(id)
	if err != nil {
		return 0, false
	}
	lg, err := castlog.ScanFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false
	}
	if err != nil {
		l.log.Warn("the encrypted log of a run is damaged", "execution", id, "err", err)
		return 0, true
	}
	for _, s := range lg.Segments {
		last = max(last, s.LastSeq)
	}
	return last, true
}

// openLogs makes the log store of Run: the log directory, the upload
// queue, and the active key as an earlier daemon knew it.
func (d *Daemon) openLogs() error {
	dir := d.cfg.Home.LogDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("daemon: create the log directory %s: %w", dir, err)
	}
	q, err := openUploads(d.cfg.Home.UploadDir())
	if err != nil {
		return err
	}
	keys := &logKeys{
		path: d.cfg.Home.Path("state", "logkey.json"),
		ask:  func(ctx context.Context) (api.ActiveLogKey, error) { return d.api().ActiveLogKey(ctx) },
		now:  time.Now,
		log:  d.log,
	}
	keys.load()
	d.logs = &castLogs{
		plain:    runner.FileLogs{Dir: dir},
		home:     d.cfg.Home,
		keys:     keys,
		queue:    q,
		log:      d.log,
		now:      d.cfg.Now,
		device:   d.device,
		expected: map[string]castHeader{},
		closed:   map[string]bool{},
	}
	return nil
}
