package storetest

import (
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
)

// testCancel: a stop or kill of a run that has not started ends it at once
// (Error, killed, the reason given, Finished = Now), and what its device
// may still report changes nothing; a run that has started or ended is
// left as it is.
func testCancel(t *testing.T, e *env) {
	ws := e.workspace(t, "default")
	mk := func(device string) *runlet.Execution {
		x := run(ws.ID, "", "upgrade", device)
		ok(t, e.CreateExecution(e.ctx, x))
		return x
	}
	pending, running, ended := mk("pi-1"), mk("pi-2"), mk("mac")
	_, _, err := e.UpdateExecutionStatus(e.ctx, ws.ID, running.ID, "pi-2", store.StatusUpdate{Status: runlet.StatusRunning})
	ok(t, err)
	_, _, err = e.UpdateExecutionStatus(e.ctx, ws.ID, ended.ID, "mac", store.StatusUpdate{Status: runlet.StatusFinished})
	ok(t, err)
	e.clock.Advance(time.Minute)

	got, changed, err := e.CancelExecution(e.ctx, ws.ID, pending.ID, "pi-1", runlet.ReasonKilledBeforeStart)
	ok(t, err)
	want := *pending
	want.Status, want.Killed, want.ExitCode, want.Reason, want.Finished = runlet.StatusError, true, -1, runlet.ReasonKilledBeforeStart, e.clock.Now()
	equal(t, "cancelled changed", changed, true)
	equal(t, "the cancelled run", got, want)
	equal(t, "its outcome", got.Outcome(), runlet.OutcomeKilled)

	// The device comes back and reports what it would have done: nothing
	// moves.
	for _, u := range []store.StatusUpdate{
		{Status: runlet.StatusRunning},
		{Status: runlet.StatusFinished, ExitCode: 0},
		{Status: runlet.StatusError, ExitCode: -1, Reason: runlet.ReasonStoppedBeforeStart},
	} {
		_, changed, err := e.UpdateExecutionStatus(e.ctx, ws.ID, pending.ID, "pi-1", u)
		ok(t, err)
		equal(t, "a late "+string(u.Status)+" changed", changed, false)
	}
	got, err = e.Execution(e.ctx, ws.ID, pending.ID, "pi-1")
	ok(t, err)
	equal(t, "the cancelled run after its device reported", got, want)
	_, changed, err = e.CancelExecution(e.ctx, ws.ID, pending.ID, "pi-1", runlet.ReasonStoppedBeforeStart)
	ok(t, err)
	equal(t, "cancelled twice changed", changed, false)

	// Started or ended: left alone.
	for _, x := range []*runlet.Execution{running, ended} {
		before, err := e.Execution(e.ctx, ws.ID, x.ID, x.Device)
		ok(t, err)
		got, changed, err := e.CancelExecution(e.ctx, ws.ID, x.ID, x.Device, runlet.ReasonStoppedBeforeStart)
		ok(t, err)
		equal(t, "cancel of "+string(before.Status)+" changed", changed, false)
		equal(t, "cancel of "+string(before.Status), got, before)
	}
	_, _, err = e.CancelExecution(e.ctx, ws.ID, "nope", "pi-1", runlet.ReasonStoppedBeforeStart)
	code(t, err, runlet.ENOTFOUND)
	_, _, err = e.CancelExecution(e.ctx, ws.ID, pending.ID, "pi-9", runlet.ReasonStoppedBeforeStart)
	code(t, err, runlet.ENOTFOUND)
}
