package dispatch_test

import (
	"testing"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/dispatch"
	"github.com/runlet/runlet/store"
)

// A stop or kill of an execution whose every target has ended does
// nothing and says so, naming how each target ended: ECONFLICT, which the
// API answers 409 and the CLI turns into a sentence and a non-zero exit.
func TestStopOrKillOfAnEndedExecution(t *testing.T) {
	e := newEnv(t)
	s := e.service(t, e.bus)
	controls := e.controls(t)
	ann := dispatch.User("ann@example.com")
	run, err := s.Run(e.ctx, dispatch.Request{Workspace: e.ws, Client: ann, Job: "hello", Args: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	id := run.Execution
	// mac finished; pi was stopped, and its runner said so.
	if _, _, err := e.db.UpdateExecutionStatus(e.ctx, e.ws, id, "mac", store.StatusUpdate{Status: runlet.StatusFinished}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.MarkExecutionKilled(e.ctx, e.ws, id, "pi"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.db.UpdateExecutionStatus(e.ctx, e.ws, id, "pi", store.StatusUpdate{
		Status: runlet.StatusError, Signal: "SIGTERM", Reason: runlet.ReasonStopped + " (SIGTERM)"}); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		call   func(exec, device string) error
		device string
		want   []string
	}{
		{func(x, d string) error { return s.Stop(e.ctx, e.ws, x, d, ann) }, "", []string{"already ended", "Finished on mac", "Stopped on pi", "nothing to stop"}},
		{func(x, d string) error { return s.Kill(e.ctx, e.ws, x, d, ann) }, "", []string{"already ended", "nothing to kill"}},
		{func(x, d string) error { return s.Kill(e.ctx, e.ws, x, d, ann) }, "pi", []string{"already ended (Stopped on pi)"}},
	} {
		wantError(t, c.call(id, c.device), runlet.ECONFLICT, c.want...)
	}
	// Nothing reached a device; an unknown execution is still not found.
	wantError(t, s.Kill(e.ctx, e.ws, "nope", "", ann), runlet.ENOTFOUND, "nope")
	select {
	case m := <-controls:
		t.Errorf("control %+v on %s for an ended execution", m.c, m.key)
	default:
	}
	if pi := e.targets(t, id)["pi"]; pi.Outcome() != runlet.OutcomeStopped {
		t.Errorf("pi's target %+v, want still Stopped", pi)
	}
	if mac := e.targets(t, id)["mac"]; mac.Killed {
		t.Errorf("mac's target %+v is marked killed after a refused kill", mac)
	}
}
