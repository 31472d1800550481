//go:build !windows

package daemon_test

import (
	"context"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/daemon"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/wire"
)

// TestHeartbeatOnChange: with an hour between heartbeats, the daemon
// still sends one as soon as an execution starts running, and another
// when it ends: what dispatch reads of the device's load stays current.
func TestHeartbeatOnChange(t *testing.T) {
	b := startBroker(t)
	s := newServer(t, b, device)
	beats := make(chan wire.Heartbeat, 64)
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	sub, err := s.bus.Subscribe(ctx, b.ws, bus.HeartbeatKey(device), func(m bus.Message) {
		var hb wire.Heartbeat
		if wire.Decode(m.Body, &hb) == nil {
			beats <- hb
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	runDaemon(t, b, home.Dir(t.TempDir()), device, func(c *daemon.Config) { c.HeartbeatInterval = time.Hour })
	next := func(what string) wire.Heartbeat {
		t.Helper()
		select {
		case hb := <-beats:
			return hb
		case <-ctx.Done():
			t.Fatalf("no heartbeat %s", what)
		}
		return wire.Heartbeat{}
	}
	if hb := next("at start"); hb.Running != 0 || hb.Interval != time.Hour {
		t.Fatalf("first heartbeat %+v, want none running, an interval of an hour", hb)
	}
	exec := s.dispatch(device, "read x")
	s.waitStatus(exec, runlet.StatusRunning)
	for hb := next("once the execution runs"); hb.Running != 1; hb = next("once the execution runs") {
	}
	s.control(exec, device, wire.Control{Op: wire.OpKill})
	for hb := next("once the execution ended"); hb.Running != 0; hb = next("once the execution ended") {
	}
}
