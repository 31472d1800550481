//go:build !windows

package e2e_test

import (
	"io"
	"os"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/internal/termtest"
	"github.com/runlet/runlet/pty"
)

// screen is what a terminal shows, for tests to wait on.
type screen = termtest.Screen

func newScreen(r io.Reader) *screen { return termtest.NewScreen(r) }

// term is runlet running in a pseudo-terminal, like a person's shell.
type term struct {
	*pty.Terminal
	scr *screen
}

// startTerm runs runlet as the device whose home is given, in a 100x30
// pseudo-terminal.
func startTerm(t *testing.T, home string, args ...string) *term {
	t.Helper()
	env := append(os.Environ(), "TERM=xterm-256color")
	tm, err := pty.Start(pty.Command{Argv: append([]string{runletBinary, "--home", home}, args...), Env: env, Size: runlet.Size{Cols: 100, Rows: 30}})
	if err != nil {
		t.Fatalf("start runlet in a pty: %v", err)
	}
	t.Cleanup(func() { _ = tm.Signal(pty.Kill); tm.Close() })
	return &term{Terminal: tm, scr: newScreen(tm)}
}

func (tm *term) waitFor(t *testing.T, text string) { t.Helper(); tm.scr.WaitFor(t, text) }

// send types keys into the terminal.
func (tm *term) send(t *testing.T, keys string) {
	t.Helper()
	if _, err := tm.Write([]byte(keys)); err != nil {
		t.Fatalf("type %q: %v", keys, err)
	}
}

// exit waits (at most 45 s) for runlet to end and returns its exit code.
func (tm *term) exit(t *testing.T) int {
	t.Helper()
	type ended struct {
		st  pty.ExitStatus
		err error
	}
	ch := make(chan ended, 1)
	go func() { // ends with the process, or when cleanup kills it
		st, err := tm.Wait()
		ch <- ended{st, err}
	}()
	select {
	case e := <-ch:
		if e.err != nil {
			t.Fatalf("wait for runlet: %v; screen:\n%q", e.err, tm.scr)
		}
		return e.st.Code
	case <-time.After(45 * time.Second):
		t.Fatalf("runlet did not exit; screen:\n%q", tm.scr)
	}
	return 0
}
