//go:build !windows

package e2e_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/runlet/runlet"
)

// A device that is offline when a job starts runs it when it comes back;
// a run that expired while it was offline never runs.
func TestOfflineDeviceRunsWhenBackExpiredNever(t *testing.T) {
	onEachStack(t, testOfflineDeviceRunsWhenBackExpiredNever)
}

func testOfflineDeviceRunsWhenBackExpiredNever(t *testing.T, st stack) {
	f := newFleetOn(t, st, "pi-1", "pi-2") // mac is offline
	dir := t.TempDir()
	waited, expired, after := filepath.Join(dir, "waited"), filepath.Join(dir, "expired"), filepath.Join(dir, "after")
	f.applyJobs(fmt.Sprintf(`
short-lived:
  expires: 2s
  script: touch %q
patient:
  script: touch %q
later:
  script: touch %q
`, expired, waited, after))

	short, first := f.detach("pi-1", "short-lived", "mac")
	if first["mac"] != string(runlet.StatusPending) {
		t.Fatalf("short-lived on offline mac starts as %q, want Pending", first["mac"])
	}
	patient, first := f.detach("pi-1", "patient", "mac")
	if first["mac"] != string(runlet.StatusPending) {
		t.Fatalf("patient on offline mac starts as %q, want Pending", first["mac"])
	}
	e := f.waitStatus(short, "mac", runlet.StatusError)
	if !e.Started.IsZero() {
		t.Errorf("the expired run has a start time: %+v", e)
	}
	if e, _ := f.execution(patient, "mac"); e.Status != runlet.StatusPending {
		t.Fatalf("patient while mac is offline: %+v, want Pending", e)
	}

	f.startDaemon("mac")
	f.waitStatus(patient, "mac", runlet.StatusFinished)
	if _, err := os.Stat(waited); err != nil {
		t.Fatalf("patient finished but did not run on mac: %v", err)
	}
	// A run dispatched after the expired one has finished: the daemon has
	// gone past the expired one in its queue.
	later, _ := f.detach("pi-1", "later", "mac")
	f.waitStatus(later, "mac", runlet.StatusFinished)
	if _, err := os.Stat(expired); err == nil {
		t.Fatal("the expired run ran on mac when it came back")
	}
	if e, _ := f.execution(short, "mac"); e.Status != runlet.StatusError {
		t.Fatalf("the expired run is now %+v, want it to stay Error", e)
	}
}
