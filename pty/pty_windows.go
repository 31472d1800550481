package pty

// The Windows terminal is a ConPTY pseudo console (Windows 10 1809+).
//
// Lifetimes. Start creates two anonymous pipes and the pseudo console, and
// closes the pipe ends the console host now holds. The program is created
// suspended, attached to the console, put in a job object (kill on close) and
// only then resumed, so that every process it starts is in the job. A watcher
// goroutine waits for the program to exit, records its exit code and then
// closes the pseudo console: ConPTY keeps the output pipe open for as long as
// the console exists, so this is what makes Read reach io.EOF once the last
// frame has been read. Close kills the job, closes both pipes (which also
// unblocks a Read or Write in flight, and a ClosePseudoConsole waiting for
// its output to be read, as it does before Windows 11 24H2), closes the
// console, waits for the watcher and releases the handles.
//
// Known limit: on Windows 10 1809 and Server 2019 (build 17763) the console
// host has been seen to drop the last output of a program that writes and
// exits at once, when the console is closed before it has rendered that
// output (oven-sh/bun#34694). Later builds are not known to.
//
// Signals. A console has no signals, only control events, and
// GenerateConsoleCtrlEvent reaches only processes on the caller's own
// console, which a pseudo console is not. So:
//   - Interrupt writes Ctrl-C (0x03) to the input, which the console host
//     turns into CTRL_C_EVENT for the programs that have not asked for raw
//     input, just like a key press.
//   - Terminate closes the pseudo console: every process attached to it gets
//     CTRL_CLOSE_EVENT and is ended by Windows when its handler returns or a
//     few seconds later. Processes of the job that left the console live on
//     until Kill or Close.
//   - Kill is TerminateJobObject: the whole tree ends at once.
//
// Exit status. Wait reports the exit code as Windows does. Processes ended by
// Kill, or by a control event (STATUS_CONTROL_C_EXIT), are reported as on
// Unix: Code -1 and Signal "SIGKILL", "SIGTERM" or "SIGINT".

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"github.com/runlet/runlet"
	"golang.org/x/sys/windows"
)

// killExitCode is the exit code TerminateJobObject gives the processes it
// ends; os.Process.Kill uses the same.
const killExitCode = 1

// Bits of Terminal.sent: the signals we have sent, to explain an exit code.
const (
	sentInterrupt uint32 = 1 << iota
	sentTerminate
	sentKill
)

// Terminal is a process running in a ConPTY pseudo console.
type Terminal struct {
	in, out *os.File       // our ends of the console's input and output pipes
	process windows.Handle // the main process
	job     windows.Handle // every process of the terminal
	pid     int
	sent    atomic.Uint32

	mu      sync.Mutex
	console windows.Handle // the HPCON; 0 once closed
	closed  bool           // process and job handles released

	consoleOnce sync.Once
	exited      chan struct{} // closed when status and waitErr are set
	status      ExitStatus
	waitErr     error
	done        chan struct{} // closed when the watcher has returned

	closeOnce sync.Once
	closeErr  error
}

// Start starts c in a new pseudo console.
func Start(c Command) (*Terminal, error) {
	p, err := prepare(c)
	if err != nil {
		return nil, err
	}
	con, err := newPseudoConsole(consoleSize(c.Size))
	if err != nil {
		return nil, err
	}
	t, err := launch(con, p)
	if err != nil {
		con.close()
		return nil, fmt.Errorf("start %s: %w", c.Argv[0], err)
	}
	go t.watch()
	return t, nil
}

// launch creates the process of p in con and puts it in a new job. On error
// it has released everything but con.
func launch(con *pseudoConsole, p process) (*Terminal, error) {
	job, err := newJob()
	if err != nil {
		return nil, err
	}
	pi, err := createProcess(con.handle, p)
	if err != nil {
		closeHandles(job)
		return nil, err
	}
	defer closeHandles(pi.Thread)
	if err := windows.AssignProcessToJobObject(job, pi.Process); err != nil {
		_ = windows.TerminateProcess(pi.Process, killExitCode)
		closeHandles(pi.Process, job)
		return nil, fmt.Errorf("put the process in a job object: %w", err)
	}
	if _, err := windows.ResumeThread(pi.Thread); err != nil {
		_ = windows.TerminateJobObject(job, killExitCode)
		closeHandles(pi.Process, job)
		return nil, fmt.Errorf("resume the process: %w", err)
	}
	return &Terminal{
		in:      con.in,
		out:     con.out,
		console: con.handle,
		process: pi.Process,
		job:     job,
		pid:     int(pi.ProcessId),
		exited:  make(chan struct{}),
		done:    make(chan struct{}),
	}, nil
}

// consoleSize is s, or DefaultSize when s has no rows or no columns, as on
// Unix: a console cannot have either.
func consoleSize(s runlet.Size) runlet.Size {
	if s.Cols == 0 || s.Rows == 0 {
		return runlet.DefaultSize
	}
	return s
}

// watch waits for the main process to end, records how, and closes the
// pseudo console so that Read reaches EOF after the last output. It returns
// once the console is closed, which Close forces.
func (t *Terminal) watch() {
	defer close(t.done)
	t.status, t.waitErr = t.waitProcess()
	close(t.exited)
	t.closeConsole()
}

