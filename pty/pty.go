// Package pty starts a process attached to a pseudo-terminal: on Unix a
// pty pair (github.com/creack/pty), on Windows a ConPTY pseudo console. The
// runner uses it to give jobs a real terminal, so colours, cursor motion and
// full-screen programs work (R-JOB-4).
package pty

import (
	"io"

	"github.com/runlet/runlet"
)

// Command is what to start in the terminal.
type Command struct {
	// Argv is the program and its arguments; Argv[0] is looked up in PATH
	// when it has no path separator.
	Argv []string
	// Dir is the working directory; empty means the current one.
	Dir string
	// Env is the whole environment; nil means the current one.
	Env  []string
	Size runlet.Size
}

// Signal is a way of asking the terminal's processes to end.
type Signal int

const (
	// Interrupt is Ctrl-C: SIGINT to the foreground process group on Unix,
	// a CTRL_C_EVENT on Windows.
	Interrupt Signal = iota
	// Terminate asks every process of the terminal to end: SIGTERM to the
	// process group on Unix, a close of the pseudo console (CTRL_CLOSE_EVENT)
	// on Windows.
	Terminate
	// Kill ends every process of the terminal at once: SIGKILL to the process
	// group on Unix, TerminateJobObject on Windows.
	Kill
)

func (s Signal) String() string {
	switch s {
	case Interrupt:
		return "interrupt"
	case Terminate:
		return "terminate"
	case Kill:
		return "kill"
	}
	return "unknown"
}

// ExitStatus is how the terminal's main process ended.
type ExitStatus struct {
	// Code is the exit code, or -1 when the process was ended by a signal.
	Code int
	// Signal names the signal that ended the process ("SIGKILL"), if any.
	Signal string
}

// terminal is the API every platform's Terminal provides; the assertion
// below keeps the platforms in step.
type terminal interface {
	io.ReadWriteCloser
	// Resize changes the window size; the program sees SIGWINCH (Unix) or a
	// console resize (Windows).
	Resize(runlet.Size) error
	// Signal sends s to the terminal's process group (Unix) or job (Windows).
	Signal(Signal) error
	// Wait waits for the main process to end and returns how it ended. Read
	// keeps returning buffered output until EOF after that.
	Wait() (ExitStatus, error)
	// Pid is the main process's id.
	Pid() int
}

var _ terminal = (*Terminal)(nil)
