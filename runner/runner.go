// Package runner is the device-side executor: a FIFO queue with a
// parallelism limit feeds executions that run a job's script in a
// pseudo-terminal, record its output as numbered frames in a log (a file by
// default; Config.Logs), and let any number of viewers replay and follow
// those frames while input, resize, stop and kill reach the job (R-JOB-3..6,
// R-JOB-8, R-INT-3). It knows nothing of the bus or the server.
package runner

import (
	"crypto/rand"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/runlet/runlet"
)

// Config configures a Runner; zero values pick the defaults.
type Config struct {
	// Parallel is how many executions run at once; 0 means runtime.NumCPU().
	Parallel int
	// LogDir is where each execution's log file (<id>.log) goes. Required
	// unless Logs is set.
	LogDir string
	// Logs writes each execution's log and reads it back for replay; nil
	// means FileLogs{Dir: LogDir}.
	Logs LogStore
	// TempDir is where script files go; "" means os.TempDir().
	TempDir string
	// DefaultCwd is where a job without a Spec.Cwd runs; "" means the home
	// directory of the user the runner runs as (HomeDir), as `ssh host
	// cmd` runs there, never the directory the runner was started from.
	DefaultCwd string
	// StopGrace is how long Stop waits after SIGTERM before SIGKILL; 0
	// means 10s.
	StopGrace time.Duration
	// RingBytes is how much recent output each running execution keeps in
	// memory for viewers; 0 means 1 MiB. Older frames come from the log.
	RingBytes int
	Logger    *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// OnStatus is called after every transition of an execution (Pending,
	// Running, then Finished or Error), in order for each execution and
	// from no lock; it must not block long.
	OnStatus func(runlet.Execution)
}

const (
	defaultStopGrace = 10 * time.Second
	defaultRingBytes = 1 << 20
)

// Runner runs executions, at most Config.Parallel at once, the others
// waiting in the order they came.
type Runner struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	closed  bool
	queue   []*Execution
	running int
	execs   map[string]*Execution

	wg sync.WaitGroup // one per run goroutine
}

