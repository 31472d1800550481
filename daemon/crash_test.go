//go:build !windows

package daemon_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/bus/connect"
	"github.com/runlet/runlet/daemon"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/wire"
)

// helperEnv makes the test binary a daemon process (see TestMain), so
// that a test can SIGKILL a real daemon.
const helperEnv = "RUNLET_DAEMON_TEST_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		os.Exit(helperDaemon())
	}
	restore := testenv.HermeticHome()
	code := m.Run()
	restore()
	os.Exit(code)
}

// helperDaemon is `runlet daemon` in the test binary: the home and its
// credentials from RUNLET_HOME.
func helperDaemon() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	d, err := daemon.New(daemon.Config{
		Home:    home.Dir(os.Getenv("RUNLET_HOME")),
		Logger:  slog.New(slog.NewTextHandler(os.Stderr, nil)),
		Version: "helper",
		Dial:    connect.Open,
	})
	if err == nil {
		err = d.Run(ctx)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper daemon:", err)
		return 1
	}
	return 0
}

// startHelperDaemon starts helperDaemon on dir in a process of its own
// and returns what kills it with SIGKILL (and waits for it); a daemon not
// killed by the test is killed at its end, and its log shown if it failed.
func startHelperDaemon(t *testing.T, dir home.Dir) (kill9 func()) {
	t.Helper()
	var stderr strings.Builder
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=1", "RUNLET_HOME="+string(dir))
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	t.Cleanup(func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if t.Failed() {
			t.Logf("the killed daemon's log:\n%s", stderr.String())
		}
	})
	return func() {
		t.Helper()
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		killed = true
	}
}

func TestDaemonKilledDuringJob(t *testing.T) {
	b := startBroker(t)
	s := newServer(t, b, device)
	dir := home.Dir(t.TempDir())
	if err := dir.SaveCredentials(b.credentials(device)); err != nil {
		t.Fatal(err)
	}
	kill9 := startHelperDaemon(t, dir)

	exec := s.dispatch(device, "echo started; sleep 120")
	out := s.watch(bus.OutputKey(exec, device))
	s.waitStatus(exec, runlet.StatusRunning)
	kill9()

	runDaemon(t, b, dir, device)
	st := s.waitStatus(exec, runlet.StatusError)
	if !strings.HasPrefix(st.Reason, "the daemon stopped during the run (restarted at ") || st.ExitCode != -1 {
		t.Errorf("status after the restart: %+v", st.Execution)
	}
	if got := statusSeq(s.history(exec)); got != "Pending,Running,Error" {
		t.Errorf("statuses %s; want Pending,Running,Error", got)
	}
	// A viewer that followed the run is told it is over.
	testenv.Eventually(t, "the end marker", patience, func() bool {
		out.mu.Lock()
		defer out.mu.Unlock()
		return out.end
	})
	// The output the killed daemon recorded can still be replayed.
	rep := s.watch(bus.ReplayKey(exec, device, "v"))
	s.control(exec, device, wire.Control{Op: wire.OpReplay, From: 1, Viewer: "v"})
	frames := rep.waitEndFrom(1)
	if text := joined(frames); !strings.HasPrefix(text, "λ ") || uint64(len(frames)) != st.LastSeq {
		t.Errorf("replay after the crash: %d frames (status says %d): %q", len(frames), st.LastSeq, text)
	}
}
