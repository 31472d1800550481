//go:build !windows

package e2e_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runlet/runlet"
)

// kill -9 of the server (and its embedded broker) during a running job,
// then a start on the same data directory: nothing is lost. The job's
// output is complete at a viewer that attaches afterwards and the final
// status reaches the database.
func TestServerKilledDuringJob(t *testing.T) {
	onEachStack(t, testServerKilledDuringJob)
}

func testServerKilledDuringJob(t *testing.T, st stack) {
	f := newFleetOn(t, st)
	exec, next, ended, live := startSurvivor(t, f)

	f.server.kill9()
	touch(t, next)
	waitFile(t, ended) // the job ends while the server and broker are down
	f.startServer()

	e := f.waitStatus(exec, "pi-1", runlet.StatusFinished)
	if e.ExitCode != 5 {
		t.Fatalf("after the server's restart: %+v, want exit code 5", e)
	}
	late := startTerm(t, f.homes["pi-2"], "attach", exec)
	wantAllOutput(t, "the viewer attached after the restart", late, 5)
	// The viewer attached through the crash reconnects and misses nothing.
	wantAllOutput(t, "the viewer attached through the crash", live, 5)
}

// startSurvivor starts on pi-1 a job that prints a line, waits until the
// test touches next, prints 100 more lines, touches ended and exits 5; and
// a viewer attached from mac that has seen the first line.
func startSurvivor(t *testing.T, f *fleet) (exec, next, ended string, live *term) {
	t.Helper()
	dir := t.TempDir()
	started := filepath.Join(dir, "started")
	next, ended = filepath.Join(dir, "next"), filepath.Join(dir, "ended")
	f.applyJobs(fmt.Sprintf(`
survivor:
  script: |
    echo "before the crash"
    touch %q
    %s
    for i in $(seq 1 100); do echo "after-$i"; done
    touch %q
    exit 5
`, started, waitForFile(next), ended))
	exec, _ = f.detach("mac", "survivor", "pi-1")
	waitFile(t, started)
	f.waitStatus(exec, "pi-1", runlet.StatusRunning)
	live = startTerm(t, f.homes["mac"], "attach", exec)
	live.waitFor(t, "before the crash")
	return exec, next, ended, live
}

// wantAllOutput waits until the viewer tm has shown all the output of the
// survivor job and exited with code.
func wantAllOutput(t *testing.T, who string, tm *term, code int) {
	t.Helper()
	tm.waitFor(t, "after-100")
	scr := tm.scr.String()
	want := []string{"before the crash\r\n"}
	for i := 1; i <= 100; i++ {
		want = append(want, fmt.Sprintf("after-%d\r\n", i))
	}
	for _, w := range want {
		if !strings.Contains(scr, w) {
			t.Fatalf("%s misses %q; screen:\n%q", who, w, scr)
		}
	}
	if got := tm.exit(t); got != code {
		t.Fatalf("%s exited with %d, want the job's %d; screen:\n%q", who, got, code, tm.scr)
	}
}

// kill -9 of a daemon during a job: once it is back, the execution ends as
// Error with a reason.
func TestDaemonKilledDuringJob(t *testing.T) {
	onEachStack(t, testDaemonKilledDuringJob)
}

func testDaemonKilledDuringJob(t *testing.T, st stack) {
	f := newFleetOn(t, st)
	dir := t.TempDir()
	started, never := filepath.Join(dir, "started"), filepath.Join(dir, "never")
	t.Cleanup(func() { touch(t, never) }) // lets a job that survived go
	f.applyJobs(fmt.Sprintf(`
orphan:
  script: |
    touch %q
    %s
`, started, waitForFile(never)))
	exec, _ := f.detach("mac", "orphan", "pi-2")
	waitFile(t, started)
	f.waitStatus(exec, "pi-2", runlet.StatusRunning)

	f.daemons["pi-2"].kill9()
	f.startDaemon("pi-2")
	e := f.waitExecution(exec, "pi-2", "ended", func(e runlet.Execution) bool { return e.Status.Final() })
	if e.Status != runlet.StatusError || e.Reason == "" {
		t.Fatalf("after the daemon's crash: %+v, want status Error with a reason", e)
	}
	t.Logf("reason: %s", e.Reason)
}

// A restart of the broker (RabbitMQ) during a running job: the viewer
// attached through it still shows every byte, and the final status reaches
// the database (PostgreSQL), with no one doing anything.
func TestBrokerRestartDuringJob(t *testing.T) {
	f := newFleetOn(t, rabbitPostgres)
	exec, next, ended, live := startSurvivor(t, f)

	f.rabbit.Restart(t)
	touch(t, next)
	waitFile(t, ended)

	if e := f.waitStatus(exec, "pi-1", runlet.StatusFinished); e.ExitCode != 5 {
		t.Fatalf("after the broker's restart: %+v, want exit code 5", e)
	}
	wantAllOutput(t, "the viewer attached through the broker's restart", live, 5)
	late := startTerm(t, f.homes["pi-2"], "attach", exec)
	wantAllOutput(t, "a viewer attached after the restart", late, 5)
}