// New checks cfg and creates LogDir if needed.
func New(cfg Config) (*Runner, error) {
	switch {
	case cfg.LogDir == "" && cfg.Logs == nil:
		return nil, runlet.Errorf(runlet.EINVALID, "runner: a log directory is required")
	case cfg.Parallel < 0:
		return nil, runlet.Errorf(runlet.EINVALID, "runner: parallelism %d is negative; use 0 for one per CPU", cfg.Parallel)
	case cfg.StopGrace < 0:
		return nil, runlet.Errorf(runlet.EINVALID, "runner: stop grace %s is negative", cfg.StopGrace)
	case cfg.RingBytes < 0:
		return nil, runlet.Errorf(runlet.EINVALID, "runner: ring size %d is negative", cfg.RingBytes)
	}
	if cfg.Parallel == 0 {
		cfg.Parallel = runtime.NumCPU()
	}
	if cfg.TempDir == "" {
		cfg.TempDir = os.TempDir()
	}
	if cfg.StopGrace == 0 {
		cfg.StopGrace = defaultStopGrace
	}
	if cfg.RingBytes == 0 {
		cfg.RingBytes = defaultRingBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.OnStatus == nil {
		cfg.OnStatus = func(runlet.Execution) {}
	}
	if cfg.Logs == nil {
		if err := os.MkdirAll(cfg.LogDir, 0o700); err != nil {
			return nil, fmt.Errorf("runner: create log directory: %w", err)
		}
		cfg.Logs = FileLogs{Dir: cfg.LogDir}
	}
	return &Runner{cfg: cfg, log: cfg.Logger, execs: make(map[string]*Execution)}, nil
}

// Spec is what to run: one execution of a job whose script is already
// rendered.
type Spec struct {
	// ID names the execution and its log file ([A-Za-z0-9._-], at most 128);
	// "" means a generated one.
	ID     string
	Job    string
	Client string
	Device string
	Script string
	// Entrypoint is the program and its first arguments; the script file's
	// path is appended. nil means /bin/bash --login (cmd.exe /c on Windows).
	Entrypoint []string
	// Cwd is the working directory; "" means Config.DefaultCwd.
	Cwd string
	// Env is added to the runner's environment, after TERM and RUNLET_*.
	Env          []string
	ShowDuration bool
	// Timeout is how long the job may run once started: then it is
	// stopped as by Stop (SIGTERM, SIGKILL after Config.StopGrace) and
	// ends in Error, runlet.TimedOut ("timed out after 10m"), without
	// Killed: nobody asked. Time in the queue does not count. 0: no limit.
	Timeout time.Duration
	// Size is the terminal's first size; zero means pty.DefaultSize.
	Size runlet.Size
	// Input is typed into the terminal as soon as it exists, before
	// anything Execution.Input sends: keys that came before the execution
	// (the daemon's, sent before the dispatch was taken). At most
	// MaxTypeAhead bytes, which Execution.Input then shares.
	Input []byte
}

// ValidID says whether id may name an execution and its log file: 1 to 128
// letters, digits, '.', '_' or '-', and neither "." nor "..". (A loop, not a
// regexp: the {1,128} repetition compiled to ~120 KB kept for the life of
// every process that links the runner.)
func ValidID(id string) bool {
	if len(id) == 0 || len(id) > 128 || id == "." || id == ".." {
		return false
	}
	for i := range len(id) {
		switch c := id[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// Enqueue adds an execution of s at the end of the queue. EINVALID: a bad
// ID; ECONFLICT: the ID is taken; EUNAVAILABLE: the runner is closed.
func (r *Runner) Enqueue(s Spec) (*Execution, error) {
	if s.ID == "" {
		s.ID = rand.Text()
	}
	if !ValidID(s.ID) {
		return nil, runlet.Errorf(runlet.EINVALID, "execution id %q: use 1 to 128 letters, digits, '.', '_' or '-'", s.ID)
	}
	if len(s.Input) > MaxTypeAhead {
		return nil, runlet.Errorf(runlet.EINVALID, "execution %s: %d bytes of input typed ahead; at most %d are kept before the start", s.ID, len(s.Input), MaxTypeAhead)
	}
	if s.Size.Cols == 0 || s.Size.Rows == 0 {
		s.Size = runlet.DefaultSize
	}
	e := newExecution(r, s)
	r.mu.Lock()
	switch {
	case r.closed:
		r.mu.Unlock()
		return nil, runlet.Errorf(runlet.EUNAVAILABLE, "the runner is closed")
	case r.execs[s.ID] != nil:
		r.mu.Unlock()
		return nil, runlet.Errorf(runlet.ECONFLICT, "an execution %q exists already", s.ID)
	}
	r.execs[s.ID] = e
	r.mu.Unlock()

	// Pending is reported before the execution can be dequeued, so that
	// Running never reaches OnStatus first.
	r.cfg.OnStatus(e.State())

	r.mu.Lock()
	var reason string
	switch {
	case r.closed:
		reason = "runner closed"
	case e.stopAsked():
		reason = e.unstartedReason()
	default:
		e.queued = true
		r.queue = append(r.queue, e)
		r.dispatch()
	}
	r.mu.Unlock()
	if reason != "" {
		e.endUnstarted(reason)
	}
	return e, nil
}

// Parallel is how many executions run at once: Config.Parallel, or the
// number of CPUs when that was 0.
func (r *Runner) Parallel() int { return r.cfg.Parallel }

// Get returns the execution with that id, or nil.
func (r *Runner) Get(id string) *Execution {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.execs[id]
}

// Remove forgets an ended execution; its log file stays. ENOTFOUND: no such
// execution; ECONFLICT: it has not ended.
func (r *Runner) Remove(id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.execs[id]
	if e == nil {
		return runlet.Errorf(runlet.ENOTFOUND, "no execution %q", id)
	}
	if !e.State().Status.Final() {
		return runlet.Errorf(runlet.ECONFLICT, "execution %q has not ended", id)
	}
	delete(r.execs, id)
	return nil
}

// dispatch starts queued executions while slots are free. Call with r.mu.
func (r *Runner) dispatch() {
	for !r.closed && r.running < r.cfg.Parallel && len(r.queue) > 0 {
		e := r.queue[0]
		r.queue[0] = nil
		r.queue = r.queue[1:]
		e.queued = false
		r.running++
		r.wg.Add(1)
		go r.run(e)
	}
}

// dequeue removes a pending e from the queue; it reports false when e had
// left the queue already. Call with r.mu.
func (r *Runner) dequeue(e *Execution) bool {
	if !e.queued {
		return false
	}
	for i, q := range r.queue {
		if q == e {
			r.queue = append(r.queue[:i], r.queue[i+1:]...)
			break
		}
	}
	e.queued = false
	return true
}

func (r *Runner) run(e *Execution) {
	defer r.wg.Done()
	e.execute()
	r.mu.Lock()
	r.running--
	r.dispatch()
	r.mu.Unlock()
}

// Close kills the executions that run and ends the waiting ones as Error
// ("runner closed"), then waits for every execution to end. Log files stay.
func (r *Runner) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		r.wg.Wait()
		return nil
	}
	r.closed = true
	waiting := r.queue
	r.queue = nil
	var running []*Execution
	for _, e := range r.execs {
		if e.queued {
			e.queued = false
		} else {
			running = append(running, e)
		}
	}
	r.mu.Unlock()

	for _, e := range waiting {
		e.endUnstarted("runner closed")
	}
	for _, e := range running {
		e.closeRunner()
	}
	r.wg.Wait()
	return nil
}

// ReadLog opens the log of execution id for reading from its first frame,
// whether this runner ran it or an earlier one did: the replay of an
// execution the runner no longer holds. EINVALID: a bad id; an error
// wrapping fs.ErrNotExist: no such log.
func (r *Runner) ReadLog(id string) (FrameReader, error) {
	if !ValidID(id) {
		return nil, runlet.Errorf(runlet.EINVALID, "execution id %q: use 1 to 128 letters, digits, '.', '_' or '-'", id)
	}
	return r.cfg.Logs.Open(id)
}
