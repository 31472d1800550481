//go:build !windows

package e2e_test

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestOneProcessPerDirectory: a second server on a data directory, and a
// second daemon on a home, fail at once, naming the directory and the
// process that has it; killed with SIGKILL, the first ones leave their
// directories free for the next start (issue 17).
func TestOneProcessPerDirectory(t *testing.T) {
	f := newFleetOn(t, embedded, "pi-1")

	start := time.Now()
	r := runCmd(t, t.TempDir(), "server", "--data", f.data, "--listen", freePort(t), "--broker-listen", freePort(t))
	wantRefused(t, "a second server", r, time.Since(start), "the data directory "+f.data+" is in use by another runlet server (process "+strconv.Itoa(f.server.cmd.Process.Pid)+")")

	home := f.homes["pi-1"]
	start = time.Now()
	r = runCmd(t, home, "daemon")
	wantRefused(t, "a second daemon", r, time.Since(start), "the home "+home+" is in use by another runlet daemon (process "+strconv.Itoa(f.daemons["pi-1"].cmd.Process.Pid)+")")

	f.server.kill9()
	f.startServer()
	f.daemons["pi-1"].kill9()
	f.startDaemon("pi-1")
}

func wantRefused(t *testing.T, what string, r result, took time.Duration, want string) {
	t.Helper()
	if r.code != 1 || r.stderr != "runlet: "+want+"\n" && !strings.HasPrefix(r.stderr, "runlet: "+want+": ") {
		t.Errorf("%s: exit %d\nstderr: %s\nwant: runlet: %s", what, r.code, r.stderr, want)
	}
	if took > 20*time.Second {
		t.Errorf("%s took %s to give up", what, took)
	}
}
