package runner

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/pty"
)

// Execution is one run of a job in the runner. Its status follows
// Pending → Running → Finished or Error:
//
//   - Finished: the script ran and exited by itself, whatever its exit code
//     (a non-zero code is the job's answer, not a failure of the run).
//   - Error: the run could not complete: it could not start (bad cwd,
//     missing entrypoint), it was stopped before starting, a signal ended it
//     (stop, kill, or a crash: Signal names it), or the runner closed. Reason
//     says which in words.
//
// Killed is set as soon as a stop or kill is asked for, whatever follows.
type Execution struct {
	r    *Runner
	id   string
	spec Spec
	done chan struct{}

	queued bool // in r.queue; guarded by r.mu

	// inMu orders the writes to the terminal: the input typed ahead goes
	// first (attach holds inMu until it is written), then each Input.
	inMu sync.Mutex

	mu         sync.Mutex
	state      runlet.Execution
	size       runlet.Size   // applied when the terminal starts, then followed
	term       *pty.Terminal // set while the process runs
	stopReq    bool
	killReq    bool
	closing    bool // the runner is closing
	stopTimer  *time.Timer
	timer      *time.Timer // the job's timeout (Spec.Timeout), from its start
	timedOut   bool        // the timeout stopped it
	log        FrameWriter // set once the log is created
	ring       ring
	lastSeq    uint64
	framesDone bool          // lastSeq is the last frame there will be
	wake       chan struct{} // closed and replaced when a frame comes or the frames end
	typedAhead []byte        // input given before the terminal exists, in order
	aheadFull  bool          // input typed ahead passed MaxTypeAhead: drop it until the start
	resized    bool          // the running terminal's size changed: a margin reset is due (resize.go)
}

func newExecution(r *Runner, s Spec) *Execution {
	return &Execution{
		r:          r,
		id:         s.ID,
		spec:       s,
		done:       make(chan struct{}),
		size:       s.Size,
		typedAhead: bytes.Clone(s.Input),
		ring:       ring{max: r.cfg.RingBytes},
		wake:       make(chan struct{}),
		state: runlet.Execution{
			ID:      s.ID,
			Job:     s.Job,
			Client:  s.Client,
			Device:  s.Device,
			Status:  runlet.StatusPending,
			Created: r.cfg.Now(),
		},
	}
}

// ID is the execution's id.
func (e *Execution) ID() string { return e.id }

// State returns a copy of the execution's current status.
func (e *Execution) State() runlet.Execution {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.state
}

// Done is closed when the execution has ended, its last frame is out and
// OnStatus has been told.
func (e *Execution) Done() <-chan struct{} { return e.done }

// LastSeq is the sequence number of the latest frame, 0 before the first.
func (e *Execution) LastSeq() uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.lastSeq
}

// LogPath is the execution's log file, or "" if it never started one or
// its log is not a file of FileLogs (Config.Logs).
func (e *Execution) LogPath() string {
	if l := fileOf(e.logWriter()); l != nil {
		return l.Path()
	}
	return ""
}

func (e *Execution) logWriter() FrameWriter {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.log
}

// Frames returns a cursor that replays the frames from sequence number from
// (1, or 0, means from the start) and then follows the live ones.
func (e *Execution) Frames(from uint64) *Cursor {
	return &Cursor{e: e, next: max(from, 1)}
}

// Input sends p to the terminal, as typed keys (0x03 is Ctrl-C). It may
// block while the terminal's input buffer is full. Before the start (the
// execution waits in the queue, or its process is starting) p is kept, up
// to MaxTypeAhead bytes in all, and typed in order as soon as the terminal
// exists, as ssh does with keys typed ahead; what never starts drops it.
// ECONFLICT: the execution has ended (or its process has), or it has not
// started and the input typed ahead passed MaxTypeAhead (p is dropped, and
// so is what follows until the start).
func (e *Execution) Input(p []byte) error {
	e.inMu.Lock()
	defer e.inMu.Unlock()
	e.mu.Lock()
	term := e.term
	if term == nil {
		err := e.typeAhead(p)
		e.mu.Unlock()
		return err
	}
	e.mu.Unlock()
	if _, err := term.Write(p); err != nil {
		if errors.Is(err, os.ErrClosed) {
			return e.notRunning()
		}
		return fmt.Errorf("input to execution %s: %w", e.id, err)
	}
	return nil
}

