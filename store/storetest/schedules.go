package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
)

// testLeases: one holder at a time; the holder renews, another takes the
// lease only once it expired or was released.
func testLeases(t *testing.T, e *env) {
	const ttl = 10 * time.Second
	acquire := func(name, holder string, wantHeld bool) store.Lease {
		t.Helper()
		l, held, err := e.AcquireLease(e.ctx, name, holder, ttl)
		ok(t, err)
		if held != wantHeld {
			t.Fatalf("AcquireLease(%s, %s) held = %v, want %v (lease %+v)", name, holder, held, wantHeld, l)
		}
		return l
	}
	_, err := e.Lease(e.ctx, "scheduler")
	code(t, err, runlet.ENOTFOUND)

	start := e.clock.Now().Truncate(time.Microsecond)
	a := acquire("scheduler", "a", true)
	equal(t, "a new lease", a, store.Lease{Name: "scheduler", Holder: "a", Acquired: start, Expires: start.Add(ttl)})
	equal(t, "the lease held by another", acquire("scheduler", "b", false), a)
	got, err := e.Lease(e.ctx, "scheduler")
	ok(t, err)
	equal(t, "Lease", got, a)

	e.clock.Advance(ttl / 2)
	renewed := acquire("scheduler", "a", true)
	equal(t, "a renewal keeps Acquired", renewed, store.Lease{Name: "scheduler", Holder: "a", Acquired: start, Expires: start.Add(ttl / 2).Add(ttl)})
	e.clock.Advance(ttl - time.Microsecond)
	acquire("scheduler", "b", false) // a microsecond before it expires
	e.clock.Advance(time.Microsecond)
	b := acquire("scheduler", "b", true)
	equal(t, "an expired lease taken", b, store.Lease{Name: "scheduler", Holder: "b", Acquired: e.clock.Now().Truncate(time.Microsecond), Expires: e.clock.Now().Truncate(time.Microsecond).Add(ttl)})
	acquire("scheduler", "a", false)

	// Other names are other leases.
	acquire("silence", "a", true)

	ok(t, e.ReleaseLease(e.ctx, "scheduler", "a")) // a does not hold it: nothing
	got, err = e.Lease(e.ctx, "scheduler")
	ok(t, err)
	equal(t, "the lease after another's release", got, b)
	ok(t, e.ReleaseLease(e.ctx, "scheduler", "b"))
	_, err = e.Lease(e.ctx, "scheduler")
	code(t, err, runlet.ENOTFOUND)
	acquire("scheduler", "a", true) // at once, not at expiry

	// A holder that lets its lease expire and takes it again took it anew.
	e.clock.Advance(2 * ttl)
	again := acquire("scheduler", "a", true)
	equal(t, "Acquired of a lease taken again after expiry", again.Acquired, e.clock.Now().Truncate(time.Microsecond))

	for _, bad := range []struct {
		name, holder string
		ttl          time.Duration
	}{{"", "a", ttl}, {"x", "", ttl}, {"x", "a", 0}, {"x", "a", -time.Second}, {"x", "a", time.Microsecond}} {
		_, _, err := e.AcquireLease(e.ctx, bad.name, bad.holder, bad.ttl)
		code(t, err, runlet.EINVALID)
	}
}

// testLeaseRace has holders ask for a free lease at once: one gets it.
func testLeaseRace(t *testing.T, e *env) {
	const holders = 8
	held := make([]bool, holders)
	errs := make([]error, holders)
	var wg sync.WaitGroup
	for i := range holders {
		wg.Go(func() {
			_, held[i], errs[i] = e.AcquireLease(e.ctx, "scheduler", fmt.Sprintf("holder-%d", i), time.Minute)
		})
	}
	wg.Wait()
	n := 0
	for i := range holders {
		ok(t, errs[i])
		if held[i] {
			n++
		}
	}
	equal(t, "holders given the lease", n, 1)
}

