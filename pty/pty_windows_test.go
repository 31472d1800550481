//go:build windows

package pty

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/internal/testenv"
	"golang.org/x/sys/windows"
)

// These tests start real programs (cmd.exe, ping.exe) in a real ConPTY, so
// they need Windows 10 1809 or later. Some look for English words printed by
// Windows tools ("Columns:"); the rest only for text they chose themselves.

// winDeadline bounds every wait for an event; generous for a loaded CI machine.
const winDeadline = 30 * time.Second

// winOutput reads a terminal's output until EOF or error in the background.
type winOutput struct {
	term   *Terminal
	mu     sync.Mutex
	data   []byte
	err    error         // io.EOF once the output has ended
	notify chan struct{} // one pending wake-up after each read
	done   chan struct{} // closed when the reader has returned
}

// startWin starts c in a terminal and reads its output; cleanup closes the
// terminal and waits for the reader.
func startWin(t *testing.T, c Command) (*Terminal, *winOutput) {
	t.Helper()
	term, err := Start(c)
	if err != nil {
		t.Fatalf("Start(%q): %v", c.Argv, err)
	}
	out := &winOutput{term: term, notify: make(chan struct{}, 1), done: make(chan struct{})}
	go out.read(term)
	t.Cleanup(func() {
		if err := term.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		<-out.done
	})
	return term, out
}

func (c *winOutput) read(r io.Reader) {
	defer close(c.done)
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		c.mu.Lock()
		c.data = append(c.data, buf[:n]...)
		c.err = err
		c.mu.Unlock()
		select {
		case c.notify <- struct{}{}:
		default:
		}
		if err != nil {
			return
		}
	}
}

// waitFor waits until ok holds for the output so far, with escape sequences
// removed, and whether it has ended; it returns that output.
func (c *winOutput) waitFor(t *testing.T, what string, ok func(text string, ended bool) bool) string {
	t.Helper()
	timer := time.NewTimer(winDeadline)
	defer timer.Stop()
	for {
		c.mu.Lock()
		text, err := winPlain(c.data), c.err
		c.mu.Unlock()
		if err != nil && !errors.Is(err, io.EOF) {
			t.Fatalf("read: %v (waiting for %s; output: %q)", err, what, text)
		}
		if ok(text, err != nil) {
			return text
		}
		select {
		case <-c.notify:
		case <-timer.C:
			t.Fatalf("no %s after %v (main process ended: %v); output: %q", what, winDeadline, c.term.hasExited(), text)
		}
	}
}

// waitText waits for s in the output.
func (c *winOutput) waitText(t *testing.T, s string) string {
	t.Helper()
	return c.waitFor(t, strings.TrimSpace(s), func(text string, _ bool) bool { return strings.Contains(text, s) })
}

// waitEOF waits for the output to end.
func (c *winOutput) waitEOF(t *testing.T) string {
	t.Helper()
	return c.waitFor(t, "EOF", func(_ string, ended bool) bool { return ended })
}

// winEscapes matches the VT sequences ConPTY writes around text: CSI (colours,
// cursor motion, modes), OSC (the window title) and two-character winEscapes.
var winEscapes = regexp.MustCompile(`\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[@-Z\\-_]`)

// plain is the output without escape sequences and carriage returns.
func winPlain(b []byte) string {
	return strings.ReplaceAll(winEscapes.ReplaceAllString(string(b), ""), "\r", "")
}

// wait waits for the main process to end.
func waitWin(t *testing.T, term *Terminal) ExitStatus {
	t.Helper()
	type result struct {
		status ExitStatus
		err    error
	}
	ch := make(chan result, 1)
	go func() {
		status, err := term.Wait()
		ch <- result{status, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("Wait: %v", r.err)
		}
		return r.status
	case <-time.After(winDeadline):
		// Close in cleanup kills the process, which ends the goroutine.
		t.Fatalf("process %d still running after %v", term.Pid(), winDeadline)
	}
	return ExitStatus{}
}

