//go:build !windows

package pty_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/pty"
)

// output collects everything a terminal prints, read by one goroutine until
// end of file.
type output struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	err  error
	more chan struct{} // closed and replaced on every read
	eof  chan struct{}
}

func collect(t *testing.T, term *pty.Terminal) *output {
	o := &output{more: make(chan struct{}), eof: make(chan struct{})}
	go func() {
		defer close(o.eof)
		p := make([]byte, 4096)
		for {
			n, err := term.Read(p)
			o.mu.Lock()
			o.buf.Write(p[:n])
			if err != nil {
				o.err = err
			}
			close(o.more)
			o.more = make(chan struct{})
			o.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		term.Close()
		<-o.eof
	})
	return o
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// waitFor waits until the output contains s.
func (o *output) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		o.mu.Lock()
		found, more := strings.Contains(o.buf.String(), s), o.more
		o.mu.Unlock()
		if found {
			return
		}
		select {
		case <-more:
		case <-deadline:
			t.Fatalf("no %q in the output after 20s; output so far:\n%q", s, o.String())
		}
	}
}

// end waits for end of file and returns how the reader stopped.
func (o *output) end(t *testing.T) error {
	t.Helper()
	select {
	case <-o.eof:
	case <-time.After(20 * time.Second):
		t.Fatalf("no end of file after 20s; output so far:\n%q", o.String())
	}
	return o.err
}

func start(t *testing.T, script string) (*pty.Terminal, *output) {
	t.Helper()
	term, err := pty.Start(pty.Command{Argv: []string{"/bin/sh", "-c", script}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = term.Signal(pty.Kill); _, _ = term.Wait() })
	return term, collect(t, term)
}

func wait(t *testing.T, term *pty.Terminal) pty.ExitStatus {
	t.Helper()
	st, err := term.Wait()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestColoursAndExitCode(t *testing.T) {
	term, out := start(t, `printf '\033[31mred\033[0m\n'; exit 7`)
	if err := out.end(t); err != io.EOF {
		t.Fatalf("reader ended with %v, want io.EOF", err)
	}
	if got, want := out.String(), "\x1b[31mred\x1b[0m\r\n"; got != want {
		t.Errorf("output %q, want %q", got, want)
	}
	if st := wait(t, term); st != (pty.ExitStatus{Code: 7}) {
		t.Errorf("exit status %+v, want code 7", st)
	}
	if st := wait(t, term); st.Code != 7 {
		t.Errorf("second Wait gave %+v", st)
	}
	if err := term.Signal(pty.Kill); !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("Signal after exit: %v, want os.ErrProcessDone", err)
	}
}

func TestAllOutputDrained(t *testing.T) {
	const lines = 200000
	term, out := start(t, "yes | head -n "+strconv.Itoa(lines))
	go func() { _, _ = term.Wait() }() // the reader must not depend on who waits first
	if err := out.end(t); err != io.EOF {
		t.Fatalf("reader ended with %v", err)
	}
	if got, want := out.String(), strings.Repeat("y\r\n", lines); got != want {
		t.Errorf("got %d bytes, want %d", len(got), len(want))
	}
}

func TestDefaultSizeAndResize(t *testing.T) {
	term, out := start(t, `stty size; echo ready; read x; stty size`)
	out.waitFor(t, "ready")
	if !strings.HasPrefix(out.String(), "24 80\r\n") {
		t.Errorf("initial size line %q, want 24 80", out.String())
	}
	if err := term.Resize(runlet.Size{Cols: 123, Rows: 45}); err != nil {
		t.Fatal(err)
	}
	if _, err := term.Write([]byte("\r")); err != nil {
		t.Fatal(err)
	}
	out.waitFor(t, "45 123")
	wait(t, term)
}

// interruptible loops on short sleeps: a SIGINT that reaches the shell
// between "echo ready" and the fork of a long sleep would wait for that sleep
// to end before the trap runs.
const interruptible = `trap 'echo got INT; exit 3' INT; echo ready; while :; do sleep 0.1; done`

func TestInterruptReachesForegroundGroup(t *testing.T) {
	term, out := start(t, interruptible)
	out.waitFor(t, "ready")
	if err := term.Signal(pty.Interrupt); err != nil {
		t.Fatal(err)
	}
	out.waitFor(t, "got INT")
	if st := wait(t, term); st.Code != 3 {
		t.Errorf("exit status %+v, want code 3", st)
	}
}

