package cli

import (
	"fmt"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
)

// notQueued says on standard error for which targets the server could not
// queue a detached run, and why (a full disk, say), and then fails with
// exit code 1, for some targets as for all: a script that starts a job and
// leaves must not take it for started. The execution id and every
// target's status are printed before (with --json, on standard output).
func (m *Main) notQueued(run *api.RunResponse) error {
	failed := 0
	for _, t := range run.Targets {
		if t.Status != string(runlet.StatusError) {
			continue
		}
		why := t.Reason
		if why == "" {
			why = "the server gave no reason"
		}
		fmt.Fprintf(m.Stderr, "runlet: execution %s was not queued on %s: %s\n", safe(run.Execution), safe(t.Device), safe(why))
		failed++
	}
	if failed == 0 {
		return nil
	}
	return &exitError{code: 1}
}
