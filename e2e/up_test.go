//go:build !windows

package e2e_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet/internal/testenv"
)

// The README's first command: `runlet up` is a server and a signed-in daemon
// in one process; another terminal on the machine then runs a job on it.
func TestUpRunsAJobOnThisMachine(t *testing.T) {
	listen, brokerListen := freePort(t), freePort(t)
	home := filepath.Join(t.TempDir(), "home")
	up := startProc(t, "up", "up", "--home", home, "--listen", listen, "--broker-listen", brokerListen,
		"--data", t.TempDir(), "--name", "box")
	testenv.EventuallyEvery(t, "runlet up to say it is up", 60*time.Second, pace, func() bool {
		if !up.running() {
			t.Fatalf("runlet up ended: %v\n%s", up.err, up.out)
		}
		return strings.Contains(up.out.String(), "Runlet is up.")
	})
	for _, want := range []string{"http://" + listen, "admin@localhost", "this device:   box", "runlet @signin --server http://" + listen + " --token rle_"} {
		if !strings.Contains(up.out.String(), want) {
			t.Errorf("runlet up does not print %q:\n%s", want, up.out)
		}
	}
	jobs := filepath.Join(t.TempDir(), "jobs.yaml")
	if err := os.WriteFile(jobs, []byte("hello: |\n  echo \"hello from $RUNLET_DEVICE\"\n  exit 4\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, home, "@config", "apply", "-f", jobs)
	tm := startTerm(t, home, "@run", "hello")
	tm.waitFor(t, "hello from box")
	if code := tm.exit(t); code != 4 {
		t.Fatalf("runlet @run exited with %d, want the job's 4; screen:\n%q", code, tm.scr)
	}
}
