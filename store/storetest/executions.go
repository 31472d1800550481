package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
)

// run returns a Pending execution of job on device.
func run(ws, id, job, device string) *runlet.Execution {
	return &runlet.Execution{Workspace: ws, ID: id, Job: job, Device: device, Client: "pi-1"}
}

func testExecutions(t *testing.T, e *env) {
	ws, other := e.workspace(t, "default"), e.workspace(t, "other")
	scheduled := e.clock.Now().Add(-time.Second)
	x := run(ws.ID, "", "backup", "pi-1")
	x.Scheduled, x.Expires = scheduled, e.clock.Now().Add(24*time.Hour)
	ok(t, e.CreateExecution(e.ctx, x))
	if x.ID == "" || x.Status != runlet.StatusPending || !x.Created.Equal(e.clock.Now()) {
		t.Fatalf("created execution %+v: want an ID, Pending, Created = now", x)
	}
	got, err := e.Execution(e.ctx, ws.ID, x.ID, "pi-1")
	ok(t, err)
	equal(t, "Execution", got, *x)

	// A fan-out: one ID, one run per device.
	y := run(ws.ID, x.ID, "backup", "pi-2")
	ok(t, e.CreateExecution(e.ctx, y))
	targets, err := e.ExecutionTargets(e.ctx, ws.ID, x.ID)
	ok(t, err)
	equal(t, "targets", targets, []runlet.Execution{*x, *y})
	code(t, e.CreateExecution(e.ctx, run(ws.ID, x.ID, "backup", "pi-2")), runlet.ECONFLICT)

	// The other workspace sees none of it, and may use the same ID.
	_, err = e.Execution(e.ctx, other.ID, x.ID, "pi-1")
	code(t, err, runlet.ENOTFOUND)
	_, err = e.ExecutionTargets(e.ctx, other.ID, x.ID)
	code(t, err, runlet.ENOTFOUND)
	ok(t, e.CreateExecution(e.ctx, run(other.ID, x.ID, "backup", "pi-1")))
	_, _, err = e.UpdateExecutionStatus(e.ctx, other.ID, x.ID, "pi-2", store.StatusUpdate{Status: runlet.StatusRunning})
	code(t, err, runlet.ENOTFOUND)

	code(t, e.CreateExecution(e.ctx, run(ws.ID, "", "", "pi-1")), runlet.EINVALID)
	code(t, e.CreateExecution(e.ctx, run(ws.ID, "", "backup", "")), runlet.EINVALID)
	started := run(ws.ID, "", "backup", "pi-1")
	started.Status = runlet.StatusRunning
	code(t, e.CreateExecution(e.ctx, started), runlet.EINVALID)
	code(t, e.CreateExecution(e.ctx, run("nope", "", "backup", "pi-1")), runlet.ENOTFOUND)
}

// testExecutionsFanOut checks CreateExecutions: every target or none.
func testExecutionsFanOut(t *testing.T, e *env) {
	ws := e.workspace(t, "default")
	id := store.NewID()
	xs := []*runlet.Execution{run(ws.ID, id, "backup", "pi-1"), run(ws.ID, id, "backup", "pi-2"), run(ws.ID, id, "backup", "pi-3")}
	ok(t, e.CreateExecutions(e.ctx, xs))
	var want []runlet.Execution
	for _, x := range xs {
		if x.ID != id || x.Status != runlet.StatusPending || !x.Created.Equal(e.clock.Now()) {
			t.Fatalf("created execution %+v: want ID %s, Pending, Created = now", x, id)
		}
		want = append(want, *x)
	}
	targets, err := e.ExecutionTargets(e.ctx, ws.ID, id)
	ok(t, err)
	equal(t, "targets", targets, want)
	ok(t, e.CreateExecutions(e.ctx, nil))

	// One target taken already, or one invalid: none of the others is stored.
	other := store.NewID()
	code(t, e.CreateExecutions(e.ctx, []*runlet.Execution{run(ws.ID, other, "backup", "pi-1"), run(ws.ID, id, "backup", "pi-2")}), runlet.ECONFLICT)
	code(t, e.CreateExecutions(e.ctx, []*runlet.Execution{run(ws.ID, other, "backup", "pi-1"), run(ws.ID, other, "", "pi-2")}), runlet.EINVALID)
	code(t, e.CreateExecutions(e.ctx, []*runlet.Execution{run(ws.ID, other, "backup", "pi-1"), run("nope", other, "backup", "pi-2")}), runlet.ENOTFOUND)
	_, err = e.ExecutionTargets(e.ctx, ws.ID, other)
	code(t, err, runlet.ENOTFOUND)
}

