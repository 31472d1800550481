package runner

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/internal/testenv"
)

// plainShell skips the login profile, which the queue tests do not need
// and which makes every start slow on machines with a heavy ~/.profile.
var plainShell = []string{"/bin/bash"}

// R-JOB-3: 20 jobs queued at once, never more than Parallel at a time, as
// seen by the jobs themselves and by OnStatus.
//
// Nothing here depends on timing. Each job marks its start, then holds its
// slot until the test creates its gate file. The test opens the gates one
// at a time, in the order the jobs started, and each only once the runner
// has filled every slot it may: so Parallel jobs are certain to run at
// once however slow the machine, and a job started beyond the limit would
// mark its start while the others still hold theirs.
func TestParallelismLimitHolds(t *testing.T) {
	const parallel, jobs = 3, 20
	dir := t.TempDir()
	marks := filepath.Join(dir, "marks")
	gate := func(i string) string { return filepath.Join(dir, "gate-"+i) }
	var st statusLog
	r := newRunner(t, Config{Parallel: parallel, OnStatus: st.add})
	var all []*Execution
	for i := range jobs {
		all = append(all, enqueue(t, r, Spec{
			Entrypoint: plainShell,
			Script: fmt.Sprintf("echo start %d >> %s; until [ -e %s ]; do sleep 0.05; done; echo end %d >> %s",
				i, marks, gate(strconv.Itoa(i)), i, marks),
		}))
	}
	for opened := 0; opened < jobs; opened++ {
		want := min(opened+parallel, jobs)
		var started []string
		testenv.Eventually(t, fmt.Sprintf("%d jobs started, %d of them let go", want, opened), patience, func() bool {
			started = startedJobs(t, marks)
			return len(started) >= want
		})
		// The gates opened so far are those of started[:opened].
		if err := os.WriteFile(gate(started[opened]), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range all {
		if end := waitDone(t, e); end.Status != runlet.StatusFinished {
			t.Fatalf("execution %s: %+v", e.ID(), end)
		}
	}

	b, err := os.ReadFile(marks)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2*jobs {
		t.Fatalf("%d marks, want %d:\n%s", len(lines), 2*jobs, b)
	}
	if most := mostAtOnce(lines, "start", "end"); most > parallel || most < 2 {
		t.Errorf("jobs saw %d of them running at once, want 2..%d:\n%s", most, parallel, b)
	}
	var events []string
	for _, e := range st.list() {
		events = append(events, string(e.Status))
	}
	if most := mostAtOnce(events, string(runlet.StatusRunning), string(runlet.StatusFinished)); most > parallel {
		t.Errorf("OnStatus saw %d running at once, more than %d", most, parallel)
	}
}

// startedJobs lists the jobs whose "start N" mark is in the file marks, in
// the order they wrote it; a line still being written is not counted.
func startedJobs(t testing.TB, marks string) []string {
	t.Helper()
	b, err := os.ReadFile(marks)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var ids []string
	for line := range strings.Lines(string(b)) {
		if f := strings.Fields(line); strings.HasSuffix(line, "\n") && len(f) == 2 && f[0] == "start" {
			ids = append(ids, f[1])
		}
	}
	return ids
}

// mostAtOnce counts the most lines starting with open not yet matched by a
// line starting with close.
func mostAtOnce(lines []string, open, close string) int {
	now, most := 0, 0
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, open):
			now++
			most = max(most, now)
		case strings.HasPrefix(l, close):
			now--
		}
	}
	return most
}

// R-JOB-3: with one slot, jobs run in the order they were enqueued.
func TestFIFOOrder(t *testing.T) {
	const jobs = 12
	order := filepath.Join(t.TempDir(), "order")
	var st statusLog
	r := newRunner(t, Config{Parallel: 1, OnStatus: st.add})
	var ids []string
	var last *Execution
	for i := range jobs {
		last = enqueue(t, r, Spec{Entrypoint: plainShell, Script: fmt.Sprintf("echo %d >> %s", i, order)})
		ids = append(ids, last.ID())
	}
	waitDone(t, last)

	b, err := os.ReadFile(order)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range jobs {
		want = append(want, strconv.Itoa(i))
	}
	if got := strings.Fields(string(b)); !slices.Equal(got, want) {
		t.Errorf("jobs ran in the order %v, want %v", got, want)
	}
	var started []string
	for _, e := range st.list() {
		if e.Status == runlet.StatusRunning {
			started = append(started, e.ID)
		}
	}
	if !slices.Equal(started, ids) {
		t.Errorf("Running reported in the order %v, want %v", started, ids)
	}
}

