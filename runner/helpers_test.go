package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runlet/runlet"
)

// patience bounds every wait for an event in these tests; the machine may be
// loaded, so it is generous.
const patience = 30 * time.Second

func newRunner(t testing.TB, cfg Config) *Runner {
	t.Helper()
	if cfg.LogDir == "" {
		cfg.LogDir = t.TempDir()
	}
	if cfg.TempDir == "" {
		cfg.TempDir = t.TempDir()
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func enqueue(t testing.TB, r *Runner, s Spec) *Execution {
	t.Helper()
	e, err := r.Enqueue(s)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func waitDone(t testing.TB, e *Execution) runlet.Execution {
	t.Helper()
	select {
	case <-e.Done():
	case <-time.After(patience):
		t.Fatalf("execution %s has not ended after %s: %+v", e.ID(), patience, e.State())
	}
	return e.State()
}

// frames reads every frame of an ended (or ending) execution from seq from.
func frames(t testing.TB, e *Execution, from uint64) []Frame {
	t.Helper()
	fs, err := readFrames(e, from)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// readFrames is frames for goroutines other than the test's.
func readFrames(e *Execution, from uint64) ([]Frame, error) {
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	c := e.Frames(from)
	defer c.Close()
	var out []Frame
	for {
		fr, err := c.Next(ctx)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("read frames of %s: %w", e.ID(), err)
		}
		out = append(out, fr)
	}
}

func joined(fs []Frame) []byte {
	var b bytes.Buffer
	for _, f := range fs {
		b.Write(f.Data)
	}
	return b.Bytes()
}

// checkSeqs fails unless fs are numbered from, from+1, … with no gap.
func checkSeqs(t testing.TB, fs []Frame, from uint64) {
	t.Helper()
	for i, f := range fs {
		if f.Seq != from+uint64(i) {
			t.Fatalf("frame %d has seq %d, want %d", i, f.Seq, from+uint64(i))
		}
	}
}

// screen follows an execution live, as a viewer would, and keeps all it
// saw; its text is the job's output, without the command line.
type screen struct {
	e      *Execution
	mu     sync.Mutex
	frames []Frame
	text   bytes.Buffer
	more   chan struct{}
	end    chan struct{}
	err    error
}

func watch(t testing.TB, e *Execution) *screen {
	s := &screen{e: e, more: make(chan struct{}), end: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		defer close(s.end)
		c := e.Frames(1)
		defer c.Close()
		for {
			fr, err := c.Next(ctx)
			s.mu.Lock()
			if err == nil {
				s.frames = append(s.frames, fr)
				if fr.Seq > 1 { // the command line holds test names: "waiting for Quit" would match TestQuit
					s.text.Write(fr.Data)
				}
			} else if !errors.Is(err, io.EOF) {
				s.err = err
			}
			close(s.more)
			s.more = make(chan struct{})
			s.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-s.end })
	return s
}

func (s *screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.text.String()
}

// waitFor waits until the output holds text and returns the output.
func (s *screen) waitFor(t testing.TB, text string) string {
	t.Helper()
	deadline := time.After(patience)
	for {
		s.mu.Lock()
		out, more := s.text.String(), s.more
		s.mu.Unlock()
		if strings.Contains(out, text) {
			return out
		}
		select {
		case <-more:
		case <-s.end:
			if out = s.String(); strings.Contains(out, text) {
				return out
			}
			t.Fatalf("execution %s ended without printing %q; it printed:\n%q\nstate: %+v", s.e.ID(), text, out, s.e.State())
		case <-deadline:
			t.Fatalf("no %q after %s; output so far:\n%q", text, patience, s.String())
		}
	}
}

// all waits for the end of the frames and returns them.
func (s *screen) all(t testing.TB) []Frame {
	t.Helper()
	select {
	case <-s.end:
	case <-time.After(patience):
		t.Fatalf("frames of %s have not ended after %s", s.e.ID(), patience)
	}
	if s.err != nil {
		t.Fatal(s.err)
	}
	return s.frames
}

// scriptPath reads the script file's path from the λ line.
func scriptPath(t testing.TB, fs []Frame) string {
	t.Helper()
	if len(fs) == 0 {
		t.Fatal("no frames")
	}
	line := strings.TrimSuffix(string(fs[0].Data), "\r\n")
	if !strings.HasPrefix(line, "λ ") {
		t.Fatalf("first frame %q is not the command line", fs[0].Data)
	}
	f := strings.Fields(line)
	return f[len(f)-1]
}

func checkRemoved(t testing.TB, path string) {
	t.Helper()
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("script file %s still there after the end (stat: %v)", path, err)
	}
}

// statusLog records the transitions OnStatus reports.
type statusLog struct {
	mu   sync.Mutex
	seen []runlet.Execution
}

func (l *statusLog) add(e runlet.Execution) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seen = append(l.seen, e)
}

func (l *statusLog) list() []runlet.Execution {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]runlet.Execution(nil), l.seen...)
}

// statuses lists the statuses reported for one execution, in order.
func (l *statusLog) statuses(id string) []runlet.Status {
	var out []runlet.Status
	for _, e := range l.list() {
		if e.ID == id {
			out = append(out, e.Status)
		}
	}
	return out
}
