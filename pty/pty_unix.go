//go:build !windows

package pty

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	creack "github.com/creack/pty"
	"github.com/runlet/runlet"
	"golang.org/x/sys/unix"
)

// drainIdle is how long Read waits for more output once the main process
// has ended. The pty reports end of file as soon as every process holding
// the terminal has closed it; a leftover background process that keeps it
// open (nohup …&) would otherwise hold the reader forever.
const drainIdle = 2 * time.Second

// Terminal is a process running in a new session whose controlling terminal
// is a pty; its process group is the session, so signals reach every process
// the job started unless one moved itself to another group.
type Terminal struct {
	cmd    *exec.Cmd
	master *os.File

	waitOnce sync.Once
	exited   chan struct{} // closed when the main process has been reaped
	status   ExitStatus
	waitErr  error
}

// Start starts c in a new session with a pty as its controlling terminal.
func Start(c Command) (*Terminal, error) {
	if len(c.Argv) == 0 {
		return nil, errors.New("start terminal: no program given")
	}
	size := c.Size
	if size.Cols == 0 || size.Rows == 0 {
		size = runlet.DefaultSize
	}
	cmd := exec.Command(c.Argv[0], c.Argv[1:]...)
	cmd.Dir = c.Dir
	cmd.Env = c.Env
	// StartWithSize sets Setsid and Setctty: the child leads a new session
	// and process group, with the pty's slave as controlling terminal.
	m, err := creack.StartWithSize(cmd, &creack.Winsize{Cols: size.Cols, Rows: size.Rows})
	if err != nil {
		return nil, fmt.Errorf("start %s in a terminal: %w", c.Argv[0], err)
	}
	master, err := pollable(m)
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("start %s in a terminal: %w", c.Argv[0], err)
	}
	return &Terminal{cmd: cmd, master: master, exited: make(chan struct{})}, nil
}

// pollable returns the pty master as a non-blocking file served by the Go
// poller, and closes m. creack/pty hands the master back in blocking mode
// (its ioctls go through File.Fd), where Close does not interrupt a Read and
// read deadlines do not work; both are needed to end the reader cleanly.
func pollable(m *os.File) (*os.File, error) {
	defer m.Close()
	fd, err := unix.FcntlInt(m.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("duplicate pty master: %w", err)
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("make pty master non-blocking: %w", err)
	}
	return os.NewFile(uintptr(fd), m.Name()), nil
}

// Read reads the terminal's output. It returns io.EOF once the main process
// has ended and the output it left is drained (Linux reports that as EIO).
func (t *Terminal) Read(p []byte) (int, error) {
	if t.hasExited() {
		// Best effort: without poller support (some BSD ttys) Read blocks
		// until the last process closes the terminal.
		_ = t.master.SetReadDeadline(time.Now().Add(drainIdle))
	}
	n, err := t.master.Read(p)
	switch {
	case err == nil:
		return n, nil
	case errors.Is(err, syscall.EIO):
		return n, io.EOF
	case errors.Is(err, os.ErrDeadlineExceeded) && t.hasExited():
		return n, io.EOF
	}
	return n, err
}

// Write sends input to the terminal, as keys typed on it.
func (t *Terminal) Write(p []byte) (int, error) { return t.master.Write(p) }

// Close closes the pty master; processes still attached get a hangup.
func (t *Terminal) Close() error { return t.master.Close() }

// Resize sets the window size; the foreground process gets SIGWINCH.
func (t *Terminal) Resize(s runlet.Size) error {
	ws := &unix.Winsize{Row: s.Rows, Col: s.Cols}
	return t.control(func(fd int) error { return unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, ws) })
}

// Pid is the main process's id; it also names its process group.
func (t *Terminal) Pid() int { return t.cmd.Process.Pid }

// Signal sends s: Interrupt to the terminal's foreground process group (as
// Ctrl-C would), Terminate and Kill to the main process's group. It returns
// os.ErrProcessDone once the main process has been reaped, as its group id
// may then be reused.
func (t *Terminal) Signal(s Signal) error {
	if t.hasExited() {
		return os.ErrProcessDone
	}
	pgid := t.cmd.Process.Pid
	var sig syscall.Signal
	switch s {
	case Interrupt:
		return t.interrupt()
	case Terminate:
		sig = syscall.SIGTERM
	case Kill:
		sig = syscall.SIGKILL
	default:
		return fmt.Errorf("signal terminal: unknown signal %d", s)
	}
	if err := syscall.Kill(-pgid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("send %s to process group %d: %w", unix.SignalName(sig), pgid, err)
	}
	return nil
}

// interrupt sends SIGINT to the foreground process group, which may be a
// program the shell started with job control; it types Ctrl-C when the
// group cannot be asked for.
func (t *Terminal) interrupt() error {
	var pgrp int
	err := t.control(func(fd int) (err error) {
		pgrp, err = unix.IoctlGetInt(fd, unix.TIOCGPGRP)
		return err
	})
	if err != nil || pgrp <= 0 {
		_, err = t.master.Write([]byte{0x03})
		return err
	}
	if err := syscall.Kill(-pgrp, syscall.SIGINT); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("send SIGINT to process group %d: %w", pgrp, err)
	}
	return nil
}

// Wait waits for the main process to end. Calling it again returns the same.
func (t *Terminal) Wait() (ExitStatus, error) {
	t.waitOnce.Do(func() {
		err := t.cmd.Wait()
		var exit *exec.ExitError
		switch {
		case err == nil:
			t.status = ExitStatus{Code: 0}
		case errors.As(err, &exit):
			t.status = exitStatus(exit.ProcessState)
		default:
			t.status, t.waitErr = ExitStatus{Code: -1}, fmt.Errorf("wait for process %d: %w", t.Pid(), err)
		}
		close(t.exited)
		// Wake a Read blocked with no deadline, so it starts counting the
		// drain time.
		_ = t.master.SetReadDeadline(time.Now().Add(drainIdle))
	})
	return t.status, t.waitErr
}

func exitStatus(ps *os.ProcessState) ExitStatus {
	ws, ok := ps.Sys().(syscall.WaitStatus)
	if ok && ws.Signaled() {
		return ExitStatus{Code: -1, Signal: unix.SignalName(ws.Signal())}
	}
	return ExitStatus{Code: ps.ExitCode()}
}

func (t *Terminal) hasExited() bool {
	select {
	case <-t.exited:
		return true
	default:
		return false
	}
}

// Echoes reports whether the terminal echoes what is typed (the ECHO flag
// of the terminal's modes): a test that types a password waits until the
// program has turned it off, as a person sees the prompt only then.
func (t *Terminal) Echoes() (bool, error) {
	var echo bool
	err := t.control(func(fd int) error {
		tio, err := unix.IoctlGetTermios(fd, getTermios)
		if err != nil {
			return err
		}
		echo = tio.Lflag&unix.ECHO != 0
		return nil
	})
	return echo, err
}

// control runs fn on the master's descriptor without taking it out of
// non-blocking mode (File.Fd would).
func (t *Terminal) control(fn func(fd int) error) error {
	rc, err := t.master.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}