// R-JOB-6 before the start: a pending execution leaves the queue and never
// runs; the ones behind it move up.
func TestStopAndKillWhilePending(t *testing.T) {
	var st statusLog
	r := newRunner(t, Config{Parallel: 1, OnStatus: st.add})
	blocker := enqueue(t, r, Spec{Entrypoint: plainShell, Script: `read -p "hold " x`})
	stopped := enqueue(t, r, Spec{Entrypoint: plainShell, Script: "echo never"})
	killed := enqueue(t, r, Spec{Entrypoint: plainShell, Script: "echo never"})
	after := enqueue(t, r, Spec{Entrypoint: plainShell, Script: "echo after"})
	watch(t, blocker).waitFor(t, "hold ")
	if err := r.Remove(blocker.ID()); runlet.ErrorCode(err) != runlet.ECONFLICT {
		t.Errorf("Remove of a running execution: %v, want a conflict", err)
	}
	// Input typed while pending is kept for the start, which never comes.
	if err := stopped.Input([]byte("x")); err != nil {
		t.Errorf("Input while pending: %v, want it kept for the start", err)
	}
	if err := stopped.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := killed.Kill(); err != nil {
		t.Fatal(err)
	}
	for e, reason := range map[*Execution]string{stopped: "stopped before it started", killed: "killed before it started"} {
		end := waitDone(t, e)
		if end.Status != runlet.StatusError || end.Reason != reason || !end.Killed || !end.Started.IsZero() {
			t.Errorf("end state %+v, want Error %q", end, reason)
		}
		if got := st.statuses(e.ID()); !slices.Equal(got, []runlet.Status{runlet.StatusPending, runlet.StatusError}) {
			t.Errorf("transitions %v", got)
		}
		if fs := frames(t, e, 1); len(fs) != 0 || e.LogPath() != "" {
			t.Errorf("an execution that never started has frames %v, log %q", fs, e.LogPath())
		}
		if err := e.Input([]byte("x")); runlet.ErrorCode(err) != runlet.ECONFLICT {
			t.Errorf("Input after an end before the start: %v, want a conflict", err)
		}
	}
	if err := blocker.Input([]byte("\r")); err != nil {
		t.Fatal(err)
	}
	if end := waitDone(t, after); end.Status != runlet.StatusFinished {
		t.Errorf("the execution behind the stopped ones: %+v", end)
	}
}

// Close kills what runs, drops what waits, and refuses new work.
func TestCloseEndsEverything(t *testing.T) {
	var st statusLog
	r := newRunner(t, Config{Parallel: 1, StopGrace: time.Hour, OnStatus: st.add})
	running := enqueue(t, r, Spec{Entrypoint: plainShell, Script: `trap '' TERM HUP; echo ready; sleep 100`})
	waiting := enqueue(t, r, Spec{Entrypoint: plainShell, Script: "echo never"})
	s := watch(t, running)
	s.waitFor(t, "ready")
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	// Close has waited: both have ended already.
	for _, e := range []*Execution{running, waiting} {
		select {
		case <-e.Done():
		default:
			t.Fatalf("execution %s still going after Close", e.ID())
		}
		if end := e.State(); end.Status != runlet.StatusError || end.Reason != "runner closed" {
			t.Errorf("end state %+v, want Error: runner closed", end)
		}
	}
	if got := running.State().Signal; got != "SIGKILL" {
		t.Errorf("running execution ended by %q, want SIGKILL", got)
	}
	s.waitFor(t, "Exited with code: -1 (killed by SIGKILL)")
	if _, err := r.Enqueue(Spec{Script: "true"}); runlet.ErrorCode(err) != runlet.EUNAVAILABLE {
		t.Errorf("Enqueue after Close: %v, want unavailable", err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
