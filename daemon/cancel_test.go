//go:build !windows

package daemon_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/bus/connect"
	"github.com/runlet/runlet/daemon"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/wire"
)

// A run stopped or killed while its device was offline never starts when
// the device comes back: the daemon reads the server's record before it
// starts a run, and the server ended the run there. The runs behind it in
// the queue run.
func TestRunCancelledWhileOfflineNeverStarts(t *testing.T) {
	b := startBroker(t)
	s := newServer(t, b, device)
	testCancelledWhileOffline(t, s, b.api, func() {
		runDaemon(t, b, home.Dir(t.TempDir()), device, func(c *daemon.Config) { c.Parallel = 1 })
	})
}

// The same on RabbitMQ.
func TestRabbitMQRunCancelledWhileOfflineNeverStarts(t *testing.T) {
	u := testenv.RabbitMQ(t)
	ws := testenv.RandomName("ws")
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	rb, err := connect.Open(ctx, u, bus.Options{Name: "test-server", Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rb.Close() })
	s := newServerOn(t, rb, ws, device)
	api := startAPI(t)
	testCancelledWhileOffline(t, s, api, func() {
		creds := &home.Credentials{Server: api.srv.URL, Workspace: ws, Device: device, Broker: u}
		runDaemonWith(t, creds, home.Dir(t.TempDir()), func(c *daemon.Config) { c.Parallel = 1 })
	})
}

func testCancelledWhileOffline(t *testing.T, s *server, api *apiStub, start func()) {
	dir := t.TempDir()
	ran := func(name string) string { return "touch " + filepath.Join(dir, name) }
	killed := s.dispatch(device, ran("killed"))
	api.end(runlet.Execution{ID: killed, Device: device, Status: runlet.StatusError, Killed: true, ExitCode: -1, Reason: runlet.ReasonKilledBeforeStart})
	// A server that records the stop and leaves the run Pending: the
	// device ends it, Stopped.
	stopped := s.dispatch(device, ran("stopped"))
	api.end(runlet.Execution{ID: stopped, Device: device, Status: runlet.StatusPending, Killed: true})
	// A run the server has Running, which this device never took (its
	// state was lost): it does not run twice, and ends.
	elsewhere := s.dispatch(device, ran("elsewhere"))
	api.end(runlet.Execution{ID: elsewhere, Device: device, Status: runlet.StatusRunning})
	// A run the server has no record of on this device.
	unknown := s.dispatch(device, ran("unknown"), func(d *wire.Dispatch, _ *bus.Message) { d.Execution = testenv.RandomName("unknown") })
	after := s.dispatch(device, ran("after"))

	start()
	// One at a time, in order: once the last has run, the daemon has
	// decided about every one before it.
	s.waitStatus(after, runlet.StatusFinished)
	for _, name := range []string{"killed", "stopped", "elsewhere", "unknown"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			t.Errorf("the %s run ran", name)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "after")); err != nil {
		t.Errorf("the run after them did not run: %v", err)
	}
	for _, id := range []string{killed, unknown} {
		if h := s.history(id); len(h) != 0 {
			t.Errorf("the device reported %s for a run it must not start", statusSeq(h))
		}
	}
	if h := s.history(stopped); len(h) != 1 || h[0].Status != runlet.StatusError || !h[0].Killed ||
		h[0].Reason != runlet.ReasonStoppedBeforeStart || h[0].Execution.Outcome() != runlet.OutcomeStopped {
		t.Errorf("the run stopped on a server that left it Pending: %+v, want one status, Stopped before it started", h)
	}
	if h := s.history(elsewhere); len(h) != 1 || h[0].Status != runlet.StatusError || !strings.Contains(h[0].Reason, "no record of starting it") {
		t.Errorf("the run the server has Running: %+v, want one status, Error saying the device did not start it", h)
	}
	api.waitReads(t, killed, 1)
}

// While the server cannot say whether a run may start, the run waits, and
// starts once the server answers.
func TestRunWaitsWhileTheServerCannotAnswer(t *testing.T) {
	b, s, _ := setup(t)
	b.api.fail(http.StatusServiceUnavailable)
	id := s.dispatch(device, "echo ran")
	b.api.waitReads(t, id, 2) // asked again after a pause
	if h := s.history(id); len(h) != 0 {
		t.Fatalf("the run went on (%s) while the server could not answer", statusSeq(h))
	}
	b.api.fail(0)
	s.waitStatus(id, runlet.StatusFinished)
}

// A run that expires while the server cannot answer never starts: it
// ends as expired.
func TestRunExpiresWhileTheServerCannotAnswer(t *testing.T) {
	b, s, _ := setup(t)
	b.api.fail(http.StatusBadGateway)
	id := s.dispatch(device, "echo ran", func(d *wire.Dispatch, m *bus.Message) {
		d.Expires = time.Now().Add(time.Second)
		m.ExpiresAt = d.Expires
	})
	if st := s.waitStatus(id, runlet.StatusError); st.Reason != "expired before the device took it" || !st.Started.IsZero() {
		t.Errorf("status %+v, want expired, never started", st.Execution)
	}
	if h := s.history(id); len(h) != 1 {
		t.Errorf("statuses %s, want the expiry alone", statusSeq(h))
	}
}

// A daemon that stops while its run waits for the server gives the
// dispatch back to the queue: the next daemon runs it.
func TestDaemonStopsWhileARunWaitsForTheServer(t *testing.T) {
	b := startBroker(t)
	s := newServer(t, b, device)
	dir := home.Dir(t.TempDir())
	stop := runDaemon(t, b, dir, device)
	b.api.fail(http.StatusServiceUnavailable)
	id := s.dispatch(device, "echo ran")
	b.api.waitReads(t, id, 1)
	stop() // fails the test unless the daemon ends within patience
	b.api.fail(0)
	runDaemon(t, b, dir, device)
	s.waitStatus(id, runlet.StatusFinished)
	if got := statusSeq(s.history(id)); got != "Pending,Running,Finished" {
		t.Errorf("statuses %s, want the run once", got)
	}
}

// A server that no longer knows the device's token (the device was
// removed) makes the daemon stop, as the broker's refusal does: the run
// never starts.
func TestRecordReadRefusedStopsTheDaemon(t *testing.T) {
	b := startBroker(t)
	s := newServer(t, b, device)
	b.api.fail(http.StatusUnauthorized)
	d, err := daemon.New(daemon.Config{Home: home.Dir(t.TempDir()), Credentials: b.credentials(device), Logger: quiet(), Dial: connect.Open})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	id := s.dispatch(device, "echo ran")
	select {
	case err := <-done:
		if runlet.ErrorCode(err) != runlet.EUNAUTHORIZED {
			t.Errorf("Run: %v, want the device signed out", err)
		}
	case <-ctx.Done():
		t.Fatal("the daemon went on with a token the server refuses")
	}
	if h := s.history(id); len(h) != 0 {
		t.Errorf("statuses %s of a run that must not start", statusSeq(h))
	}
}

// A new daemon refuses credentials that name no server: it could not
// check any run.
func TestCredentialsWithoutAServer(t *testing.T) {
	b := startBroker(t)
	c := b.credentials(device)
	c.Server = ""
	_, err := daemon.New(daemon.Config{Home: home.Dir(t.TempDir()), Credentials: c, Dial: connect.Open})
	if runlet.ErrorCode(err) != runlet.EINVALID || runlet.ErrorMessage(err) != "daemon: the credentials name no server; sign in again" {
		t.Errorf("New: %v, want a sentence asking to sign in again", err)
	}
}