func testExecutionPages(t *testing.T, e *env) {
	ws := e.workspace(t, "default")
	var ids []string // oldest first
	for i, device := range []string{"pi-1", "pi-2", "mac", "pi-1", "pi-2", "mac", "pi-1"} {
		if i%2 == 0 { // some runs share a created time: insertion order decides
			e.clock.Advance(time.Second)
		}
		job := "backup"
		if device == "mac" {
			job = "build"
		}
		x := run(ws.ID, "", job, device)
		ok(t, e.CreateExecution(e.ctx, x))
		ids = append(ids, x.ID)
	}
	_, _, err := e.UpdateExecutionStatus(e.ctx, ws.ID, ids[3], "pi-1", store.StatusUpdate{Status: runlet.StatusRunning})
	ok(t, err)
	newest := func(idx ...int) []string {
		var out []string
		for _, i := range idx {
			out = append(out, ids[i])
		}
		return out
	}
	list := func(f store.ExecutionFilter) []string {
		t.Helper()
		es, err := e.ListExecutions(e.ctx, ws.ID, f)
		ok(t, err)
		out := []string{}
		for _, x := range es {
			out = append(out, x.ID)
		}
		return out
	}
	equal(t, "all, newest first", list(store.ExecutionFilter{}), newest(6, 5, 4, 3, 2, 1, 0))
	equal(t, "page 1", list(store.ExecutionFilter{Limit: 3}), newest(6, 5, 4))
	equal(t, "page 2", list(store.ExecutionFilter{Limit: 3, Offset: 3}), newest(3, 2, 1))
	equal(t, "page 3", list(store.ExecutionFilter{Limit: 3, Offset: 6}), newest(0))
	equal(t, "past the end", list(store.ExecutionFilter{Limit: 3, Offset: 9}), []string{})
	equal(t, "device pi-1", list(store.ExecutionFilter{Device: "pi-1"}), newest(6, 3, 0))
	equal(t, "job build", list(store.ExecutionFilter{Job: "build"}), newest(5, 2))
	equal(t, "running", list(store.ExecutionFilter{Status: runlet.StatusRunning}), newest(3))
	equal(t, "pending on pi-1", list(store.ExecutionFilter{Device: "pi-1", Status: runlet.StatusPending, Limit: 1}), newest(6))
	equal(t, "other workspace", list(store.ExecutionFilter{Device: "nope"}), []string{})

	for _, bad := range []store.ExecutionFilter{{Limit: -1}, {Offset: -1}, {Status: "Done"}} {
		_, err := e.ListExecutions(e.ctx, ws.ID, bad)
		code(t, err, runlet.EINVALID)
	}
}