func (t *Terminal) waitProcess() (ExitStatus, error) {
	if _, err := windows.WaitForSingleObject(t.process, windows.INFINITE); err != nil {
		return ExitStatus{Code: -1}, fmt.Errorf("wait for process %d: %w", t.pid, err)
	}
	var code uint32
	if err := windows.GetExitCodeProcess(t.process, &code); err != nil {
		return ExitStatus{Code: -1}, fmt.Errorf("exit code of process %d: %w", t.pid, err)
	}
	return exitStatus(code, t.sent.Load()), nil
}

// exitStatus explains code given the signals sent.
func exitStatus(code uint32, sent uint32) ExitStatus {
	switch {
	case sent&sentKill != 0 && code == killExitCode:
		return ExitStatus{Code: -1, Signal: "SIGKILL"}
	case code == uint32(windows.STATUS_CONTROL_C_EXIT) && sent&sentTerminate != 0:
		return ExitStatus{Code: -1, Signal: "SIGTERM"}
	case code == uint32(windows.STATUS_CONTROL_C_EXIT):
		return ExitStatus{Code: -1, Signal: "SIGINT"}
	}
	return ExitStatus{Code: int(code)}
}

// closeConsole closes the pseudo console once; every caller returns only
// when it is closed. Before Windows 11 24H2 that waits until the console's
// last output has been read or the output pipe closed.
func (t *Terminal) closeConsole() {
	t.consoleOnce.Do(func() {
		t.mu.Lock()
		hpc := t.console
		t.console = 0 // Resize must not use a closed HPCON: it is freed memory
		t.mu.Unlock()
		windows.ClosePseudoConsole(hpc)
	})
}

// Read reads the console's output: UTF-8 text and VT sequences. It returns
// io.EOF once the main process has ended and all output has been read.
func (t *Terminal) Read(p []byte) (int, error) { return t.out.Read(p) }

// Write types p into the console: UTF-8 text and VT input sequences ("\r"
// is Enter, "\x1b[A" the up arrow).
func (t *Terminal) Write(p []byte) (int, error) { return t.in.Write(p) }

// Resize changes the console's size; programs see a buffer size change.
func (t *Terminal) Resize(s runlet.Size) error {
	if s.Cols == 0 || s.Rows == 0 {
		return fmt.Errorf("resize terminal to %dx%d: a console needs at least one row and one column", s.Cols, s.Rows)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.console == 0 {
		return fmt.Errorf("resize terminal: %w", os.ErrClosed)
	}
	if err := windows.ResizePseudoConsole(t.console, coord(s)); err != nil {
		return fmt.Errorf("resize terminal to %dx%d: %w", s.Cols, s.Rows, err)
	}
	return nil
}

// Signal asks the terminal's processes to end; see the top of this file for
// what each signal does on Windows. Once the main process has ended it
// returns os.ErrProcessDone, as on Unix; Kill still ends what is left of
// the job first.
func (t *Terminal) Signal(s Signal) error {
	if t.hasExited() {
		if s == Kill {
			_ = t.kill()
		}
		return os.ErrProcessDone
	}
	switch s {
	case Interrupt:
		t.sent.Or(sentInterrupt)
		if _, err := t.in.Write([]byte{0x03}); err != nil {
			return fmt.Errorf("send Ctrl-C to process %d: %w", t.pid, err)
		}
		return nil
	case Terminate:
		t.sent.Or(sentTerminate)
		// Not waited for: closing may wait for the output to be read, and
		// the caller may be the one who reads it. Close waits for it.
		go t.closeConsole()
		return nil
	case Kill:
		return t.kill()
	}
	return fmt.Errorf("signal process %d: unknown signal %d", t.pid, int(s))
}

// kill ends every process of the job.
func (t *Terminal) kill() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil // Close has killed the job and released its handle
	}
	select {
	case <-t.exited:
	default:
		t.sent.Or(sentKill) // so Wait reports SIGKILL, not exit code 1
	}
	jobErr := windows.TerminateJobObject(t.job, killExitCode)
	if jobErr == nil {
		return nil
	}
	// Only the main process, then: better than nothing.
	if err := windows.TerminateProcess(t.process, killExitCode); err != nil && !t.hasExited() {
		return fmt.Errorf("kill process %d: %w", t.pid, errors.Join(jobErr, err))
	}
	return fmt.Errorf("kill the processes started by process %d: %w", t.pid, jobErr)
}

func (t *Terminal) hasExited() bool {
	select {
	case <-t.exited:
		return true
	default:
		return false
	}
}

// Wait waits for the main process to end and returns how it ended.
func (t *Terminal) Wait() (ExitStatus, error) {
	<-t.exited
	return t.status, t.waitErr
}

// Pid is the main process's id.
func (t *Terminal) Pid() int { return t.pid }

// Close kills every process of the terminal that is still running and
// releases the console, the pipes and the handles. Wait still answers after
// Close; Read and Write fail.
func (t *Terminal) Close() error {
	t.closeOnce.Do(func() { t.closeErr = t.release() })
	return t.closeErr
}

func (t *Terminal) release() error {
	killErr := t.kill()
	// The pipes first: it unblocks a ClosePseudoConsole waiting for its
	// output to be read, in the watcher or here.
	inErr := t.in.Close()
	outErr := t.out.Close()
	t.closeConsole()
	<-t.done

	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	jobErr := windows.CloseHandle(t.job)
	procErr := windows.CloseHandle(t.process)
	if err := errors.Join(killErr, inErr, outErr, jobErr, procErr); err != nil {
		return fmt.Errorf("close terminal of process %d: %w", t.pid, err)
	}
	return nil
}
