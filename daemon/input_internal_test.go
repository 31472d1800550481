package daemon

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/runner"
)

func typeAheadLog() (*slog.Logger, *testenv.Buffer) {
	var b testenv.Buffer
	return slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelDebug})), &b
}

// The held keys come back in the order they came, except that each
// viewer's are sorted by their numbers; a message that came twice counts
// once.
func TestTypeAheadOrder(t *testing.T) {
	log, _ := typeAheadLog()
	var ta typeAhead
	now := time.Now()
	for _, m := range []struct {
		viewer string
		seq    uint64
		data   string
	}{
		{"a", 2, "a2 "},
		{"b", 1, "b1 "},
		{"a", 1, "a1 "},
		{"b", 1, "b1 "}, // again
		{"a", 3, "a3 "},
		{"b", 2, "b2 "},
	} {
		ta.hold("x1", heldKey{m.viewer, m.seq}, []byte(m.data), now, log)
	}
	ta.hold("x2", heldKey{"a", 9}, []byte("other"), now, log)
	if got, want := string(ta.take("x1", now, log)), "a1 b1 a2 a3 b2 "; got != want {
		t.Errorf("take gave %q, want %q", got, want)
	}
	if got := ta.take("x1", now, log); got != nil {
		t.Errorf("a second take gave %q, want nothing", got)
	}
	if got := string(ta.take("x2", now, log)); got != "other" {
		t.Errorf("the other execution's input is %q", got)
	}
}

// Past runner.MaxTypeAhead bytes an execution's held input stops growing,
// with one warning; what follows is dropped too.
func TestTypeAheadBoundPerExecution(t *testing.T) {
	log, logs := typeAheadLog()
	var ta typeAhead
	now := time.Now()
	ta.hold("x1", heldKey{"a", 1}, []byte("kept\n"), now, log)
	ta.hold("x1", heldKey{"a", 2}, bytes.Repeat([]byte("x"), runner.MaxTypeAhead), now, log)
	ta.hold("x1", heldKey{"a", 3}, []byte("dropped\n"), now, log)
	if n := strings.Count(logs.String(), "passes the most kept"); n != 1 {
		t.Errorf("warned %d times, want once:\n%s", n, logs)
	}
	if got := string(ta.take("x1", now, log)); got != "kept\n" {
		t.Errorf("take gave %q, want only what came before the bound", got)
	}
}

// Input for more executions than maxHeldExecutions is dropped, with a
// warning; the executions held before keep theirs.
func TestTypeAheadBoundOfExecutions(t *testing.T) {
	log, logs := typeAheadLog()
	var ta typeAhead
	now := time.Now()
	for i := range maxHeldExecutions {
		ta.hold(string(rune('a'+i)), heldKey{"v", 1}, []byte("k"), now, log)
	}
	ta.hold("one-too-many", heldKey{"v", 1}, []byte("k"), now, log)
	if !strings.Contains(logs.String(), "input for too many executions") {
		t.Errorf("no warning for the execution past the bound:\n%s", logs)
	}
	if got := ta.take("one-too-many", now, log); got != nil {
		t.Errorf("the execution past the bound has %q held", got)
	}
	if got := string(ta.take("a", now, log)); got != "k" {
		t.Errorf("the first execution's input is %q, want k", got)
	}
}

// Input that waited longer than holdFor for its dispatch is dropped, and
// so is the input of an execution dropped on purpose (expired).
func TestTypeAheadExpiresAndDrops(t *testing.T) {
	log, logs := typeAheadLog()
	var ta typeAhead
	now := time.Now()
	ta.hold("old", heldKey{"v", 1}, []byte("k"), now, log)
	ta.hold("gone", heldKey{"v", 1}, []byte("k"), now, log)
	ta.drop("gone", log)
	if got := ta.take("gone", now, log); got != nil {
		t.Errorf("a dropped execution's input is %q", got)
	}
	if got := ta.take("old", now.Add(holdFor+time.Second), log); got != nil {
		t.Errorf("input older than %s is still held: %q", holdFor, got)
	}
	for _, want := range []string{"will not run here", "waited too long"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("no log line saying %q:\n%s", want, logs)
		}
	}
}