func testStatusTransitions(t *testing.T, e *env) {
	ws := e.workspace(t, "default")
	x := run(ws.ID, "", "backup", "pi-1")
	ok(t, e.CreateExecution(e.ctx, x))
	at := func(s int) time.Time { return x.Created.Add(time.Duration(s) * time.Second) }
	steps := []struct {
		name    string
		u       store.StatusUpdate
		changed bool
		status  runlet.Status
	}{
		{"start", store.StatusUpdate{Status: runlet.StatusRunning, Time: at(1)}, true, runlet.StatusRunning},
		{"start replayed", store.StatusUpdate{Status: runlet.StatusRunning, Time: at(2)}, false, runlet.StatusRunning},
		{"finish", store.StatusUpdate{Status: runlet.StatusFinished, Time: at(5), ExitCode: 3, Signal: "SIGTERM"}, true, runlet.StatusFinished},
		{"finish replayed", store.StatusUpdate{Status: runlet.StatusFinished, Time: at(6), ExitCode: 9}, false, runlet.StatusFinished},
		{"error after the end", store.StatusUpdate{Status: runlet.StatusError, Time: at(7), Reason: "lost"}, false, runlet.StatusFinished},
		{"start after the end", store.StatusUpdate{Status: runlet.StatusRunning, Time: at(8)}, false, runlet.StatusFinished},
	}
	for _, s := range steps {
		got, changed, err := e.UpdateExecutionStatus(e.ctx, ws.ID, x.ID, "pi-1", s.u)
		ok(t, err)
		if changed != s.changed || got.Status != s.status {
			t.Fatalf("%s: changed %v, status %s; want %v, %s", s.name, changed, got.Status, s.changed, s.status)
		}
	}
	got, err := e.Execution(e.ctx, ws.ID, x.ID, "pi-1")
	ok(t, err)
	want := *x
	want.Status, want.Started, want.Finished, want.ExitCode, want.Signal = runlet.StatusFinished, at(1), at(5), 3, "SIGTERM"
	equal(t, "after the transitions", got, want)
	equal(t, "duration", got.Duration(), 4*time.Second)

	// A run that never started may end at once (failed to start, lost);
	// the Running that arrives late changes nothing.
	y := run(ws.ID, "", "backup", "pi-2")
	ok(t, e.CreateExecution(e.ctx, y))
	got, changed, err := e.UpdateExecutionStatus(e.ctx, ws.ID, y.ID, "pi-2",
		store.StatusUpdate{Status: runlet.StatusError, ExitCode: -1, Reason: "entrypoint not found"})
	ok(t, err)
	if !changed || got.Status != runlet.StatusError || got.Reason != "entrypoint not found" || !got.Finished.Equal(e.clock.Now()) {
		t.Fatalf("Pending → Error: %+v, changed %v; want Error with reason, Finished = Now", got, changed)
	}
	_, changed, err = e.UpdateExecutionStatus(e.ctx, ws.ID, y.ID, "pi-2", store.StatusUpdate{Status: runlet.StatusRunning})
	ok(t, err)
	equal(t, "late Running changed", changed, false)

	for _, bad := range []runlet.Status{runlet.StatusPending, "Done", ""} {
		_, _, err = e.UpdateExecutionStatus(e.ctx, ws.ID, x.ID, "pi-1", store.StatusUpdate{Status: bad})
		code(t, err, runlet.EINVALID)
	}
	_, _, err = e.UpdateExecutionStatus(e.ctx, ws.ID, "nope", "pi-1", store.StatusUpdate{Status: runlet.StatusRunning})
	code(t, err, runlet.ENOTFOUND)
	_, _, err = e.UpdateExecutionStatus(e.ctx, ws.ID, x.ID, "mac", store.StatusUpdate{Status: runlet.StatusFinished})
	code(t, err, runlet.ENOTFOUND)
}

