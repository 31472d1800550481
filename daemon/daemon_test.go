//go:build !windows

package daemon_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/runner"
	"github.com/runlet/runlet/wire"
)

const device = "pi-1"

// setup starts a broker, the test server with the device's queue, and a
// daemon for the device.
func setup(t *testing.T) (*broker, *server, home.Dir) {
	b := startBroker(t)
	s := newServer(t, b, device)
	dir := home.Dir(t.TempDir())
	runDaemon(t, b, dir, device)
	return b, s, dir
}

func TestRunPublishesOutputAndStatus(t *testing.T) {
	_, s, _ := setup(t)
	exec := "x" + strings.Repeat("0", 25)
	out := s.watch(bus.OutputKey(exec, device))
	s.dispatch(device, "echo hello from $RUNLET_DEVICE", func(d *wire.Dispatch, _ *bus.Message) { d.Execution = exec })

	frames := out.waitEnd()
	text := joined(frames)
	if !strings.HasPrefix(text, "λ ") {
		t.Errorf("the output starts with %q, not the λ command line", text[:min(len(text), 20)])
	}
	for _, want := range []string{"hello from pi-1", "Exited with code: 0"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	fin := s.waitStatus(exec, runlet.StatusFinished)
	if fin.LastSeq != uint64(len(frames)) || fin.Device != device || fin.Job != "test" || fin.Client != "tester" {
		t.Errorf("final status %+v; want LastSeq %d, device %s, job test, client tester", fin, len(frames), device)
	}
	h := s.history(exec)
	if got := statusSeq(h); got != "Pending,Running,Finished" {
		t.Errorf("statuses %s; want Pending,Running,Finished", got)
	}
}

func TestHeartbeat(t *testing.T) {
	b := startBroker(t)
	s := newServer(t, b, device)
	beats := make(chan wire.Heartbeat, 16)
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	sub, err := s.bus.Subscribe(ctx, b.ws, bus.AllHeartbeats, func(m bus.Message) {
		var hb wire.Heartbeat
		if err := wire.Decode(m.Body, &hb); err != nil {
			t.Errorf("heartbeat: %v", err)
		}
		select {
		case beats <- hb:
		default:
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	runDaemon(t, b, home.Dir(t.TempDir()), device)
	exec := s.dispatch(device, "echo ready; read x")
	s.waitStatus(exec, runlet.StatusRunning)
	var hb wire.Heartbeat
	for hb.Running == 0 {
		select {
		case hb = <-beats:
		case <-ctx.Done():
			t.Fatal("no heartbeat counting the running execution")
		}
	}
	if hb.Device != device || hb.OS == "" || hb.Arch == "" || hb.Version != "test" || hb.Interval != 200*time.Millisecond || hb.Time.IsZero() {
		t.Errorf("heartbeat %+v", hb)
	}
	if hb.Memory <= 0 || hb.Memory > 100 || hb.Uptime <= 0 || hb.CPU < 0 || hb.CPU > 100 {
		t.Errorf("heartbeat load figures %+v: memory and uptime must be positive, percentages at most 100", hb)
	}
}

func TestInputAnswersPrompt(t *testing.T) {
	_, s, _ := setup(t)
	exec := s.dispatch(device, `read -p "Do you want to continue? [Y/n] " a; echo "answer=$a"`)
	out := s.watch(bus.OutputKey(exec, device))
	// The prompt may have gone out before the watch began: replay covers it.
	rep := s.watch(bus.ReplayKey(exec, device, "v1"))
	s.waitStatus(exec, runlet.StatusRunning)
	testenv.Eventually(t, "the prompt", patience, func() bool {
		s.control(exec, device, wire.Control{Op: wire.OpReplay, From: 1, Viewer: "v1"})
		return testenv.Poll(shortWait, testenv.Interval, func() bool { return strings.Contains(rep.text()+out.text(), "continue? [Y/n]") })
	})
	// The prompt may have come live before the replay ended: the replay of
	// a running execution still ends with the replayed marker.
	testenv.Eventually(t, "the replayed marker ending the replay of a running execution", patience, func() bool {
		rep.mu.Lock()
		defer rep.mu.Unlock()
		return rep.marker != nil
	})
	s.publish(wire.InputMessage(bus.InputKey(exec, device), "v1", 1, []byte("y\r")))
	out.waitText("answer=y")
	fin := s.waitStatus(exec, runlet.StatusFinished)
	if fin.ExitCode != 0 {
		t.Errorf("exit code %d", fin.ExitCode)
	}
}

func TestResize(t *testing.T) {
	_, s, _ := setup(t)
	// The job waits until its terminal has the new size.
	exec := s.dispatch(device, `until [ "$(stty size)" = "33 101" ]; do sleep 0.05; done; echo "size $(stty size)"`)
	out := s.watch(bus.OutputKey(exec, device))
	s.waitStatus(exec, runlet.StatusRunning)
	s.control(exec, device, wire.Control{Op: wire.OpResize, Size: runlet.Size{Cols: 101, Rows: 33}})
	out.waitText("size 33 101")
	s.waitStatus(exec, runlet.StatusFinished)
}

func TestStopAndKill(t *testing.T) {
	_, s, _ := setup(t)
	stopped := s.dispatch(device, "echo ready; sleep 600")
	killed := s.dispatch(device, "trap '' TERM; echo ready; while :; do sleep 1; done")
	s.waitStatus(stopped, runlet.StatusRunning)
	s.waitStatus(killed, runlet.StatusRunning)
	s.control(stopped, device, wire.Control{Op: wire.OpStop, By: "tester"})
	s.control(killed, device, wire.Control{Op: wire.OpKill, By: "tester"})
	for exec, want := range map[string]string{stopped: "stopped on request", killed: "killed on request"} {
		st := s.waitStatus(exec, runlet.StatusError)
		if !st.Killed || !strings.Contains(st.Reason, want) {
			t.Errorf("status %+v; want Killed and a reason with %q", st.Execution, want)
		}
	}
}

func TestReplayEqualsOriginal(t *testing.T) {
	_, s, _ := setup(t)
	exec := "replay.exec_1" // a dot: escaped in keys
	out := s.watch(bus.OutputKey(exec, device))
	s.dispatch(device, `for i in $(seq 1 300); do echo "line $i of the replay test"; done`,
		func(d *wire.Dispatch, _ *bus.Message) { d.Execution = exec })
	orig := out.waitEnd()
	s.waitStatus(exec, runlet.StatusFinished)
	if len(orig) < 4 {
		t.Fatalf("only %d frames; the test needs a few", len(orig))
	}
	from := uint64(3)
	rep := s.watch(bus.ReplayKey(exec, device, "late-viewer"))
	s.control(exec, device, wire.Control{Op: wire.OpReplay, From: from, Viewer: "late-viewer"})
	got := rep.waitEndFrom(from)
	if joined(got) != joined(orig[from-1:]) {
		t.Errorf("replay from %d differs from the original output", from)
	}
}

// waitEndFrom is waitEnd for a replay that starts at frame from.
func (o *output) waitEndFrom(from uint64) []wire.Frame {
	o.t.Helper()
	testenv.Eventually(o.t, "the end of the replay", patience, func() bool {
		o.mu.Lock()
		defer o.mu.Unlock()
		return o.end
	})
	o.mu.Lock()
	defer o.mu.Unlock()
	for i, f := range o.frames {
		if f.Seq != from+uint64(i) {
			o.t.Fatalf("replayed frame %d has seq %d, want %d", i, f.Seq, from+uint64(i))
		}
	}
	if n := uint64(len(o.frames)); n == 0 || from+n-1 != o.last {
		o.t.Fatalf("the end marker says %d; frames %d..%d arrived", o.last, from, from+n-1)
	}
	return append([]wire.Frame(nil), o.frames...)
}

func TestExpiredDispatchNeverRuns(t *testing.T) {
	_, s, dir := setup(t)
	past := time.Now().Add(-time.Minute)
	// Expired by its body only: the daemon's own check.
	byBody := s.dispatch(device, "echo must not run", func(d *wire.Dispatch, m *bus.Message) {
		d.Expires, m.ExpiresAt = past, time.Time{}
	})
	// Expired by the message: the queue's OnExpired.
	byMessage := s.dispatch(device, "echo must not run", func(d *wire.Dispatch, m *bus.Message) {
		d.Expires, m.ExpiresAt = time.Time{}, past
	})
	for _, exec := range []string{byBody, byMessage} {
		st := s.waitStatus(exec, runlet.StatusError)
		if st.Reason != "expired before the device took it" {
			t.Errorf("reason %q", st.Reason)
		}
		if h := s.history(exec); len(h) != 1 {
			t.Errorf("statuses %s; want only Error", statusSeq(h))
		}
		logFile, err := dir.LogPath(exec)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(logFile); err == nil {
			t.Errorf("expired execution %s has a log: it ran", exec)
		}
	}
}

func TestDispatchWhileDaemonDown(t *testing.T) {
	b := startBroker(t)
	s := newServer(t, b, device)
	exec := s.dispatch(device, "echo ran later")
	out := s.watch(bus.OutputKey(exec, device))
	runDaemon(t, b, home.Dir(t.TempDir()), device)
	out.waitText("ran later")
	s.waitStatus(exec, runlet.StatusFinished)
}

func TestDuplicateAndMalformedDispatch(t *testing.T) {
	b := startBroker(t)
	s := newServer(t, b, device)
	stop := runDaemon(t, b, home.Dir(t.TempDir()), device)
	s.dispatch(device, "", func(_ *wire.Dispatch, m *bus.Message) { m.Body = []byte("{not json") })
	s.dispatch(device, "", func(d *wire.Dispatch, _ *bus.Message) { d.Execution = "../escape" })
	first := s.dispatch(device, "echo once")
	// The same execution again (a redelivery, or a server retrying).
	s.dispatch(device, "echo once", func(d *wire.Dispatch, _ *bus.Message) { d.Execution = first })
	last := s.dispatch(device, "echo last")
	s.waitStatus(first, runlet.StatusFinished)
	s.waitStatus(last, runlet.StatusFinished)
	stop()
	if got := statusSeq(s.history(first)); got != "Pending,Running,Finished" {
		t.Errorf("the execution dispatched twice has statuses %s; want one run", got)
	}
	s.mu.Lock()
	n := len(s.statuses)
	s.mu.Unlock()
	if n != 2 {
		t.Errorf("statuses for %d executions; the malformed dispatches must publish nothing", n)
	}

	// Everything was acked: a sentinel published now is the first thing a
	// consumer of the queue gets.
	sentinel := s.dispatch(device, "echo sentinel")
	got := make(chan string, 8)
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	sub, err := s.bus.Consume(ctx, b.ws, bus.Queue{Name: bus.DispatchQueue(device), Pattern: bus.DispatchKey(device)}, func(d bus.Delivery) {
		var disp wire.Dispatch
		_ = wire.Decode(d.Body, &disp)
		got <- disp.Execution
		_ = d.Ack()
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	select {
	case id := <-got:
		if id != sentinel {
			t.Errorf("the queue still held %q before the sentinel", id)
		}
	case <-ctx.Done():
		t.Fatal("the sentinel never came")
	}
}

func TestBrokerRestartDuringJob(t *testing.T) {
	b := startBroker(t)
	s := newServer(t, b, device)
	runDaemon(t, b, home.Dir(t.TempDir()), device)
	gate := filepath.Join(t.TempDir(), "gate")
	exec := s.dispatch(device, `echo before; until [ -e `+gate+` ]; do sleep 0.05; done; for i in $(seq 1 50); do echo "after $i"; done`)
	out := s.watch(bus.OutputKey(exec, device))
	s.waitStatus(exec, runlet.StatusRunning)
	rep := s.watch(bus.ReplayKey(exec, device, "v"))
	testenv.Eventually(t, "the first line", patience, func() bool {
		s.control(exec, device, wire.Control{Op: wire.OpReplay, From: 1, Viewer: "v"})
		return testenv.Poll(shortWait, testenv.Interval, func() bool { return strings.Contains(rep.text()+out.text(), "before") })
	})

	b.restart()
	// The job ends while the daemon may still be reconnecting.
	if err := os.WriteFile(gate, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	fin := s.waitStatus(exec, runlet.StatusFinished)

	// A viewer that lost live frames in the outage replays them all.
	// Each request has a viewer of its own: a request the outage delayed
	// may still answer later, and its frames must not join another's.
	var full *output
	attempt := 0
	testenv.Eventually(t, "a complete replay", patience, func() bool {
		attempt++
		viewer := fmt.Sprintf("after-restart-%d", attempt)
		full = s.watch(bus.ReplayKey(exec, device, viewer))
		s.control(exec, device, wire.Control{Op: wire.OpReplay, From: 1, Viewer: viewer})
		return testenv.Poll(shortWait, testenv.Interval, func() bool {
			full.mu.Lock()
			defer full.mu.Unlock()
			return full.end
		})
	})
	frames := full.waitEndFrom(1)
	text := joined(frames)
	if uint64(len(frames)) != fin.LastSeq || !strings.Contains(text, "before") || !strings.Contains(text, "after 50") || !strings.Contains(text, "Exited with code: 0") {
		t.Errorf("replay after the restart: %d frames (status says %d):\n%s", len(frames), fin.LastSeq, text)
	}
	if got := statusSeq(s.history(exec)); !slices.Contains(strings.Split(got, ","), "Finished") {
		t.Errorf("statuses %s", got)
	}

	// The daemon keeps taking work.
	next := s.dispatch(device, "echo next")
	s.waitStatus(next, runlet.StatusFinished)
}

// TestStatusSurvivesOutageAndRestart: a status the broker could not take
// waits on disk through a daemon restart.
func TestStatusSurvivesOutageAndRestart(t *testing.T) {
	b := startBroker(t)
	s := newServer(t, b, device)
	dir := home.Dir(t.TempDir())
	stop := runDaemon(t, b, dir, device)
	gate := filepath.Join(t.TempDir(), "gate")
	exec := s.dispatch(device, `until [ -e `+gate+` ]; do sleep 0.05; done; echo done`)
	s.waitStatus(exec, runlet.StatusRunning)

	b.stop()
	if err := os.WriteFile(gate, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the job's end in its log", patience, func() bool {
		return strings.Contains(logText(dir, exec), "Exited with code: 0")
	})
	stop() // with the Finished status unconfirmed
	if h := s.history(exec); len(h) != 2 {
		t.Fatalf("statuses %s before the broker came back", statusSeq(h))
	}

	b.start()
	runDaemon(t, b, dir, device)
	s.waitStatus(exec, runlet.StatusFinished)
}

// logText is the output recorded in an execution's log so far.
func logText(dir home.Dir, exec string) string {
	logFile, err := dir.LogPath(exec)
	if err != nil {
		return ""
	}
	l, err := runner.OpenLog(logFile)
	if err != nil {
		return ""
	}
	defer l.Close()
	var b strings.Builder
	for {
		fr, err := l.Next()
		if err != nil {
			return b.String()
		}
		b.Write(fr.Data)
	}
}

// TestQueueDeclaredLater: a device may not create its dispatch queue; the
// daemon waits for the server to declare it.
func TestQueueDeclaredLater(t *testing.T) {
	b := startBroker(t)
	s := newServer(t, b)
	runDaemon(t, b, home.Dir(t.TempDir()), device)
	s.declareDevice(device)
	exec := s.dispatch(device, "echo hi")
	s.waitStatus(exec, runlet.StatusFinished)
}
