//go:build !windows

package daemon_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/bus/connect"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/wire"
)

// TestRabbitMQ runs the main flows on the machine's RabbitMQ (own vhost),
// the daemon connecting by itself from its credentials' broker URL.
func TestRabbitMQ(t *testing.T) {
	u := testenv.RabbitMQ(t)
	ws := testenv.RandomName("ws")
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	b, err := connect.Open(ctx, u, bus.Options{Name: "test-server", Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	s := newServerOn(t, b, ws, device)
	runDaemonWith(t, &home.Credentials{Server: startAPI(t).srv.URL, Workspace: ws, Device: device, Broker: u}, home.Dir(t.TempDir()))
	withID := func(id string) func(*wire.Dispatch, *bus.Message) {
		return func(d *wire.Dispatch, _ *bus.Message) { d.Execution = id }
	}

	// Output, in order, and the statuses.
	out := s.watch(bus.OutputKey("r1", device))
	s.dispatch(device, `for i in $(seq 1 100); do echo "line $i"; done`, withID("r1"))
	frames := out.waitEnd()
	if text := joined(frames); !strings.HasPrefix(text, "λ ") || !strings.Contains(text, "line 100") || !strings.Contains(text, "Exited with code: 0") {
		t.Errorf("output:\n%s", text)
	}
	s.waitStatus("r1", runlet.StatusFinished)
	if got := statusSeq(s.history("r1")); got != "Pending,Running,Finished" {
		t.Errorf("statuses %s", got)
	}

	// Replay from frame 2 equals the original.
	rep := s.watch(bus.ReplayKey("r1", device, "v"))
	s.control("r1", device, wire.Control{Op: wire.OpReplay, From: 2, Viewer: "v"})
	if got := rep.waitEndFrom(2); joined(got) != joined(frames[1:]) {
		t.Error("the replay from frame 2 differs from the original")
	}

	// Input answers a prompt.
	out2 := s.watch(bus.OutputKey("r2", device))
	s.dispatch(device, `read -p "Do you want to continue? [Y/n] " a; echo "answer=$a"`, withID("r2"))
	out2.waitText("continue? [Y/n]")
	s.publish(wire.InputMessage(bus.InputKey("r2", device), "v", 1, []byte("n\r")))
	out2.waitText("answer=n")
	s.waitStatus("r2", runlet.StatusFinished)

	// Kill through control.
	out3 := s.watch(bus.OutputKey("r3", device))
	s.dispatch(device, "echo ready; sleep 600", withID("r3"))
	out3.waitText("ready")
	s.control("r3", device, wire.Control{Op: wire.OpKill})
	if st := s.waitStatus("r3", runlet.StatusError); !st.Killed {
		t.Errorf("killed execution: %+v", st.Execution)
	}

	// Expired, by the body and by the message.
	past := time.Now().Add(-time.Minute)
	s.dispatch(device, "echo no", withID("r4"), func(d *wire.Dispatch, m *bus.Message) { d.Expires, m.ExpiresAt = past, time.Time{} })
	s.dispatch(device, "echo no", withID("r5"), func(d *wire.Dispatch, m *bus.Message) { d.Expires, m.ExpiresAt = time.Time{}, past })
	for _, id := range []string{"r4", "r5"} {
		if st := s.waitStatus(id, runlet.StatusError); st.Reason != "expired before the device took it" || len(s.history(id)) != 1 {
			t.Errorf("expired %s: %+v after %s", id, st.Execution, statusSeq(s.history(id)))
		}
	}
}