// MaxTypeAhead is how much input an execution keeps before its start.
const MaxTypeAhead = 64 << 10

// typeAhead keeps p for the start of the terminal. Call with e.mu, the
// terminal not attached.
func (e *Execution) typeAhead(p []byte) error {
	if e.state.Status != runlet.StatusPending {
		return e.notRunning()
	}
	// Once input was dropped, so is what follows until the start: keys
	// with a hole in the middle could do what nobody typed.
	if e.aheadFull || len(e.typedAhead)+len(p) > MaxTypeAhead {
		if !e.aheadFull {
			e.aheadFull = true
			e.r.log.Warn("input typed before the job started passes the most kept; dropping input until it starts",
				"execution", e.id, "kept", len(e.typedAhead), "most", MaxTypeAhead)
		}
		return runlet.Errorf(runlet.ECONFLICT, "execution %s has not started and its input typed ahead passed the %d bytes kept; input is dropped until it starts", e.id, MaxTypeAhead)
	}
	e.typedAhead = append(e.typedAhead, p...)
	return nil
}

// Resize sets the terminal size; before the start it sets the first size.
// EINVALID: a zero size; ECONFLICT: the execution has ended.
func (e *Execution) Resize(s runlet.Size) error {
	if s.Cols == 0 || s.Rows == 0 {
		return runlet.Errorf(runlet.EINVALID, "terminal size %dx%d: both must be at least 1", s.Cols, s.Rows)
	}
	e.mu.Lock()
	ended := e.state.Status.Final()
	// Before the new size reaches the job: what it draws for that size
	// must come after the margin reset (resize.go).
	e.resized = e.resized || (e.term != nil && !ended && e.size != s)
	e.size = s
	term := e.term
	e.mu.Unlock()
	if ended {
		return runlet.Errorf(runlet.ECONFLICT, "execution %s has ended", e.id)
	}
	if term == nil {
		return nil
	}
	if err := term.Resize(s); err != nil && !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("resize execution %s: %w", e.id, err)
	}
	return nil
}

// Stop asks the execution to end: SIGTERM to its process group, then
// SIGKILL after Config.StopGrace. A pending execution leaves the queue and
// ends as Error ("stopped before it started"). ECONFLICT: it has ended.
func (e *Execution) Stop() error { return e.request(false) }

// Kill ends the execution at once: SIGKILL to its process group. A pending
// execution leaves the queue. ECONFLICT: it has ended.
func (e *Execution) Kill() error { return e.request(true) }

func (e *Execution) request(kill bool) error {
	r := e.r
	r.mu.Lock()
	e.mu.Lock()
	if e.state.Status.Final() {
		e.mu.Unlock()
		r.mu.Unlock()
		return runlet.Errorf(runlet.ECONFLICT, "execution %s has ended", e.id)
	}
	e.state.Killed = true
	if kill {
		e.killReq = true
	} else {
		e.stopReq = true
	}
	dequeued := r.dequeue(e)
	term := e.term
	if term != nil && !kill {
		e.startStopTimer(term)
	}
	e.mu.Unlock()
	r.mu.Unlock()

	switch {
	case dequeued:
		e.endUnstarted(e.unstartedReason())
		return nil
	case term == nil:
		return nil // starting: the request is applied once the process runs
	}
	sig := pty.Terminate
	if kill {
		sig = pty.Kill
	}
	if err := term.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("%s execution %s: %w", sig, e.id, err)
	}
	return nil
}

