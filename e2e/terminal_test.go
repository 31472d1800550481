//go:build !windows

package e2e_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runlet/runlet/pty"
)

// screen collects what a terminal shows and lets a test wait for text.
type screen struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	cond *sync.Cond
	err  error
}

func newScreen(r io.Reader) *screen {
	s := &screen{}
	s.cond = sync.NewCond(&s.mu)
	go func() { // ends when the terminal is closed
		b := make([]byte, 4096)
		for {
			n, err := r.Read(b)
			s.mu.Lock()
			s.buf.Write(b[:n])
			if err != nil {
				s.err = err
			}
			s.cond.Broadcast()
			s.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return s
}

// waitFor blocks until the screen shows text, failing after 45 s.
func (s *screen) waitFor(t *testing.T, text string) {
	t.Helper()
	timer := time.AfterFunc(45*time.Second, func() {
		s.mu.Lock()
		if s.err == nil {
			s.err = errors.New("timed out")
		}
		s.cond.Broadcast()
		s.mu.Unlock()
	})
	defer timer.Stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	for !strings.Contains(s.buf.String(), text) {
		if s.err != nil {
			t.Fatalf("waiting for %q: %v; screen so far:\n%q", text, s.err, s.buf.String())
		}
		s.cond.Wait()
	}
}

func (s *screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

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
	tm, err := pty.Start(pty.Command{Argv: append([]string{runletBinary, "--home", home}, args...), Env: env, Size: pty.Size{Cols: 100, Rows: 30}})
	if err != nil {
		t.Fatalf("start runlet in a pty: %v", err)
	}
	t.Cleanup(func() { _ = tm.Signal(pty.Kill); tm.Close() })
	return &term{Terminal: tm, scr: newScreen(tm)}
}

func (tm *term) waitFor(t *testing.T, text string) { t.Helper(); tm.scr.waitFor(t, text) }

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
