package cli_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/bus/nats/embedded"
	"github.com/runlet/runlet/cmd/assemble"
	"github.com/runlet/runlet/internal/testenv"
)

// `@run --detach --json` on a server whose disk is too full to queue the
// job prints the run with the target in Error, says why on standard
// error, and exits 1; once space is freed, the same command queues the
// job and exits 0, the server still the same.
func TestRunDetachDiskFull(t *testing.T) {
	const size = 64 << 20
	disk := testenv.SmallDisk(t, size)
	f := startFleet(t, func(c *assemble.Config) { c.DataDir = filepath.Join(disk, "data") })
	h := f.signin("pi-1")
	applyJobs(t, h, "hi:\n  script: echo hi\n  where: local\n")
	detach := func() (result, api.Target) {
		t.Helper()
		r := runIn(t, h, "", "@run", "hi", "--detach", "--json")
		var run api.RunResponse
		if err := json.Unmarshal([]byte(r.out), &run); err != nil || run.Execution == "" || len(run.Targets) != 1 {
			t.Fatalf("@run --detach --json printed %q (%v); exit %d, stderr %s", r.out, err, r.code, r.err)
		}
		return r, run.Targets[0]
	}

	if r, target := detach(); r.code != 0 || target.Status != "Pending" {
		t.Fatalf("with space: exit %d, target %+v, stderr %s", r.code, target, r.err)
	}

	free := testenv.FillDisk(t, disk, embedded.Reserve(size)/2)
	r, target := detach()
	if r.code != 1 || target.Status != "Error" || !strings.Contains(target.Reason, "disk is full") {
		t.Fatalf("with the disk full: exit %d, target %+v; want exit 1 and Error with the disk named", r.code, target)
	}
	if want := "was not queued on pi-1: The disk is full (the broker's store at "; !strings.Contains(r.err, want) {
		t.Errorf("standard error %q lacks %q", r.err, want)
	}

	free()
	if r, target = detach(); r.code != 0 || target.Status != "Pending" {
		t.Fatalf("after space was freed: exit %d, target %+v, stderr %s", r.code, target, r.err)
	}
}
