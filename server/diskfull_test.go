package server_test

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/bus/nats/embedded"
	"github.com/runlet/runlet/cmd/assemble"
	"github.com/runlet/runlet/internal/testenv"
)

const smallDisk = 64 << 20

// A server whose data directory fills up says so, and works again once
// space is freed, without a restart. After a first run, with too little
// space left for the broker, a run's target ends in Error with the reason
// naming the broker's store; with none left at all, a write answers 507
// naming the database; once space is freed, a run reaches its device.
func TestDiskFull(t *testing.T) {
	disk := testenv.SmallDisk(t, smallDisk)
	data := filepath.Join(disk, "data")
	s := startServer(t, func(c *assemble.Config) { c.DataDir = data })
	ctx := ctxT(t)
	pi := newFakeDevice(t, s, "pi-1")
	if _, err := pi.api.PutJobs(ctx, []byte(jobsYAML), 0); err != nil {
		t.Fatal(err)
	}
	run := func() (string, api.Target) {
		t.Helper()
		r, err := pi.api.Run(ctx, api.RunRequest{Job: "hello", Args: []string{"x"}})
		if err != nil {
			t.Fatalf("run: %v", err)
		}
		return r.Execution, r.Targets[0]
	}

	if _, target := run(); target.Status != string(runlet.StatusPending) {
		t.Fatalf("a run with space: %+v", target)
	}
	pi.takeDispatch(t)

	freeSome := testenv.FillDisk(t, disk, embedded.Reserve(smallDisk)/2)
	exec, target := run()
	want := "The disk is full (the broker's store at " + filepath.Join(data, "nats") + ")"
	if target.Status != string(runlet.StatusError) || !strings.HasPrefix(target.Reason, want) {
		t.Fatalf("a run with the broker's disk full: %+v, want Error with reason %q", target, want)
	}
	if e := waitStatus(t, pi.api, exec, "pi-1", runlet.StatusError); e.Reason != target.Reason {
		t.Errorf("the execution's reason %q, the run's %q", e.Reason, target.Reason)
	}

	freeAll := testenv.FillDisk(t, disk, 0)
	big := jobsYAML + strings.Repeat("# padding, so that the database must grow\n", 20_000) // 860 KB
	var a answer
	for range 20 { // until SQLite's log must grow
		if a = putJobs(t, s, pi.cred.Token, big); a.status != http.StatusOK {
			break
		}
	}
	want = "The disk is full (the database at " + filepath.Join(data, "runlet.db") + "): free space on it, then try again."
	if a.status != http.StatusInsufficientStorage || !strings.Contains(a.body, want) || !strings.Contains(a.body, runlet.EFULL) {
		t.Fatalf("a write on a full disk: %d %s\nwant 507 with %q", a.status, a.body, want)
	}

	freeAll()
	freeSome()
	exec, target = run()
	if target.Status != string(runlet.StatusPending) {
		t.Fatalf("a run after space was freed: %+v", target)
	}
	if d := pi.takeDispatch(t); d.Execution != exec {
		t.Fatalf("pi-1 got execution %s, want %s", d.Execution, exec)
	}
}

// putJobs replaces the job set with src as the holder of token.
func putJobs(t *testing.T, s *testServer, token, src string) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxT(t), http.MethodPut, s.URL()+api.Prefix+"/jobs", strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/yaml")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return read(t, resp)
}
