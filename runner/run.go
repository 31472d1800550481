package runner

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/pty"
)

// readSize is the most one terminal read, and so one frame, carries.
const readSize = 32 << 10

// result is how a run ended.
type result struct {
	started  bool
	exit     pty.ExitStatus
	finished time.Time
	reason   string // why the run could not complete, if it could not
}

// execute runs the execution to its end; it is the run goroutine's body.
func (e *Execution) execute() {
	res := e.play()
	if e.log != nil {
		if err := e.log.Close(); err != nil {
			e.r.log.Error("close execution log", "execution", e.id, "err", err)
		}
	}
	if res.finished.IsZero() {
		res.finished = e.r.cfg.Now()
	}
	sigReason := e.signalReason(res.exit.Signal)
	timedOut := e.hasTimedOut()
	e.r.log.Debug("execution ended", "execution", e.id, "job", e.spec.Job,
		"started", res.started, "code", res.exit.Code, "signal", res.exit.Signal, "reason", res.reason)
	e.end(func(s *runlet.Execution) {
		s.Finished = res.finished
		s.Status, s.ExitCode = runlet.StatusFinished, res.exit.Code
		if res.started {
			s.Signal = res.exit.Signal
		} else {
			s.ExitCode = -1
		}
		switch {
		case res.reason != "":
			s.Status, s.Reason = runlet.StatusError, res.reason
		case s.Signal != "":
			s.Status, s.Reason = runlet.StatusError, sigReason
		case timedOut:
			// It left by itself once stopped: ended by the timeout all
			// the same.
			s.Status, s.Reason = runlet.StatusError, runlet.TimedOut(e.spec.Timeout)
		}
	})
}

// play writes the log and the script file, runs the script in a terminal
// and copies its output into frames until it ends.
func (e *Execution) play() result {
	log, err := e.r.cfg.Logs.Create(e.id)
	if err != nil {
		return result{reason: cannotRecord(err)}
	}
	e.mu.Lock()
	e.log = log
	e.mu.Unlock()

	script, err := writeScript(e.r.cfg.TempDir, e.spec.Script)
	if err != nil {
		return e.unstarted(err.Error())
	}
	defer func() {
		if err := os.Remove(script); err != nil {
			e.r.log.Error("remove script file", "execution", e.id, "err", err)
		}
	}()

	argv := append(slices.Clone(e.spec.Entrypoint), script)
	if e.spec.Entrypoint == nil {
		argv = append(defaultEntrypoint(), script)
	}
	if err := e.publish([]byte("λ " + commandLine(argv) + "\r\n")); err != nil {
		return result{reason: cannotRecord(err)}
	}
	dir := e.spec.Cwd
	if dir == "" {
		dir = e.r.defaultCwd()
	}
	if reason := checkDir(dir); reason != "" {
		return e.unstarted(reason)
	}
	if e.stopAsked() {
		return e.unstarted(e.unstartedReason())
	}
	e.mu.Lock()
	size := e.size
	e.mu.Unlock()
	term, err := pty.Start(pty.Command{Argv: argv, Dir: dir, Env: e.env(), Size: size})
	if err != nil {
		return e.unstarted(fmt.Sprintf("cannot start the job: %v", err))
	}
	typed := e.attach(term, size)
	defer func() {
		// Closing the terminal ends a write of the typed-ahead input that
		// the job never read.
		term.Close()
		<-typed
	}()
	res := e.follow(term)
	e.detach()
	e.publishEnd(res)
	return res
}

// unstarted tells the viewers why the job did not start.
func (e *Execution) unstarted(reason string) result {
	_ = e.publish([]byte("runlet: " + reason + "\r\n"))
	return result{reason: reason}
}

// attach makes the running terminal reachable for input, resize and
// signals, and types the input given before the start. The returned channel
// is closed once that input is written (or its write failed); Input waits
// for it, so that nothing overtakes what was typed ahead.
func (e *Execution) attach(term *pty.Terminal, size runlet.Size) <-chan struct{} {
	e.inMu.Lock()
	e.mu.Lock()
	e.term = term
	e.state.Status = runlet.StatusRunning
	e.state.Started = e.r.cfg.Now()
	e.startTimeout(term)
	resize := e.size != size // Resize came while starting
	size = e.size
	typed := e.typedAhead
	e.typedAhead = nil
	snap := e.state
	e.mu.Unlock()
	if resize {
		_ = term.Resize(size)
	}
	written := make(chan struct{})
	if len(typed) == 0 {
		e.inMu.Unlock()
		close(written)
	} else {
		// On its own goroutine: a job that does not read its input must
		// not keep the run goroutine from reading its output.
		go e.typeIn(term, typed, written)
	}
	e.r.cfg.OnStatus(snap)
	e.applyRequests(term)
	return written
}

