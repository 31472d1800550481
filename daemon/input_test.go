//go:build !windows

package daemon_test

import (
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/daemon"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/internal/termtest"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/wire"
)

// readTwo reads two lines and prints exactly what it read.
const readTwo = `read -r a; read -r b; printf 'got=%q,%q\n' "$a" "$b"`

// wantGot fails t unless the job printed exactly one got= line, want
// (termtest.Printed): what it read, quoted by printf %q.
func wantGot(t *testing.T, text, want string) {
	t.Helper()
	if got := termtest.Printed(text, "got"); !slices.Equal(got, []string{want}) {
		t.Errorf("the job printed got=%q, want %q; output:\n%q", got, want, text)
	}
}

// input publishes keys of viewer for exec.
func (s *server) input(exec, viewer string, seq uint64, keys string) {
	s.t.Helper()
	s.publish(wire.InputMessage(bus.InputKey(exec, device), viewer, seq, []byte(keys)))
}

// withExec gives a dispatch the execution id exec.
func withExec(exec string) func(*wire.Dispatch, *bus.Message) {
	return func(d *wire.Dispatch, _ *bus.Message) { d.Execution = exec }
}

// Keys sent before the daemon took the dispatch reach the job once it
// starts, each viewer's in the order of their numbers.
func TestInputBeforeTheDispatchIsTaken(t *testing.T) {
	_, s, _ := setup(t)
	// A job that waits for a key: input for it goes through the same
	// subscription as the early keys, after them (one publisher, one order).
	gate := s.dispatch(device, `read -r x; echo released`)
	gateOut := s.watch(bus.OutputKey(gate, device))
	s.waitStatus(gate, runlet.StatusRunning)

	exec := testenv.RandomName("x")
	out := s.watch(bus.OutputKey(exec, device))
	// The viewer's second message comes first: the daemon puts them back
	// in order by their numbers.
	s.input(exec, "v1", 2, "second key\n")
	s.input(exec, "v1", 1, "y\n")
	s.input(gate, "v2", 1, "\n")
	gateOut.waitText("released")
	s.waitStatus(gate, runlet.StatusFinished)
	// The early keys were handled before the gate's: now the dispatch.
	s.dispatch(device, readTwo, withExec(exec))

	text := joined(out.waitEnd())
	wantGot(t, text, `y,second\ key`)
	if fin := s.waitStatus(exec, runlet.StatusFinished); fin.ExitCode != 0 {
		t.Errorf("exit code %d, want 0", fin.ExitCode)
	}
}

// Keys sent while the execution waits in the device's queue behind another
// (Parallel 1) reach it once it starts.
func TestInputWhileQueuedBehindAnother(t *testing.T) {
	b := startBroker(t)
	s := newServer(t, b, device)
	runDaemon(t, b, home.Dir(t.TempDir()), device, func(c *daemon.Config) { c.Parallel = 1 })
	first := s.dispatch(device, `read -r x; echo released`)
	s.waitStatus(first, runlet.StatusRunning)
	second := s.dispatch(device, readTwo)
	out := s.watch(bus.OutputKey(second, device))
	s.waitStatus(second, runlet.StatusPending)

	s.input(second, "v1", 1, "y\nn\n")
	// Handled after the keys above (one publisher, one subscription): the
	// second job starts once they are in.
	s.input(first, "v2", 1, "\n")

	text := joined(out.waitEnd())
	wantGot(t, text, "y,n")
	if fin := s.waitStatus(second, runlet.StatusFinished); fin.ExitCode != 0 {
		t.Errorf("exit code %d, want 0", fin.ExitCode)
	}
	if h := statusSeq(s.history(second)); h != "Pending,Running,Finished" {
		t.Errorf("statuses %s, want Pending,Running,Finished", h)
	}
}

// Keys held for an execution whose dispatch comes expired die with it.
func TestInputForAnExpiredDispatchIsDropped(t *testing.T) {
	b := startBroker(t)
	s := newServer(t, b, device)
	var logs testenv.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	runDaemon(t, b, home.Dir(t.TempDir()), device, func(c *daemon.Config) { c.Logger = log })
	exec := testenv.RandomName("x")
	// The daemon listens for input before it runs: its first heartbeat
	// comes after.
	waitLog(t, &logs, "daemon running", "")
	s.input(exec, "v1", 1, "y\n")
	waitLog(t, &logs, "holding input for an execution that has not reached this device yet", exec)
	s.dispatch(device, readTwo, func(d *wire.Dispatch, m *bus.Message) {
		d.Execution, d.Expires, m.ExpiresAt = exec, time.Now().Add(-time.Minute), time.Time{}
	})
	if st := s.waitStatus(exec, runlet.StatusError); st.Reason != "expired before the device took it" {
		t.Errorf("reason %q", st.Reason)
	}
	waitLog(t, &logs, "dropping the input held for an execution that will not run here", exec)
}

// waitLog waits for a log line with msg about execution exec ("" for any).
func waitLog(t *testing.T, logs *testenv.Buffer, msg, exec string) {
	t.Helper()
	testenv.Eventually(t, "the log line "+msg, patience, func() bool {
		for l := range strings.SplitSeq(logs.String(), "\n") {
			if strings.Contains(l, msg) && (exec == "" || strings.Contains(l, "execution="+exec)) {
				return true
			}
		}
		return false
	})
}