func TestCtrlCByteInterrupts(t *testing.T) {
	term, out := start(t, interruptible)
	out.waitFor(t, "ready")
	if _, err := term.Write([]byte{0x03}); err != nil {
		t.Fatal(err)
	}
	out.waitFor(t, "got INT")
	if st := wait(t, term); st.Code != 3 {
		t.Errorf("exit status %+v, want code 3", st)
	}
}

func TestKillReachesTheWholeGroup(t *testing.T) {
	term, out := start(t, `trap '' TERM; sleep 100 & echo "child=$!"; wait`)
	out.waitFor(t, "\r\n")
	line := strings.TrimSpace(out.String())
	child, err := strconv.Atoi(strings.TrimPrefix(line, "child="))
	if err != nil {
		t.Fatalf("cannot read the child's pid from %q", line)
	}
	if err := term.Signal(pty.Kill); err != nil {
		t.Fatal(err)
	}
	st := wait(t, term)
	if st.Code != -1 || st.Signal != "SIGKILL" {
		t.Errorf("exit status %+v, want -1 SIGKILL", st)
	}
	if !testenv.Poll(20*time.Second, testenv.Interval, func() bool { return !alive(child) }) {
		t.Fatalf("background child %d still runs after the group was killed", child)
	}
}

func TestTerminateReachesTheWholeGroup(t *testing.T) {
	term, out := start(t, `sleep 100 & echo ready; wait`)
	out.waitFor(t, "ready")
	if err := term.Signal(pty.Terminate); err != nil {
		t.Fatal(err)
	}
	if st := wait(t, term); st.Code != -1 || st.Signal != "SIGTERM" {
		t.Errorf("exit status %+v, want -1 SIGTERM", st)
	}
	if err := out.end(t); err != io.EOF {
		t.Errorf("reader ended with %v", err)
	}
}

// alive reports whether pid exists and is not a zombie waiting for init.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return syscall.Kill(pid, 0) == nil && !isLinux()
	}
	// The state follows the command name in parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

func isLinux() bool { _, err := os.Stat("/proc/self/stat"); return err == nil }

func TestLeftoverProcessDoesNotHoldTheReader(t *testing.T) {
	// The subshell ignores the hangup the kernel sends when the session
	// leader exits, and keeps the terminal open.
	term, out := start(t, `(trap '' HUP; exec sleep 30) & echo "left=$!"; echo main done`)
	out.waitFor(t, "main done")
	wait(t, term)
	if err := out.end(t); err != io.EOF {
		t.Errorf("reader ended with %v, want io.EOF", err)
	}
	for _, l := range strings.Split(out.String(), "\r\n") {
		if pid, err := strconv.Atoi(strings.TrimPrefix(l, "left=")); err == nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func TestStartErrors(t *testing.T) {
	if _, err := pty.Start(pty.Command{}); err == nil {
		t.Error("Start with no argv succeeded")
	}
	_, err := pty.Start(pty.Command{Argv: []string{"/nonexistent/program"}})
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/program") {
		t.Errorf("Start of a missing program: %v", err)
	}
	_, err = pty.Start(pty.Command{Argv: []string{"/bin/sh"}, Dir: "/nonexistent/dir"})
	if err == nil {
		t.Error("Start in a missing directory succeeded")
	}
}

func TestDirAndEnv(t *testing.T) {
	dir := t.TempDir()
	term, err := pty.Start(pty.Command{
		Argv: []string{"/bin/sh", "-c", `echo "dir=$(pwd -P) x=$X"`},
		Dir:  dir,
		Env:  []string{"X=42", "PATH=" + os.Getenv("PATH")},
	})
	if err != nil {
		t.Fatal(err)
	}
	out := collect(t, term)
	out.end(t)
	wait(t, term)
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := "dir=" + real + " x=42\r\n"; out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
}

// TestEchoes: Echoes follows the terminal's ECHO flag as the program sets
// it.
func TestEchoes(t *testing.T) {
	term, err := pty.Start(pty.Command{Argv: []string{"/bin/sh", "-c", "read a; stty -echo; echo off; read b"}})
	if err != nil {
		t.Fatal(err)
	}
	defer term.Close()
	defer func() { _ = term.Signal(pty.Kill) }()
	if on, err := term.Echoes(); err != nil || !on {
		t.Fatalf("a new terminal echoes: %v, %v", on, err)
	}
	if _, err := term.Write([]byte("x\r")); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "echo off", 30*time.Second, func() bool {
		on, err := term.Echoes()
		return err == nil && !on
	})
}
