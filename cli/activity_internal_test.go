package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
)

func TestParseWhen(t *testing.T) {
	now := time.Date(2026, 3, 4, 15, 30, 0, 0, time.Local)
	day := func(d int) time.Time { return time.Date(2026, 3, d, 0, 0, 0, 0, time.Local) }
	for _, c := range []struct {
		v     string
		end   bool // as --until
		want  time.Time
		wrong bool
	}{
		{v: "", want: time.Time{}},
		{v: "2h", want: now.Add(-2 * time.Hour)},
		{v: "90m", want: now.Add(-90 * time.Minute)},
		{v: "1h30m", want: now.Add(-90 * time.Minute)},
		{v: "7d", want: now.AddDate(0, 0, -7)},
		{v: "0d", want: now},
		{v: "today", want: day(4)},
		{v: "Today", end: true, want: day(5)},
		{v: "yesterday", want: day(3)},
		{v: "yesterday", end: true, want: day(4)},
		{v: "2026-03-01", want: day(1)},
		{v: "2026-03-01", end: true, want: day(2)},
		{v: " 2026-03-01 ", want: day(1)},
		{v: "2026-03-01 15:04", want: time.Date(2026, 3, 1, 15, 4, 0, 0, time.Local)},
		{v: "2026-03-01T15:04:05", end: true, want: time.Date(2026, 3, 1, 15, 4, 5, 0, time.Local)},
		{v: "2026-03-01T15:04:05Z", want: time.Date(2026, 3, 1, 15, 4, 5, 0, time.UTC)},
		{v: "soon", wrong: true},
		{v: "-2h", wrong: true},
		{v: "-3d", wrong: true},
		{v: "d", wrong: true},
		{v: "2026-02-30", wrong: true},
		{v: "03/01/2026", wrong: true},
		{v: "2h\x1b[2J", wrong: true},
	} {
		got, err := parseWhen(now, "--since", c.v, c.end)
		if c.wrong {
			if runlet.ErrorCode(err) != runlet.EINVALID || !strings.Contains(err.Error(), "give a duration back from now") || strings.ContainsRune(err.Error(), 0x1b) {
				t.Errorf("parseWhen(%q) = %v, %v; want EINVALID saying what to give, escaped", c.v, got, err)
			}
			continue
		}
		if err != nil || !got.Equal(c.want) {
			t.Errorf("parseWhen(%q, end %v) = %v, %v; want %v", c.v, c.end, got, err, c.want)
		}
	}
}

func TestListTime(t *testing.T) {
	now := time.Date(2026, 3, 4, 15, 30, 0, 0, time.Local)
	for _, c := range []struct {
		t    time.Time
		want string
	}{
		{time.Date(2026, 3, 4, 0, 0, 1, 0, time.Local), "00:00:01"},
		{time.Date(2026, 3, 4, 15, 29, 59, 0, time.Local), "15:29:59"},
		{time.Date(2026, 3, 3, 23, 59, 59, 0, time.Local), "2026-03-03 23:59"},
		{time.Date(2025, 3, 4, 15, 0, 0, 0, time.Local), "2025-03-04 15:00"},
	} {
		if got := listTime(now, c.t); got != c.want {
			t.Errorf("listTime(%v) = %q, want %q", c.t, got, c.want)
		}
	}
}

func TestTargetMark(t *testing.T) {
	for _, c := range []struct {
		e    runlet.Execution
		o    runlet.Outcome
		want string
	}{
		{runlet.Execution{Device: "pi-1"}, runlet.OutcomeFinished, "pi-1 ✓"},
		{runlet.Execution{Device: "pi-1", ExitCode: 3}, runlet.OutcomeFinished, "pi-1 ✗ exit 3"},
		{runlet.Execution{Device: "pi-1", Signal: "SIGSEGV"}, runlet.OutcomeError, "pi-1 ✗ Error (SIGSEGV)"},
		{runlet.Execution{Device: "pi-1"}, runlet.OutcomeError, "pi-1 ✗ Error"},
		{runlet.Execution{Device: "pi-1", Signal: "SIGTERM"}, runlet.OutcomeStopped, "pi-1 ✗ Stopped"},
		{runlet.Execution{Device: "pi-1", Signal: "SIGKILL"}, runlet.OutcomeKilled, "pi-1 ✗ Killed"},
		{runlet.Execution{Device: "pi-1"}, runlet.OutcomeRunning, "pi-1 Running"},
		{runlet.Execution{Device: "pi-1"}, runlet.OutcomePending, "pi-1 Pending"},
		{runlet.Execution{Device: "pi\x1b[2J"}, "Gone\a", `pi\x1b[2J Gone\a`},
	} {
		r := api.Run{Targets: []api.Execution{{Execution: c.e, Outcome: c.o}, {Execution: runlet.Execution{Device: "mac"}, Outcome: runlet.OutcomeFinished}}}
		if got, want := runTargets(r), c.want+", mac ✓"; got != want {
			t.Errorf("runTargets = %q, want %q", got, want)
		}
	}
}