// typeIn writes the input typed ahead, then lets Input go on (attach locked
// inMu) and closes written.
func (e *Execution) typeIn(term *pty.Terminal, typed []byte, written chan<- struct{}) {
	defer close(written)
	defer e.inMu.Unlock()
	if _, err := term.Write(typed); err != nil {
		e.r.log.Debug("the input typed before the start did not all reach the job", "execution", e.id, "bytes", len(typed), "err", err)
	}
}

// detach ends input, resize and signals, the process having ended.
func (e *Execution) detach() {
	e.mu.Lock()
	e.term = nil
	if e.stopTimer != nil {
		e.stopTimer.Stop()
	}
	if e.timer != nil {
		e.timer.Stop()
	}
	e.mu.Unlock()
}

// follow publishes the terminal's output until it ends and returns how the
// process ended. A frame that cannot be recorded kills the job: no viewer
// may see output the log lacks.
func (e *Execution) follow(term *pty.Terminal) result {
	type waited struct {
		st  pty.ExitStatus
		err error
	}
	exited := make(chan waited, 1)
	go func() {
		st, err := term.Wait()
		exited <- waited{st, err}
	}()
	var reason string
	buf := make([]byte, readSize)
	for {
		n, err := term.Read(buf)
		if n > 0 {
			if perr := e.publishOutput(bytes.Clone(buf[:n])); perr != nil {
				reason = cannotRecord(perr)
				_ = term.Signal(pty.Kill)
				break
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			reason = fmt.Sprintf("cannot read the terminal: %v", err)
			_ = term.Signal(pty.Kill)
			break
		}
	}
	w := <-exited
	if w.err != nil && reason == "" {
		reason = w.err.Error()
	}
	return result{started: true, exit: w.st, finished: e.r.cfg.Now(), reason: reason}
}

// publishEnd adds the exit lines (R-JOB-5).
func (e *Execution) publishEnd(res result) {
	line := fmt.Sprintf("\r\nExited with code: %d\r\n", res.exit.Code)
	if res.exit.Signal != "" {
		line = fmt.Sprintf("\r\nExited with code: %d (killed by %s)\r\n", res.exit.Code, res.exit.Signal)
	}
	if e.hasTimedOut() {
		line += "runlet: " + runlet.TimedOut(e.spec.Timeout) + "\r\n"
	}
	if err := e.publish([]byte(line)); err != nil {
		return
	}
	if e.spec.ShowDuration {
		d := res.finished.Sub(e.State().Started).Round(time.Millisecond)
		_ = e.publish([]byte(fmt.Sprintf("Duration: %s\r\n", d)))
	}
}

func (e *Execution) signalReason(sig string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.closing:
		return "runner closed"
	case e.timedOut:
		return runlet.TimedOut(e.spec.Timeout)
	case e.killReq:
		return runlet.ReasonKilled + " (" + sig + ")"
	case e.stopReq:
		return runlet.ReasonStopped + " (" + sig + ")"
	}
	return "ended by " + sig
}

// env is the runner's environment plus the terminal type, the execution's
// identity and the spec's additions; later entries win.
func (e *Execution) env() []string {
	env := append(os.Environ(),
		"TERM=xterm-256color",
		"RUNLET_EXECUTION_ID="+e.id,
		"RUNLET_JOB="+e.spec.Job,
		"RUNLET_CLIENT="+e.spec.Client,
		"RUNLET_DEVICE="+e.spec.Device,
	)
	return append(env, e.spec.Env...)
}

// writeScript writes the script to a new file only its owner can read, and
// returns its path.
func writeScript(dir, script string) (string, error) {
	f, err := os.CreateTemp(dir, "runlet_*"+scriptExt)
	if err != nil {
		return "", fmt.Errorf("cannot write the script file: %w", err)
	}
	_, werr := f.WriteString(scriptText(script))
	cerr := f.Close()
	merr := os.Chmod(f.Name(), 0o700)
	if err := errors.Join(werr, cerr, merr); err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("cannot write the script file: %w", err)
	}
	return f.Name(), nil
}

// checkDir says what is wrong with a working directory, if anything.
func checkDir(dir string) string {
	if dir == "" {
		return ""
	}
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Sprintf("the working directory %s does not exist", dir)
	case err != nil:
		return fmt.Sprintf("cannot use the working directory: %v", err)
	case !fi.IsDir():
		return fmt.Sprintf("the working directory %s is not a directory", dir)
	}
	return ""
}

// commandLine shows argv as one line, quoting arguments a reader would
// otherwise split.
func commandLine(argv []string) string {
	parts := make([]string, len(argv))
	for i, a := range argv {
		if a == "" || strings.ContainsAny(a, " \t\"'") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		parts[i] = a
	}
	return strings.Join(parts, " ")
}
