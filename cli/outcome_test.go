//go:build !windows

package cli_test

import (
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/internal/testenv"
)

// TestStoppedAndKilledOutcomes: a run ended by `runlet stop` shows as
// Stopped and one ended by `runlet kill` as Killed, in `runlet activity`
// (table and JSON); stopping or killing it again says it has already ended
// and exits 1.
func TestStoppedAndKilledOutcomes(t *testing.T) {
	f := startFleet(t)
	pi := f.device("pi-1")
	mac := f.signin("mac")
	applyJobs(t, mac, `
busy: |
  echo started
  while :; do sleep 0.1; done
`)
	waitOnline(t, mac, "pi-1")
	for _, c := range []struct {
		op   string
		want runlet.Outcome
	}{{"stop", runlet.OutcomeStopped}, {"kill", runlet.OutcomeKilled}} {
		r := runIn(t, mac, "", "run", "busy", "--on", "pi-1", "--detach")
		exec := strings.TrimSpace(r.out)
		if r.code != 0 || exec == "" {
			t.Fatalf("detach: exit %d %q %q", r.code, r.out, r.err)
		}
		out, errb := &testenv.Buffer{}, &testenv.Buffer{}
		attached := make(chan int, 1)
		go func() { attached <- runMainWith(pi, out, errb, "attach", exec) }()
		waitText(t, out, "started")
		if r := runIn(t, mac, "", c.op, exec); r.code != 0 {
			t.Fatalf("%s: exit %d %q", c.op, r.code, r.err)
		}
		select {
		case <-attached:
		case <-time.After(60 * time.Second):
			t.Fatalf("attach did not end after the %s", c.op)
		}
		waitFinal(t, mac, exec)

		r = runIn(t, mac, "", "activity", "--json", "--limit", "1")
		if execs, err := activityTargets(r.out); err != nil || len(execs) != 1 || execs[0].ID != exec || execs[0].Outcome != c.want {
			t.Errorf("activity --json after %s: %s (%v), want outcome %s", c.op, r.out, err, c.want)
		}
		r = runIn(t, mac, "", "activity", "--limit", "1")
		if !strings.Contains(r.out, exec) || !strings.Contains(r.out, string(c.want)) || strings.Contains(r.out, "Error") {
			t.Errorf("activity after %s:\n%s", c.op, r.out)
		}
		// Ended: a stop or a kill says so and exits 1.
		for _, again := range []string{"stop", "kill"} {
			r := runIn(t, mac, "", again, exec)
			if r.code != 1 || !strings.Contains(r.err, "already ended ("+string(c.want)+" on pi-1)") || !strings.Contains(r.err, "nothing to "+again) {
				t.Errorf("%s after %s: exit %d %q, want 1 and a sentence saying it ended", again, c.op, r.code, r.err)
			}
		}
	}
}
