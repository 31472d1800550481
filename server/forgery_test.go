//go:build !windows

package server_test

import (
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/cmd/assemble"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/wire"
)

// TestForgedBodiesRefusedNATS and ...RabbitMQ are items 3 and 6 of issue
// 11 at the server: device pi-b, publishing on its own keys (which the
// broker allows), names device pi-a in the body of a status and of a
// heartbeat. The server takes the device from the key and drops both; the
// real final status of pi-a's job is the one recorded.
func TestForgedBodiesRefusedNATS(t *testing.T) {
	s := startServer(t, func(c *assemble.Config) { c.AdminPassword = "admin-password" })
	testForgedBodiesRefused(t, s, func(t *testing.T, cred *home.Credentials) bus.Bus {
		b, err := deviceBus(ctxT(t), cred)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		return b
	})
}

func TestForgedBodiesRefusedRabbitMQ(t *testing.T) {
	testForgedBodiesRefused(t, startRabbitServer(t), func(t *testing.T, cred *home.Credentials) bus.Bus { return mustAMQPBus(t, cred) })
}

func testForgedBodiesRefused(t *testing.T, s *testServer, open func(*testing.T, *home.Credentials) bus.Bus) {
	ctx := ctxT(t)
	admin := s.adminClient(t)
	dev := func(name string) *fakeDevice {
		cred := s.enroll(t, name)
		return &fakeDevice{cred: cred, bus: open(t, cred), api: apiclient.New(s.URL(), cred.Token)}
	}
	a, b := dev("pi-a"), dev("pi-b")
	if _, err := admin.PutJobs(ctx, []byte("hello:\n  script: echo hi\n"), 0); err != nil {
		t.Fatal(err)
	}
	run, err := admin.Run(ctx, api.RunRequest{Job: "hello", On: []string{"pi-a"}})
	if err != nil {
		t.Fatal(err)
	}
	exec := run.Execution
	a.takeDispatch(t)
	a.status(t, exec, runlet.StatusRunning, 0)
	waitStatus(t, admin, exec, "pi-a", runlet.StatusRunning)

	// Item 3: pi-b's own key, pi-a in the body.
	forged := wire.Status{Execution: runlet.Execution{ID: exec, Device: "pi-a", Status: runlet.StatusError, Reason: "forged", Finished: time.Now()}}
	body, _ := wire.Encode(forged)
	if err := b.bus.PublishDurable(ctx, b.cred.Workspace, bus.Message{ID: "forged", Key: bus.StatusKey(exec, "pi-b"), Body: body}); err != nil {
		t.Fatalf("pi-b publishes on its own status key: %v", err)
	}
	// Item 6: pi-b's own heartbeat key, pi-a in the body; then its own.
	hb, _ := wire.Encode(wire.Heartbeat{Device: "pi-a", OS: "forged-os", CPU: 100, Time: time.Now(), Interval: time.Minute})
	if err := b.bus.Publish(ctx, b.cred.Workspace, bus.Message{Key: bus.HeartbeatKey("pi-b"), Body: hb}); err != nil {
		t.Fatal(err)
	}
	// Item 9: escape sequences in a heartbeat are refused, not stored for
	// `runlet devices` to print. Were it taken, it would be the record's
	// first touch and the next one would not change the version for a
	// minute.
	hostile, _ := wire.Encode(wire.Heartbeat{Device: "pi-b", OS: "\x1b]0;pwned\x07", Version: "\x1b[2J", Time: time.Now(), Interval: time.Minute})
	if err := b.bus.Publish(ctx, b.cred.Workspace, bus.Message{Key: bus.HeartbeatKey("pi-b"), Body: hostile}); err != nil {
		t.Fatal(err)
	}
	own, _ := wire.Encode(wire.Heartbeat{Device: "pi-b", OS: "linux", Version: "b-real", Time: time.Now(), Interval: time.Minute})
	if err := b.bus.Publish(ctx, b.cred.Workspace, bus.Message{Key: bus.HeartbeatKey("pi-b"), Body: own}); err != nil {
		t.Fatal(err)
	}

	// The real end, after the forgery in the same queue.
	a.status(t, exec, runlet.StatusFinished, 3)
	e := waitStatus(t, admin, exec, "pi-a", runlet.StatusFinished)
	if e.ExitCode != 3 || e.Reason == "forged" {
		t.Errorf("pi-a's execution: exit %d, reason %q; want pi-a's own exit 3", e.ExitCode, e.Reason)
	}
	var devices []api.Device
	testenv.Eventually(t, "pi-b's own heartbeat", patience, func() bool {
		devices, err = admin.Devices(ctx)
		for _, d := range devices {
			if d.Name == "pi-b" && d.Version == "b-real" {
				return true
			}
		}
		return false
	})
	for _, d := range devices {
		if d.Name == "pi-a" && (d.OS == "forged-os" || d.Online || d.CPU == 100) {
			t.Errorf("pi-b's heartbeat in pi-a's name was taken: %+v", d)
		}
	}
}
