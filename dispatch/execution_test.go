package dispatch_test

import (
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/dispatch"
)

// A caller that gives the execution ID (the scheduler, for a tick) starts
// the run once: the same ID again is refused with ECONFLICT and queues
// nothing more. The run carries the instant it was scheduled for.
func TestGivenExecutionRunsOnce(t *testing.T) {
	e := newEnv(t)
	s := e.service(t, e.bus)
	pi := e.queued(t, "pi")
	tick := e.clock.Now().Truncate(time.Minute)
	req := dispatch.Request{Workspace: e.ws, Client: dispatch.System("scheduler"), Job: "hello", Args: []string{"world"}, Execution: "tick0001", Scheduled: tick}

	run, err := s.Run(e.ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if run.Execution != "tick0001" || len(run.Targets) != 2 {
		t.Fatalf("run = %+v, want execution tick0001 on two devices", run)
	}
	for device, x := range e.targets(t, "tick0001") {
		if !x.Scheduled.Equal(tick) {
			t.Errorf("target on %s scheduled %v, want %v", device, x.Scheduled, tick)
		}
	}
	if d := receive(t, pi, "the dispatch on pi's queue"); d.Execution != "tick0001" || !d.Scheduled.Equal(tick) {
		t.Errorf("pi got %+v, want execution tick0001 scheduled %v", d, tick)
	}

	_, err = s.Run(e.ctx, req)
	wantError(t, err, runlet.ECONFLICT, "tick0001", "exists already")
	if n := len(e.targets(t, "tick0001")); n != 2 {
		t.Errorf("the execution has %d targets after a second run, want 2", n)
	}

	for _, id := range []string{"Tick", "a.b", "a b", "x/y", strings.Repeat("a", 65)} {
		req.Execution = id
		_, err := s.Run(e.ctx, req)
		wantError(t, err, runlet.EINVALID, "lowercase letters and digits")
	}
}