func TestConPTYEchoOutput(t *testing.T) {
	term, out := startWin(t, Command{Argv: []string{"cmd.exe", "/c", "echo", "runlet-pty-echo"}})
	if term.Pid() <= 0 {
		t.Errorf("Pid() = %d", term.Pid())
	}
	out.waitText(t, "runlet-pty-echo")
	out.waitEOF(t)
	if got := waitWin(t, term); got != (ExitStatus{Code: 0}) {
		t.Errorf("Wait() = %+v, want code 0", got)
	}
}

func TestConPTYUnicodeArgument(t *testing.T) {
	// The command line goes through UTF-16 and comes back as UTF-8.
	term, out := startWin(t, Command{Argv: []string{"cmd.exe", "/c", "echo", "grüße-日本-✓"}})
	out.waitText(t, "grüße-日本-✓")
	out.waitEOF(t)
	waitWin(t, term)
}

func TestConPTYInputRoundTrip(t *testing.T) {
	// Delayed expansion (/v:on, !LINE!) reads LINE after set /p has set it.
	term, out := startWin(t, Command{Argv: []string{"cmd.exe", "/v:on", "/c", "set /p LINE=name? & echo got:!LINE!"}})
	out.waitText(t, "name?")
	if _, err := term.Write([]byte("runlet\r")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	out.waitText(t, "got:runlet")
	out.waitEOF(t)
	if got := waitWin(t, term); got.Code != 0 {
		t.Errorf("Wait() = %+v, want code 0", got)
	}
}

func TestConPTYExitCode(t *testing.T) {
	term, out := startWin(t, Command{Argv: []string{"cmd.exe", "/c", "exit 7"}})
	out.waitEOF(t)
	if got := waitWin(t, term); got != (ExitStatus{Code: 7}) {
		t.Errorf("Wait() = %+v, want code 7", got)
	}
}

func TestConPTYDirAndEnv(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "runlet-marker.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "RUNLET_PTY_MARK=env-ok-42")
	// Wide, so that a long file name is not wrapped.
	term, out := startWin(t, Command{
		Argv: []string{"cmd.exe", "/c", "dir /b & echo %RUNLET_PTY_MARK%"},
		Dir:  dir, Env: env, Size: runlet.Size{Cols: 200, Rows: 24},
	})
	out.waitText(t, "runlet-marker.txt")
	out.waitText(t, "env-ok-42")
	out.waitEOF(t)
	waitWin(t, term)
}

func TestConPTYInheritedEnv(t *testing.T) {
	t.Setenv("RUNLET_PTY_INHERIT", "inherit-ok-7")
	term, out := startWin(t, Command{Argv: []string{"cmd.exe", "/c", "echo %RUNLET_PTY_INHERIT%"}})
	out.waitText(t, "inherit-ok-7")
	out.waitEOF(t)
	waitWin(t, term)
}

func TestConPTYOnlyGivenEnv(t *testing.T) {
	t.Setenv("RUNLET_PTY_HIDDEN", "leaked")
	env := []string{"RUNLET_PTY_SHOWN=shown-ok"}
	term, out := startWin(t, Command{Argv: []string{"cmd.exe", "/c", "echo %RUNLET_PTY_SHOWN%:%RUNLET_PTY_HIDDEN%"}, Env: env})
	// cmd leaves an undefined %VAR% as it is.
	out.waitText(t, "shown-ok:%RUNLET_PTY_HIDDEN%")
	out.waitEOF(t)
	waitWin(t, term)
}

func TestConPTYKillEndsTree(t *testing.T) {
	term, out := startWin(t, Command{Argv: []string{"cmd.exe", "/c", "ping -n 600 127.0.0.1"}})
	waitJobProcesses(t, term, "cmd.exe and ping.exe running", func(n uint32) bool { return n >= 2 })
	if err := term.Signal(Kill); err != nil {
		t.Fatalf("Signal(Kill): %v", err)
	}
	if got := waitWin(t, term); got != (ExitStatus{Code: -1, Signal: "SIGKILL"}) {
		t.Errorf("Wait() = %+v, want SIGKILL", got)
	}
	waitJobProcesses(t, term, "no process left in the job", func(n uint32) bool { return n == 0 })
	out.waitEOF(t)
}

func TestConPTYInterrupt(t *testing.T) {
	term, out := startWin(t, Command{Argv: []string{"cmd.exe", "/c", "ping -n 600 127.0.0.1"}})
	waitJobProcesses(t, term, "cmd.exe and ping.exe running", func(n uint32) bool { return n >= 2 })
	out.waitText(t, "127.0.0.1") // ping has printed, so it is past start-up
	if err := term.Signal(Interrupt); err != nil {
		t.Fatalf("Signal(Interrupt): %v", err)
	}
	// How ping and cmd.exe exit on Ctrl-C is theirs to choose; that they
	// end is what shows the Ctrl-C reached them.
	t.Logf("after Ctrl-C: %+v", waitWin(t, term))
	out.waitEOF(t)
}

func TestConPTYTerminate(t *testing.T) {
	term, out := startWin(t, Command{Argv: []string{"cmd.exe"}})
	out.waitText(t, ">") // the prompt: cmd.exe waits for input
	if err := term.Signal(Terminate); err != nil {
		t.Fatalf("Signal(Terminate): %v", err)
	}
	t.Logf("after Terminate: %+v", waitWin(t, term))
	out.waitEOF(t)
}

func TestConPTYResize(t *testing.T) {
	term, out := startWin(t, Command{Argv: []string{"cmd.exe"}, Size: runlet.Size{Cols: 80, Rows: 24}})
	out.waitText(t, ">")
	if err := term.Resize(runlet.Size{Cols: 123, Rows: 45}); err != nil {
		t.Fatalf("Resize: %v", err)
	}
	// The resize travels apart from the input, so an early "mode con" may
	// still see 80 columns: ask again until it reports the new size.
	columns := regexp.MustCompile(`Columns:\s*(\d+)`)
	for asked := 1; ; asked++ {
		if _, err := term.Write([]byte("mode con\r")); err != nil {
			t.Fatalf("Write: %v", err)
		}
		text := out.waitFor(t, "mode con output", func(text string, _ bool) bool {
			return len(columns.FindAllString(text, -1)) >= asked
		})
		all := columns.FindAllStringSubmatch(text, -1)
		if last := all[len(all)-1][1]; last == "123" {
			break
		} else if asked == 20 {
			t.Fatalf("mode con still reports %s columns after Resize to 123", last)
		}
	}
	if _, err := term.Write([]byte("exit 3\r")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	out.waitEOF(t)
	if got := waitWin(t, term); got != (ExitStatus{Code: 3}) {
		t.Errorf("Wait() = %+v, want code 3", got)
	}
	if err := term.Resize(runlet.Size{Cols: 0, Rows: 10}); err == nil {
		t.Error("Resize to 0 columns: no error")
	}
}

func TestConPTYCloseWhileRunning(t *testing.T) {
	term, err := Start(Command{Argv: []string{"cmd.exe"}})
	if err != nil {
		t.Fatal(err)
	}
	// Nobody reads the output: Close must not wait for it to be read.
	if err := term.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := waitWin(t, term); got.Signal != "SIGKILL" {
		t.Errorf("Wait() after Close = %+v, want SIGKILL", got)
	}
	if err := term.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := term.Read(make([]byte, 10)); err == nil {
		t.Error("Read after Close: no error")
	}
	for _, s := range []Signal{Interrupt, Terminate, Kill} {
		if err := term.Signal(s); !errors.Is(err, os.ErrProcessDone) {
			t.Errorf("Signal(%v) after Close = %v, want os.ErrProcessDone", s, err)
		}
	}
}

func TestConPTYLargeOutput(t *testing.T) {
	// More than the pipe and the console hold: the output must all arrive
	// before EOF, however the reader and the console close interleave.
	term, out := startWin(t, Command{Argv: []string{"cmd.exe", "/c", "for /l %i in (1,1,1000) do @echo line-%i."}})
	out.waitText(t, "line-1000.")
	out.waitEOF(t)
	if got := waitWin(t, term); got.Code != 0 {
		t.Errorf("Wait() = %+v, want code 0", got)
	}
}

func TestConPTYCloseWhileFlooding(t *testing.T) {
	term, err := Start(Command{Argv: []string{"cmd.exe", "/c", "for /l %i in (1,1,1000000) do @echo flood-%i"}})
	if err != nil {
		t.Fatal(err)
	}
	// Nobody reads: the console host blocks on a full pipe, and Close must
	// still return.
	waitJobProcesses(t, term, "cmd.exe running", func(n uint32) bool { return n >= 1 })
	closed := make(chan error, 1)
	go func() { closed <- term.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(winDeadline):
		t.Fatalf("Close still blocked after %v", winDeadline)
	}
}

func TestConPTYStartErrors(t *testing.T) {
	for _, c := range []Command{
		{},
		{Argv: []string{""}},
		{Argv: []string{"runlet-no-such-program-x7"}},
		{Argv: []string{"cmd.exe", "/c", "echo a\x00b"}},
		{Argv: []string{"cmd.exe"}, Env: []string{"A=1\x00"}},
		{Argv: []string{"cmd.exe"}, Dir: filepath.Join(t.TempDir(), "missing")},
	} {
		term, err := Start(c)
		if err == nil {
			term.Close()
			t.Errorf("Start(%q, dir %q): no error", c.Argv, c.Dir)
		}
	}
}

func TestConPTYEnvironmentBlock(t *testing.T) {
	block, err := environmentBlock([]string{"b=1", "A=1", "=C:=C:\\x", "a=2", "", "SystemRoot=X:\\Win"})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(block); n < 2 || block[n-1] != 0 || block[n-2] != 0 {
		t.Fatalf("block does not end with two NULs: %v", block)
	}
	var vars []string
	for s := block[:len(block)-1]; len(s) > 0; {
		i := 0
		for s[i] != 0 {
			i++
		}
		vars = append(vars, windows.UTF16ToString(s[:i]))
		s = s[i+1:]
	}
	want := []string{"=C:=C:\\x", "a=2", "b=1", "SystemRoot=X:\\Win"}
	if strings.Join(vars, "|") != strings.Join(want, "|") {
		t.Errorf("environment block = %q, want %q", vars, want)
	}

	empty, err := environmentBlock(nil)
	if err != nil {
		t.Fatal(err)
	}
	if root := os.Getenv("SYSTEMROOT"); root != "" {
		if s := windows.UTF16ToString(empty); !strings.EqualFold(s, "SYSTEMROOT="+root) {
			t.Errorf("empty environment = %q, want SYSTEMROOT added", s)
		}
	}
}

// winJobAccounting is JOBOBJECT_BASIC_ACCOUNTING_INFORMATION, which x/sys lacks.
type winJobAccounting struct {
	TotalUserTime, TotalKernelTime, ThisPeriodTotalUserTime, ThisPeriodTotalKernelTime int64
	TotalPageFaultCount, TotalProcesses, ActiveProcesses, TotalTerminatedProcesses     uint32
}

// waitJobProcesses polls the number of live processes in the terminal's job until
// ok holds.
func waitJobProcesses(t *testing.T, term *Terminal, what string, ok func(uint32) bool) {
	t.Helper()
	var info winJobAccounting
	// Polling a condition: there is no event to wait for.
	if !testenv.Poll(winDeadline, testenv.Interval, func() bool {
		err := windows.QueryInformationJobObject(term.job, windows.JobObjectBasicAccountingInformation,
			uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info)), nil)
		if err != nil {
			t.Fatalf("query job: %v", err)
		}
		return ok(info.ActiveProcesses)
	}) {
		t.Fatalf("no %s after %v: %d processes in the job", what, winDeadline, info.ActiveProcesses)
	}
}
