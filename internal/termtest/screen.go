// Package termtest helps tests drive programs in a pseudo-terminal as a
// person would: it collects what the terminal shows and waits for text.
package termtest

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// Timeout is how long WaitFor waits for text before failing the test:
// generous, for a loaded machine.
const Timeout = 45 * time.Second

// Screen collects what a terminal shows.
type Screen struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	cond *sync.Cond
	err  error
}

// NewScreen reads r (a terminal's output) until it fails or ends.
func NewScreen(r io.Reader) *Screen {
	s := &Screen{}
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

// WaitFor blocks until the screen has shown text, failing t after Timeout
// or when the terminal ends without it.
func (s *Screen) WaitFor(t testing.TB, text string) {
	t.Helper()
	timer := time.AfterFunc(Timeout, func() {
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

// String is everything the screen has shown so far.
func (s *Screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}
