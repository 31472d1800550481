package runlet_test

import (
	"testing"

	"github.com/runlet/runlet"
)

func TestOutcome(t *testing.T) {
	for _, c := range []struct {
		name string
		e    runlet.Execution
		want runlet.Outcome
	}{
		{"pending", runlet.Execution{Status: runlet.StatusPending}, runlet.OutcomePending},
		{"pending, a stop asked", runlet.Execution{Status: runlet.StatusPending, Killed: true}, runlet.OutcomePending},
		{"running", runlet.Execution{Status: runlet.StatusRunning}, runlet.OutcomeRunning},
		{"finished", runlet.Execution{Status: runlet.StatusFinished, ExitCode: 3}, runlet.OutcomeFinished},
		{"finished before the stop came", runlet.Execution{Status: runlet.StatusFinished, Killed: true}, runlet.OutcomeFinished},
		{"error", runlet.Execution{Status: runlet.StatusError, Reason: "cannot start: no such directory"}, runlet.OutcomeError},
		{"stopped by TERM", runlet.Execution{Status: runlet.StatusError, Killed: true, Signal: "SIGTERM", Reason: "stopped on request (SIGTERM)"}, runlet.OutcomeStopped},
		{"stopped, KILL after the grace", runlet.Execution{Status: runlet.StatusError, Killed: true, Signal: "SIGKILL", Reason: "stopped on request (SIGKILL)"}, runlet.OutcomeStopped},
		{"killed", runlet.Execution{Status: runlet.StatusError, Killed: true, Signal: "SIGKILL", Reason: "killed on request (SIGKILL)"}, runlet.OutcomeKilled},
		{"stopped in the queue", runlet.Execution{Status: runlet.StatusError, Killed: true, ExitCode: -1, Reason: runlet.ReasonStoppedBeforeStart}, runlet.OutcomeStopped},
		{"killed in the queue", runlet.Execution{Status: runlet.StatusError, Killed: true, ExitCode: -1, Reason: runlet.ReasonKilledBeforeStart}, runlet.OutcomeKilled},
		// The request did not end it: it stays an error.
		{"asked, then expired", runlet.Execution{Status: runlet.StatusError, Killed: true, Reason: "expired: no device started it before its expiry"}, runlet.OutcomeError},
		{"asked, then the runner closed", runlet.Execution{Status: runlet.StatusError, Killed: true, Signal: "SIGKILL", Reason: "runner closed"}, runlet.OutcomeError},
		// A crash's signal without a request is no stop.
		{"killed by the kernel", runlet.Execution{Status: runlet.StatusError, Signal: "SIGKILL", Reason: "ended by SIGKILL"}, runlet.OutcomeError},
		{"the reason without the request", runlet.Execution{Status: runlet.StatusError, Reason: "killed on request (SIGKILL)"}, runlet.OutcomeError},
	} {
		if got := c.e.Outcome(); got != c.want {
			t.Errorf("%s: Outcome() = %q, want %q", c.name, got, c.want)
		}
	}
}
