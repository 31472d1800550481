package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/runlet/runlet/api"
)

// A detached run that the server could queue for some targets only is a
// failure too (exit 1): the output still holds every target, standard
// error names the ones not queued and why.
func TestDetachedPartialFailure(t *testing.T) {
	run := &api.RunResponse{Execution: "e1", Targets: []api.Target{
		{Device: "pi-1", Status: "Pending"},
		{Device: "pi-2", Status: "Error", Reason: "The disk is full (the broker's store at /d/nats): free space on it, then try again."},
	}}
	for _, asJSON := range []bool{true, false} {
		var out, errb strings.Builder
		m := &Main{Stdout: &out, Stderr: &errb}
		err := m.printDetached(run, asJSON)
		if x, ok := err.(*exitError); !ok || x.code != 1 {
			t.Errorf("json=%v: %v, want exit code 1", asJSON, err)
		}
		if strings.Contains(errb.String(), "not queued on pi-1") ||
			!strings.Contains(errb.String(), "runlet: execution e1 was not queued on pi-2: The disk is full") {
			t.Errorf("json=%v: standard error %q", asJSON, errb.String())
		}
		if asJSON {
			var got api.RunResponse
			if err := json.Unmarshal([]byte(out.String()), &got); err != nil || len(got.Targets) != 2 || got.Targets[1].Reason == "" {
				t.Errorf("printed %q (%v)", out.String(), err)
			}
		} else if strings.TrimSpace(out.String()) != "e1" {
			t.Errorf("printed %q, want the execution id", out.String())
		}
	}

	var out, errb strings.Builder
	m := &Main{Stdout: &out, Stderr: &errb}
	run.Targets[1] = api.Target{Device: "pi-2", Status: "Pending"}
	if err := m.printDetached(run, true); err != nil || strings.Contains(errb.String(), "not queued") {
		t.Errorf("every target queued: %v, %q", err, errb.String())
	}
}
