//go:build !windows

package e2e_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/internal/testenv"
)

// A run killed while its device is offline never runs: the kill ends it at
// once (Killed), and the device that comes back does not start it. The
// runs queued after it do run.
func TestKillOfARunWaitingForAnOfflineDevice(t *testing.T) {
	onEachStack(t, testKillOfARunWaitingForAnOfflineDevice)
}

func testKillOfARunWaitingForAnOfflineDevice(t *testing.T, st stack) {
	f := newFleetOn(t, st, "pi-1", "pi-2") // mac is offline
	dir := t.TempDir()
	upgraded, after := filepath.Join(dir, "upgraded"), filepath.Join(dir, "after")
	f.applyJobs(fmt.Sprintf(`
upgrade:
  script: touch %q
later:
  script: touch %q
`, upgraded, after))

	exec, first := f.detach("pi-1", "upgrade", "mac")
	if first["mac"] != string(runlet.StatusPending) {
		t.Fatalf("upgrade on offline mac starts as %q, want Pending", first["mac"])
	}
	out := mustRun(t, f.homes["pi-2"], "kill", exec)
	if want := "had not started on mac: it will not run there (Killed)"; !strings.Contains(out, want) {
		t.Errorf("kill printed %q, want %q", out, want)
	}
	killed := func(e runlet.Execution) bool {
		return e.Status == runlet.StatusError && e.Killed && e.Reason == runlet.ReasonKilledBeforeStart &&
			e.Outcome() == runlet.OutcomeKilled && e.Started.IsZero()
	}
	if e, _ := f.execution(exec, "mac"); !killed(e) {
		t.Fatalf("the killed run on offline mac is %+v, want Error, killed before it started", e)
	}

	f.startDaemon("mac")
	// mac takes its queue in order: once the later run has finished, it
	// has gone past the killed one.
	later, _ := f.detach("pi-1", "later", "mac")
	f.waitStatus(later, "mac", runlet.StatusFinished)
	if _, err := os.Stat(after); err != nil {
		t.Fatalf("the later run finished but did not run on mac: %v", err)
	}
	if _, err := os.Stat(upgraded); err == nil {
		t.Fatal("the killed run ran on mac when it came back")
	}
	if e, _ := f.execution(exec, "mac"); !killed(e) {
		t.Fatalf("the killed run is now %+v, want it to stay killed before it started", e)
	}
	if r := runCmd(t, f.homes["pi-2"], "stop", exec); r.code != 1 || !strings.Contains(r.stderr, "already ended (Killed on mac)") {
		t.Errorf("stop after the kill: exit %d %q, want 1 and a sentence saying it ended", r.code, r.stderr)
	}
}

// A job's timeout stops its run on the device: Error, "timed out after 1s".
func TestTimeoutEndsARun(t *testing.T) {
	onEachStack(t, testTimeoutEndsARun)
}

func testTimeoutEndsARun(t *testing.T, st stack) {
	f := newFleetOn(t, st, "pi-1")
	f.applyJobs(`
slow:
  script: echo started; sleep 600
  timeout: 1s
`)
	exec, _ := f.detach("pi-1", "slow", "pi-1")
	e := f.waitExecution(exec, "pi-1", "ended", func(e runlet.Execution) bool { return e.Status.Final() })
	if e.Status != runlet.StatusError || e.Reason != "timed out after 1s" || e.Signal != "SIGTERM" || e.Killed || e.Outcome() != runlet.OutcomeError {
		t.Errorf("the run is %+v, want Error by SIGTERM, \"timed out after 1s\", not killed", e)
	}
}

// A job with `every: 2s` runs on a real daemon, on the wall clock, as the
// client "scheduler": at least twice, each tick once (R-JOB-7).
func TestScheduleOnTheWallClock(t *testing.T) {
	onEachStack(t, testScheduleOnTheWallClock)
}

func testScheduleOnTheWallClock(t *testing.T, st stack) {
	f := newFleetOn(t, st, "pi-1")
	runs := filepath.Join(t.TempDir(), "runs")
	f.applyJobs(fmt.Sprintf(`
tick:
  every: 2s
  where: custom
  whereCustom: [pi-1]
  script: echo "$RUNLET_EXECUTION_ID" >> %q
`, runs))

	var ticks []runlet.Execution
	testenv.EventuallyEvery(t, "two finished scheduled runs of tick", 90*time.Second, pace, func() bool {
		ticks = ticks[:0]
		finished := 0
		for _, e := range f.activity("pi-1") {
			if e.Job == "tick" {
				ticks = append(ticks, e)
				if e.Status == runlet.StatusFinished {
					finished++
				}
			}
		}
		return finished >= 2
	})
	seen := map[time.Time]string{}
	for _, e := range ticks {
		if e.Client != "scheduler" || e.Device != "pi-1" || e.Scheduled.IsZero() {
			t.Errorf("scheduled run %+v, want client scheduler on pi-1 with its tick's instant", e)
		}
		if other, dup := seen[e.Scheduled]; dup {
			t.Errorf("the tick of %s ran twice: %s and %s", e.Scheduled, other, e.ID)
		}
		seen[e.Scheduled] = e.ID
		if d := e.Scheduled.Sub(ticks[len(ticks)-1].Scheduled); d%(2*time.Second) != 0 {
			t.Errorf("ticks %s apart, want a multiple of 2s", d)
		}
	}
	b, err := os.ReadFile(runs)
	if err != nil {
		t.Fatal(err)
	}
	ran := map[string]int{}
	for _, id := range strings.Fields(string(b)) {
		ran[id]++
		if ran[id] > 1 {
			t.Errorf("execution %s ran %d times", id, ran[id])
		}
	}
	for _, e := range ticks {
		if e.Status == runlet.StatusFinished && ran[e.ID] != 1 {
			t.Errorf("finished run %s is not in what the job wrote: %q", e.ID, b)
		}
	}
	t.Logf("%d scheduled runs, %d written by the job", len(ticks), len(ran))
}
