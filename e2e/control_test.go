//go:build !windows

package e2e_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runlet/runlet"
)

// kill and stop from a third device end a running job; the execution
// records that it was ended on request.
func TestKillAndStopFromThirdDevice(t *testing.T) {
	onEachStack(t, testKillAndStopFromThirdDevice)
}

func testKillAndStopFromThirdDevice(t *testing.T, st stack) {
	f := newFleetOn(t, st)
	never := filepath.Join(t.TempDir(), "never")
	t.Cleanup(func() { touch(t, never) }) // lets a job that survived go
	f.applyJobs(fmt.Sprintf(`
busy:
  script: |
    echo "busy on $RUNLET_DEVICE"
    %s
`, waitForFile(never)))
	for _, op := range []string{"kill", "stop"} {
		exec, _ := f.detach("pi-2", "busy", "pi-1")
		f.waitStatus(exec, "pi-1", runlet.StatusRunning)
		mustRun(t, f.homes["mac"], op, exec)
		e := f.waitExecution(exec, "pi-1", "ended", func(e runlet.Execution) bool { return e.Status.Final() })
		want := map[string]runlet.Outcome{"kill": runlet.OutcomeKilled, "stop": runlet.OutcomeStopped}[op]
		if e.Status != runlet.StatusError || !e.Killed || e.Reason == "" || e.Outcome() != want {
			t.Errorf("after %s: %+v, want status Error with killed set and a reason: %s", op, e, want)
		}
		// Ended: another stop says so and fails.
		if r := runCmd(t, f.homes["mac"], "stop", exec); r.code != 1 || !strings.Contains(r.stderr, "already ended ("+string(want)+" on pi-1)") {
			t.Errorf("stop after %s: exit %d %q, want 1 and a sentence saying it ended", op, r.code, r.stderr)
		}
		t.Logf("%s: signal %q, reason %q", op, e.Signal, e.Reason)
	}
}
