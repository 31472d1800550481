package runlet_test

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
)

func TestRunSummary(t *testing.T) {
	t0 := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	done := func(dev string, start, end int, o runlet.Outcome) runlet.Execution {
		e := runlet.Execution{Device: dev, Status: runlet.StatusFinished, Started: at(start), Finished: at(end)}
		switch o {
		case runlet.OutcomeError:
			e.Status, e.Reason = runlet.StatusError, "runner closed"
		case runlet.OutcomeKilled:
			e.Status, e.Killed, e.Reason = runlet.StatusError, true, runlet.ReasonKilled+" (SIGKILL)"
		case runlet.OutcomeStopped:
			e.Status, e.Killed, e.Reason = runlet.StatusError, true, runlet.ReasonStopped+" (SIGTERM)"
		}
		return e
	}
	running := runlet.Execution{Device: "pi-3", Status: runlet.StatusRunning, Started: at(1)}
	pending := runlet.Execution{Device: "pi-4", Status: runlet.StatusPending}
	for _, c := range []struct {
		name              string
		targets           []runlet.Execution
		outcome           runlet.Outcome
		started, finished time.Time
	}{
		{"one finished", []runlet.Execution{done("pi-1", 2, 5, runlet.OutcomeFinished)}, runlet.OutcomeFinished, at(2), at(5)},
		{"all ended, one killed", []runlet.Execution{done("pi-1", 2, 9, runlet.OutcomeFinished), done("pi-2", 3, 4, runlet.OutcomeKilled)}, runlet.OutcomeKilled, at(2), at(9)},
		{"an error outranks a kill", []runlet.Execution{done("pi-1", 3, 4, runlet.OutcomeStopped), done("pi-2", 3, 4, runlet.OutcomeError), done("pi-5", 3, 4, runlet.OutcomeKilled)}, runlet.OutcomeError, at(3), at(4)},
		{"stopped", []runlet.Execution{done("pi-1", 3, 4, runlet.OutcomeStopped), done("pi-2", 3, 4, runlet.OutcomeFinished)}, runlet.OutcomeStopped, at(3), at(4)},
		{"one still runs", []runlet.Execution{done("pi-1", 2, 5, runlet.OutcomeError), running}, runlet.OutcomeRunning, at(1), time.Time{}},
		{"one still waits", []runlet.Execution{done("pi-1", 2, 5, runlet.OutcomeFinished), pending}, runlet.OutcomePending, at(2), time.Time{}},
		{"running outranks waiting", []runlet.Execution{pending, running}, runlet.OutcomeRunning, at(1), time.Time{}},
		{"nothing started", []runlet.Execution{pending}, runlet.OutcomePending, time.Time{}, time.Time{}},
	} {
		r := runlet.Run{ID: "r", Targets: c.targets}
		if got := r.Outcome(); got != c.outcome {
			t.Errorf("%s: Outcome() = %s, want %s", c.name, got, c.outcome)
		}
		if got := r.Started(); !got.Equal(c.started) {
			t.Errorf("%s: Started() = %v, want %v", c.name, got, c.started)
		}
		if got := r.Finished(); !got.Equal(c.finished) {
			t.Errorf("%s: Finished() = %v, want %v", c.name, got, c.finished)
		}
	}
}

func TestRunCursor(t *testing.T) {
	c := runlet.RunCursor{Created: time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC), ID: "0lk3v8x2q"}
	s := c.String()
	if strings.ContainsAny(s, "+/=?&# ") {
		t.Errorf("cursor %q needs escaping in a URL", s)
	}
	got, err := runlet.ParseRunCursor(s)
	if err != nil || got != c {
		t.Fatalf("ParseRunCursor(%q) = %+v, %v; want %+v", s, got, err, c)
	}
	if zero, err := runlet.ParseRunCursor(""); err != nil || !zero.IsZero() || (runlet.RunCursor{}).String() != "" {
		t.Errorf("the empty cursor: %+v, %v", zero, err)
	}
	if got := (runlet.Run{ID: c.ID, Created: c.Created}).Cursor(); got != c {
		t.Errorf("Run.Cursor() = %+v, want %+v", got, c)
	}
	for _, bad := range []string{
		"!!!",                 // not base64
		enc("no-slash"),       // no time
		enc("12x/abc"),        // not a number
		enc("-5/abc"),         // before the epoch
		enc("1700000000000/"), // no ID
		enc("1700000000000/a\x1bb"),
		strings.Repeat("A", 300),
	} {
		_, err := runlet.ParseRunCursor(bad)
		if runlet.ErrorCode(err) != runlet.EINVALID || !strings.Contains(runlet.ErrorMessage(err), "without a cursor") {
			t.Errorf("ParseRunCursor(%q) = %v, want EINVALID saying to start without it", bad, err)
		}
	}
}

func enc(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// FuzzParseRunCursor: a cursor comes from the query string of any caller;
// whatever it is, it parses into a cursor that encodes back to itself, or
// into an EINVALID error, and never panics.
func FuzzParseRunCursor(f *testing.F) {
	f.Add("")
	f.Add(runlet.RunCursor{Created: time.Unix(1700000000, 0), ID: "abc"}.String())
	f.Add(enc("1/x"))
	f.Add(enc("99999999999999999999/x"))
	f.Fuzz(func(t *testing.T, s string) {
		c, err := runlet.ParseRunCursor(s)
		if err != nil {
			if runlet.ErrorCode(err) != runlet.EINVALID {
				t.Fatalf("ParseRunCursor(%q): %v is not EINVALID", s, err)
			}
			return
		}
		again, err := runlet.ParseRunCursor(c.String())
		if err != nil || again != c {
			t.Fatalf("cursor %+v of %q does not read back: %+v, %v", c, s, again, err)
		}
	})
}