// startStopTimer arranges the SIGKILL that follows a stop. Call with e.mu.
func (e *Execution) startStopTimer(term *pty.Terminal) {
	if e.stopTimer != nil {
		return
	}
	e.stopTimer = time.AfterFunc(e.r.cfg.StopGrace, func() {
		// ErrProcessDone: it ended within the grace.
		_ = term.Signal(pty.Kill)
	})
}

// startTimeout arms the job's timeout (Spec.Timeout) as its process
// starts. Call with e.mu.
func (e *Execution) startTimeout(term *pty.Terminal) {
	if e.spec.Timeout <= 0 {
		return
	}
	e.timer = time.AfterFunc(e.spec.Timeout, func() { e.timeOut(term) })
}

// timeOut stops a job that ran past its timeout, as Stop does (SIGTERM,
// SIGKILL after the grace), unless it is ending already.
func (e *Execution) timeOut(term *pty.Terminal) {
	e.mu.Lock()
	if e.term != term || e.stopReq || e.killReq || e.closing {
		e.mu.Unlock()
		return
	}
	e.timedOut = true
	e.startStopTimer(term)
	e.mu.Unlock()
	e.r.log.Info("execution timed out; stopping it", "execution", e.id, "timeout", e.spec.Timeout)
	_ = term.Signal(pty.Terminate)
}

// hasTimedOut reports whether the timeout stopped the job.
func (e *Execution) hasTimedOut() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.timedOut
}

// applyRequests acts on a stop, kill or close asked while the process was
// starting.
func (e *Execution) applyRequests(term *pty.Terminal) {
	e.mu.Lock()
	kill, stop := e.killReq || e.closing, e.stopReq
	if stop && !kill {
		e.startStopTimer(term)
	}
	e.mu.Unlock()
	switch {
	case kill:
		_ = term.Signal(pty.Kill)
	case stop:
		_ = term.Signal(pty.Terminate)
	}
}

func (e *Execution) stopAsked() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stopReq || e.killReq || e.closing
}

func (e *Execution) unstartedReason() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.closing:
		return "runner closed"
	case e.killReq:
		return runlet.ReasonKilledBeforeStart
	}
	return runlet.ReasonStoppedBeforeStart
}

// closeRunner kills the execution because the runner closes.
func (e *Execution) closeRunner() {
	e.mu.Lock()
	if e.state.Status.Final() {
		e.mu.Unlock()
		return
	}
	e.closing = true
	term := e.term
	e.mu.Unlock()
	if term != nil {
		_ = term.Signal(pty.Kill)
	}
}

func (e *Execution) notRunning() error {
	return runlet.Errorf(runlet.ECONFLICT, "execution %s is not running", e.id)
}

// endUnstarted ends an execution that never ran its process.
func (e *Execution) endUnstarted(reason string) {
	e.end(func(s *runlet.Execution) {
		s.Status, s.ExitCode, s.Reason = runlet.StatusError, -1, reason
		s.Finished = e.r.cfg.Now()
	})
}

// end applies the final transition, releases the ring (frames now come from
// the log), wakes cursors and reports the status. Only the first call counts.
func (e *Execution) end(final func(*runlet.Execution)) {
	e.mu.Lock()
	if e.state.Status.Final() {
		e.mu.Unlock()
		return
	}
	final(&e.state)
	e.typedAhead = nil // dies with an execution that never started
	e.framesDone = true
	e.ring = ring{}
	close(e.wake)
	snap := e.state
	e.mu.Unlock()
	e.r.cfg.OnStatus(snap)
	close(e.done) // after OnStatus: whoever waits on Done sees it reported
}

// publish records data as the next frame, then shows it to cursors. Only
// the execution's run goroutine calls it.
func (e *Execution) publish(data []byte) error {
	fr := Frame{Seq: e.lastSeq + 1, Time: e.r.cfg.Now(), Data: data}
	if err := e.log.WriteFrame(fr); err != nil {
		return err
	}
	e.mu.Lock()
	e.ring.add(fr)
	e.lastSeq = fr.Seq
	close(e.wake)
	e.wake = make(chan struct{})
	e.mu.Unlock()
	return nil
}
