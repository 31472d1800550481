//go:build !windows

package cli_test

import (
	"strings"
	"testing"
)

// Killing a run whose device is offline cancels it there, and runlet says
// so: it had not started and will not run. Killing it again says it has
// ended.
func TestKillOfARunWaitingForAnOfflineDevice(t *testing.T) {
	f := startFleet(t)
	mac := f.signin("mac") // no daemon: offline
	applyJobs(t, mac, "upgrade: echo upgrading\n")
	r := runIn(t, mac, "", "run", "upgrade", "--on", "mac", "--detach")
	exec := strings.TrimSpace(r.out)
	if r.code != 0 || exec == "" {
		t.Fatalf("detach: exit %d %q %q", r.code, r.out, r.err)
	}
	r = runIn(t, mac, "", "kill", exec)
	if want := "Execution " + exec + " had not started on mac: it will not run there (Killed).\n"; r.code != 0 || r.out != want {
		t.Errorf("kill: exit %d, %q; want 0 and %q", r.code, r.out, want)
	}
	r = runIn(t, mac, "", "stop", exec)
	if r.code != 1 || !strings.Contains(r.err, "already ended (Killed on mac)") {
		t.Errorf("stop after the kill: exit %d %q, want 1 and a sentence saying it ended", r.code, r.err)
	}
}
