package dispatch_test

import (
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/dispatch"
	"github.com/runlet/runlet/store"
	"github.com/runlet/runlet/wire"
)

// A stop or kill of a target that has not started (its device is offline)
// ends it at once, Stopped or Killed, in the store and for the viewers;
// the request still goes to the device, which may hold the run in its
// queue. The statuses the device sends when it comes back change nothing:
// a late Running does not reopen a cancelled run.
func TestStopOrKillOfAPendingTargetEndsItAtOnce(t *testing.T) {
	e := newEnv(t)
	s := e.service(t, e.bus)
	controls := e.controls(t)
	ann := dispatch.User("ann@example.com")
	run, err := s.Run(e.ctx, dispatch.Request{Workspace: e.ws, Client: ann, Job: "hello", Args: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	id := run.Execution
	events := e.events(t)

	if err := s.Stop(e.ctx, e.ws, id, "pi", ann); err != nil {
		t.Fatal(err)
	}
	if err := s.Kill(e.ctx, e.ws, id, "mac", ann); err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		op      wire.ControlOp
		reason  string
		outcome runlet.Outcome
	}{
		"pi":  {wire.OpStop, runlet.ReasonStoppedBeforeStart, runlet.OutcomeStopped},
		"mac": {wire.OpKill, runlet.ReasonKilledBeforeStart, runlet.OutcomeKilled},
	}
	check := func(what string, got map[string]runlet.Execution) {
		t.Helper()
		for device, w := range want {
			x := got[device]
			if x.Status != runlet.StatusError || !x.Killed || x.Reason != w.reason || x.ExitCode != -1 ||
				!x.Finished.Equal(e.clock.Now()) || !x.Started.IsZero() || x.Outcome() != w.outcome {
				t.Errorf("%s: the target on %s is %+v, want Error, killed, %q, finished now, never started: %s",
					what, device, x, w.reason, w.outcome)
			}
		}
	}
	check("the store", e.targets(t, id))
	check("the events", executionEvents(t, events, id, "pi", "mac"))
	for range want {
		m := receive(t, controls, "the requests to the devices")
		j, _ := bus.ParseJobKey(m.key)
		if w := want[j.Device]; j.Exec != id || m.c.Op != w.op || m.c.By != ann.Name {
			t.Errorf("control %+v on %s, want %s by %s", m.c, m.key, w.op, ann.Name)
		}
	}
	wantError(t, s.Stop(e.ctx, e.ws, id, "", ann), runlet.ECONFLICT, "already ended (Killed on mac, Stopped on pi)")

	// The devices come back and report as if they had run it; a second
	// run's status, sent after them on the same queue, shows that the
	// intake has read them.
	later, err := s.Run(e.ctx, dispatch.Request{Workspace: e.ws, Client: ann, Job: "hello", Args: []string{"y"}})
	if err != nil {
		t.Fatal(err)
	}
	executionEvents(t, events, later.Execution, "pi", "mac") // Pending
	for _, st := range []wire.Status{
		{Execution: runlet.Execution{ID: id, Device: "pi", Status: runlet.StatusRunning, Started: e.clock.Now()}},
		{Execution: runlet.Execution{ID: id, Device: "mac", Status: runlet.StatusRunning, Started: e.clock.Now()}},
		{Execution: runlet.Execution{ID: id, Device: "pi", Status: runlet.StatusFinished, Finished: e.clock.Now()}},
		{Execution: runlet.Execution{ID: later.Execution, Device: "pi", Status: runlet.StatusRunning, Started: e.clock.Now()}},
	} {
		e.status(t, st)
	}
	if x := executionEvents(t, events, later.Execution, "pi")["pi"]; x.Status != runlet.StatusRunning {
		t.Fatalf("the second run on pi is %+v, want Running", x)
	}
	check("after the devices reported", e.targets(t, id))
}

// status publishes st as its device does, to the durable status queue.
func (e *env) status(t *testing.T, st wire.Status) {
	t.Helper()
	body, err := wire.Encode(st)
	if err != nil {
		t.Fatal(err)
	}
	m := bus.Message{ID: st.ID + "/" + st.Device + "/" + string(st.Status), Key: bus.StatusKey(st.ID, st.Device), Body: body}
	if err := e.bus.PublishDurable(e.ctx, e.ws, m); err != nil {
		t.Fatal(err)
	}
}

// A job's timeout travels in its dispatch, for the device to enforce.
func TestTimeoutTravelsInTheDispatch(t *testing.T) {
	e := newEnv(t)
	if _, err := e.db.PutJobs(e.ctx, e.ws, []byte(jobsYAML+"limited:\n  script: sleep 600\n  where: all\n  timeout: 90s\n"), 1); err != nil {
		t.Fatal(err)
	}
	s := e.service(t, e.bus)
	pi := e.queued(t, "pi")
	run, err := s.Run(e.ctx, dispatch.Request{Workspace: e.ws, Client: dispatch.System("scheduler"), Job: "limited"})
	if err != nil {
		t.Fatal(err)
	}
	if d := receive(t, pi, "the dispatch on pi's queue"); d.Execution != run.Execution || d.Timeout != 90*time.Second {
		t.Errorf("dispatch %+v, want execution %s with a timeout of 90s", d, run.Execution)
	}
	if _, err := s.Run(e.ctx, dispatch.Request{Workspace: e.ws, Client: dispatch.System("scheduler"), Job: "hello", Args: []string{"x"}}); err != nil {
		t.Fatal(err)
	}
	if d := receive(t, pi, "the dispatch on pi's queue"); d.Timeout != 0 {
		t.Errorf("dispatch of a job without a timeout has one: %+v", d)
	}
}

// With the broker away, a stop still ends a target that has not started
// (its device reads the record before it starts the run), and fails, as
// a sentence, for one that runs, whose device only the broker reaches.
func TestStopWithTheBrokerAway(t *testing.T) {
	e := newEnv(t)
	ann := dispatch.User("ann@example.com")
	run, err := e.service(t, e.bus).Run(e.ctx, dispatch.Request{Workspace: e.ws, Client: ann, Job: "hello", Args: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	id := run.Execution
	if _, _, err := e.db.UpdateExecutionStatus(e.ctx, e.ws, id, "mac", store.StatusUpdate{Status: runlet.StatusRunning}); err != nil {
		t.Fatal(err)
	}
	b := e.connect(t)
	away := e.service(t, b)
	b.Close()

	if err := away.Stop(e.ctx, e.ws, id, "pi", ann); err != nil {
		t.Errorf("stop of pi's target that had not started: %v, want it ended all the same", err)
	}
	if pi := e.targets(t, id)["pi"]; pi.Outcome() != runlet.OutcomeStopped || pi.Reason != runlet.ReasonStoppedBeforeStart {
		t.Errorf("pi's target %+v, want Stopped before it started", pi)
	}
	wantError(t, away.Stop(e.ctx, e.ws, id, "mac", ann), runlet.EUNAVAILABLE, "The broker did not take the stop request")
	if mac := e.targets(t, id)["mac"]; mac.Status != runlet.StatusRunning || !mac.Killed {
		t.Errorf("mac's target %+v, want Running, the stop recorded", mac)
	}
}