// testTicks: a tick is claimed once; a stale claim is taken over with its
// execution ID; only the claim's holder finishes it.
func testTicks(t *testing.T, e *env) {
	const stale = 30 * time.Second
	ws := e.workspace(t, "default")
	at := e.clock.Now().Add(-time.Second).Truncate(time.Microsecond)
	tick := func(holder, execution string) runlet.Tick {
		return runlet.Tick{Workspace: ws.ID, Job: "backup", At: at, Every: "every day at 02:00", Execution: execution, Holder: holder}
	}
	claim := func(t0 runlet.Tick, want bool) runlet.Tick {
		t.Helper()
		got, claimed, err := e.ClaimTick(e.ctx, t0, stale)
		ok(t, err)
		if claimed != want {
			t.Fatalf("ClaimTick by %s: claimed = %v, want %v (tick %+v)", t0.Holder, claimed, want, got)
		}
		return got
	}

	first := claim(tick("a", "x1"), true)
	want := tick("a", "x1")
	want.State, want.Claimed = runlet.TickClaimed, e.clock.Now().Truncate(time.Microsecond)
	equal(t, "a new claim", first, want)
	equal(t, "a claim by another", claim(tick("b", "x2"), false), want)
	e.clock.Advance(time.Second)
	retried := claim(tick("a", "x3"), true) // the holder tries again
	equal(t, "a retried claim keeps the execution", []any{retried.Execution, retried.Holder}, []any{"x1", "a"})

	e.clock.Advance(stale - time.Microsecond)
	claim(tick("b", "x2"), false) // not stale yet
	e.clock.Advance(time.Microsecond)
	taken := claim(tick("b", "x2"), true)
	want.Holder, want.Claimed = "b", e.clock.Now().Truncate(time.Microsecond)
	equal(t, "a stale claim taken over, with its execution", taken, want)

	_, err := e.FinishTick(e.ctx, ws.ID, "backup", at, "a", runlet.TickStarted, "")
	code(t, err, runlet.ECONFLICT) // a lost it
	done, err := e.FinishTick(e.ctx, ws.ID, "backup", at, "b", runlet.TickStarted, "")
	ok(t, err)
	want.State = runlet.TickStarted
	equal(t, "the finished tick", done, want)
	_, err = e.FinishTick(e.ctx, ws.ID, "backup", at, "b", runlet.TickFailed, "twice")
	code(t, err, runlet.ECONFLICT)
	e.clock.Advance(2 * stale)
	equal(t, "a claim of a finished tick, however old", claim(tick("c", "x4"), false), want)

	_, err = e.FinishTick(e.ctx, ws.ID, "backup", at.Add(time.Hour), "b", runlet.TickStarted, "")
	code(t, err, runlet.ENOTFOUND)
	for _, state := range []runlet.TickState{runlet.TickClaimed, "done", ""} {
		_, err = e.FinishTick(e.ctx, ws.ID, "backup", at, "b", state, "")
		code(t, err, runlet.EINVALID)
	}
	for _, bad := range []runlet.Tick{
		{Workspace: ws.ID, At: at, Execution: "x", Holder: "a"},
		{Workspace: ws.ID, Job: "j", Execution: "x", Holder: "a"},
		{Workspace: ws.ID, Job: "j", At: at, Holder: "a"},
		{Workspace: ws.ID, Job: "j", At: at, Execution: "x"},
	} {
		_, _, err = e.ClaimTick(e.ctx, bad, stale)
		code(t, err, runlet.EINVALID)
	}
	_, _, err = e.ClaimTick(e.ctx, runlet.Tick{Workspace: "nope", Job: "j", At: at, Execution: "x", Holder: "a"}, stale)
	code(t, err, runlet.ENOTFOUND)

	// The last tick of each job, deleted jobs too, by name.
	skipped := runlet.Tick{Workspace: ws.ID, Job: "backup", At: at.Add(time.Hour), Every: "every hour", Execution: "x5", Holder: "b"}
	claim(skipped, true)
	skippedDone, err := e.FinishTick(e.ctx, ws.ID, "backup", skipped.At, "b", runlet.TickSkipped, "missed while no scheduler ran")
	ok(t, err)
	other := claim(runlet.Tick{Workspace: ws.ID, Job: "a-report", At: at, Every: "15m", Execution: "x6", Holder: "b"}, true)
	last, err := e.LastTicks(e.ctx, ws.ID)
	ok(t, err)
	equal(t, "last ticks", last, []runlet.Tick{other, skippedDone})
	equal(t, "the skipped tick's reason", skippedDone.Reason, "missed while no scheduler ran")
	none, err := e.LastTicks(e.ctx, e.workspace(t, "empty").ID)
	ok(t, err)
	equal(t, "last ticks of a workspace without", none, []runlet.Tick{})
}

// testTickRace has schedulers claim one tick at once: one runs it.
func testTickRace(t *testing.T, e *env) {
	ws := e.workspace(t, "default")
	at := e.clock.Now().Truncate(time.Minute)
	const holders = 8
	claimed := make([]bool, holders)
	got := make([]runlet.Tick, holders)
	errs := make([]error, holders)
	var wg sync.WaitGroup
	for i := range holders {
		wg.Go(func() {
			got[i], claimed[i], errs[i] = e.ClaimTick(e.ctx, runlet.Tick{Workspace: ws.ID, Job: "j", At: at, Every: "1m",
				Execution: fmt.Sprintf("x%d", i), Holder: fmt.Sprintf("h%d", i)}, time.Minute)
		})
	}
	wg.Wait()
	winner := -1
	for i := range holders {
		ok(t, errs[i])
		if claimed[i] {
			if winner >= 0 {
				t.Fatalf("both %d and %d claimed the tick", winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatal("no one claimed the tick")
	}
	for i := range holders {
		equal(t, fmt.Sprintf("the tick as holder %d sees it", i), got[i].Execution, fmt.Sprintf("x%d", winner))
	}
}

// testTickHistory: a job keeps its last TickHistory ticks; an older one is
// forgotten.
func testTickHistory(t *testing.T, e *env) {
	ws := e.workspace(t, "default")
	start := e.clock.Now().Truncate(time.Minute)
	at := func(i int) time.Time { return start.Add(time.Duration(i) * time.Minute) }
	for i := range store.TickHistory + 2 {
		tk := runlet.Tick{Workspace: ws.ID, Job: "j", At: at(i), Every: "1m", Execution: fmt.Sprintf("x%d", i), Holder: "a"}
		_, claimed, err := e.ClaimTick(e.ctx, tk, time.Minute)
		ok(t, err)
		equal(t, "claimed", claimed, true)
		_, err = e.FinishTick(e.ctx, ws.ID, "j", tk.At, "a", runlet.TickStarted, "")
		ok(t, err)
	}
	kept := runlet.Tick{Workspace: ws.ID, Job: "j", At: at(2), Every: "1m", Execution: "y", Holder: "b"}
	got, claimed, err := e.ClaimTick(e.ctx, kept, time.Minute)
	ok(t, err)
	equal(t, "the oldest tick kept", []any{claimed, got.Execution}, []any{false, "x2"})
	kept.At = at(1)
	_, claimed, err = e.ClaimTick(e.ctx, kept, time.Minute)
	ok(t, err)
	equal(t, "a tick older than the history is forgotten", claimed, true)
}
