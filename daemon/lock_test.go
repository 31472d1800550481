//go:build !windows

package daemon_test

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus/connect"
	"github.com/runlet/runlet/daemon"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/internal/testenv"
)

// lockedBy waits until the home's lock file names pid.
func lockedBy(t *testing.T, dir home.Dir, pid int) {
	t.Helper()
	testenv.Eventually(t, "the home locked by process "+strconv.Itoa(pid), patience, func() bool {
		b, _ := os.ReadFile(dir.LockFile())
		return strings.TrimSpace(string(b)) == strconv.Itoa(pid)
	})
}

// runRefused runs a daemon on dir, which must fail at once because
// another holds the home, with an error naming the home and holder.
func runRefused(t *testing.T, b *broker, dir home.Dir, holder string) {
	t.Helper()
	d, err := daemon.New(daemon.Config{Home: dir, Credentials: b.credentials(device), Logger: quiet(), Dial: connect.Open})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	select {
	case err = <-done:
	case <-time.After(patience / 2):
		t.Fatal("a second daemon on the same home was accepted")
	}
	msg := runlet.ErrorMessage(err)
	if runlet.ErrorCode(err) != runlet.ECONFLICT || !strings.Contains(msg, string(dir)) || !strings.Contains(msg, holder) {
		t.Errorf("second daemon on the home: %v; want a conflict naming %s and %s", err, dir, holder)
	}
}

// TestOneDaemonPerHome: a second daemon on a home is refused at once,
// naming the home and the first one's process, whether it runs in the
// same process or another; the home is free again when the first stops,
// or is killed.
func TestOneDaemonPerHome(t *testing.T) {
	b := startBroker(t)
	newServer(t, b, device)
	dir := home.Dir(t.TempDir())

	stop := runDaemonUp(t, b, dir)
	lockedBy(t, dir, os.Getpid())
	runRefused(t, b, dir, "this process")
	stop()
	stop = runDaemonUp(t, b, dir) // the first gave the home back
	stop()

	// Another process: the test binary as `runlet daemon` (crash_test.go).
	if err := dir.SaveCredentials(b.credentials(device)); err != nil {
		t.Fatal(err)
	}
	var stderr testenv.Buffer
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=1", "RUNLET_HOME="+string(dir))
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("the other daemon's log:\n%s", stderr.String())
		}
	})
	lockedBy(t, dir, cmd.Process.Pid)
	runRefused(t, b, dir, "process "+strconv.Itoa(cmd.Process.Pid))
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	runDaemonUp(t, b, dir)
}

// runDaemonUp is runDaemon, returning once the daemon serves: a daemon
// stopped while it starts fails its Run.
func runDaemonUp(t *testing.T, b *broker, dir home.Dir) (stop func()) {
	t.Helper()
	var log testenv.Buffer
	stop = runDaemon(t, b, dir, device, func(c *daemon.Config) { c.Logger = slog.New(slog.NewTextHandler(&log, nil)) })
	testenv.Eventually(t, "the daemon running", patience, func() bool { return strings.Contains(log.String(), "daemon running") })
	return stop
}

// TestLogsEffectiveParallelism: with Parallel 0 (one per CPU) the daemon
// says how many that is, not 0.
func TestLogsEffectiveParallelism(t *testing.T) {
	b := startBroker(t)
	newServer(t, b, device)
	var log testenv.Buffer
	runDaemon(t, b, home.Dir(t.TempDir()), device, func(c *daemon.Config) {
		c.Parallel = 0
		c.Logger = slog.New(slog.NewTextHandler(&log, nil))
	})
	want := "parallel=" + strconv.Itoa(runtime.NumCPU())
	testenv.Eventually(t, "the daemon running", patience, func() bool { return strings.Contains(log.String(), "daemon running") })
	if line := firstLine(log.String(), "daemon running"); !slices.Contains(strings.Fields(line), want) {
		t.Errorf("the daemon logs %q; want %s", line, want)
	}
}

func firstLine(s, sub string) string {
	for l := range strings.Lines(s) {
		if strings.Contains(l, sub) {
			return strings.TrimRight(l, "\n")
		}
	}
	return ""
}