// testStatusConcurrent replays status messages out of order from several
// consumers at once: the run ends Finished, and exactly one Running and one
// final update report a change.
func testStatusConcurrent(t *testing.T, e *env) {
	ws := e.workspace(t, "default")
	x := run(ws.ID, "", "backup", "pi-1")
	ok(t, e.CreateExecution(e.ctx, x))
	updates := []store.StatusUpdate{
		{Status: runlet.StatusRunning}, {Status: runlet.StatusFinished, ExitCode: 0}, {Status: runlet.StatusRunning},
		{Status: runlet.StatusFinished, ExitCode: 0}, {Status: runlet.StatusRunning}, {Status: runlet.StatusFinished, ExitCode: 0},
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		changed = map[runlet.Status]int{}
	)
	for _, u := range updates {
		wg.Go(func() {
			_, c, err := e.UpdateExecutionStatus(e.ctx, ws.ID, x.ID, "pi-1", u)
			if err != nil {
				t.Errorf("UpdateExecutionStatus: %v", err)
				return
			}
			if c {
				mu.Lock()
				changed[u.Status]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	got, err := e.Execution(e.ctx, ws.ID, x.ID, "pi-1")
	ok(t, err)
	equal(t, "final status", got.Status, runlet.StatusFinished)
	if changed[runlet.StatusFinished] != 1 || changed[runlet.StatusRunning] > 1 {
		t.Fatalf("changes by status: %v; want exactly one Finished and at most one Running", changed)
	}
}

func testKillExpiry(t *testing.T, e *env) {
	ws := e.workspace(t, "default")
	soon, later := e.clock.Now().Add(time.Hour), e.clock.Now().Add(2*time.Hour)
	mk := func(device string, expires time.Time) *runlet.Execution {
		x := run(ws.ID, "", "backup", device)
		x.Expires = expires
		ok(t, e.CreateExecution(e.ctx, x))
		return x
	}
	offline, patient, running, forever := mk("pi-1", soon), mk("pi-2", later), mk("mac", soon), mk("pi-3", time.Time{})
	_, _, err := e.UpdateExecutionStatus(e.ctx, ws.ID, running.ID, "mac", store.StatusUpdate{Status: runlet.StatusRunning})
	ok(t, err)

	got, err := e.MarkExecutionKilled(e.ctx, ws.ID, running.ID, "mac")
	ok(t, err)
	equal(t, "killed", got.Killed, true)
	_, _, err = e.UpdateExecutionStatus(e.ctx, ws.ID, running.ID, "mac", store.StatusUpdate{Status: runlet.StatusFinished, ExitCode: 137, Signal: "SIGKILL"})
	ok(t, err)
	_, err = e.MarkExecutionKilled(e.ctx, ws.ID, "nope", "mac")
	code(t, err, runlet.ENOTFOUND)

	e.clock.Advance(30 * time.Minute)
	expired, err := e.ExpireExecutions(e.ctx)
	ok(t, err)
	equal(t, "expired before the hour", len(expired), 0)

	e.clock.Advance(30 * time.Minute)
	expired, err = e.ExpireExecutions(e.ctx)
	ok(t, err)
	if len(expired) != 1 || expired[0].ID != offline.ID || expired[0].Status != runlet.StatusError ||
		expired[0].Reason == "" || !expired[0].Finished.Equal(e.clock.Now()) {
		t.Fatalf("expired = %+v; want only %s, Error with a reason, Finished = Now", expired, offline.ID)
	}
	got, err = e.MarkExecutionKilled(e.ctx, ws.ID, offline.ID, "pi-1")
	ok(t, err)
	equal(t, "kill after the end changes nothing", got.Killed, false)
	_, changed, err := e.UpdateExecutionStatus(e.ctx, ws.ID, offline.ID, "pi-1", store.StatusUpdate{Status: runlet.StatusRunning})
	ok(t, err)
	equal(t, "an expired run never starts", changed, false)

	e.clock.Advance(24 * time.Hour)
	expired, err = e.ExpireExecutions(e.ctx)
	ok(t, err)
	equal(t, "expired later", len(expired), 1)
	equal(t, "expired later", expired[0].ID, patient.ID)
	for _, x := range []*runlet.Execution{running, forever} {
		got, err := e.Execution(e.ctx, ws.ID, x.ID, x.Device)
		ok(t, err)
		if got.Status == runlet.StatusError {
			t.Fatalf("%s on %s expired: %+v", x.ID, x.Device, got)
		}
	}
}
