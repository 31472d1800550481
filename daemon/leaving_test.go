//go:build !windows

package daemon_test

import (
	"context"
	"testing"

	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/wire"
)

// TestStopSaysLeaving: a daemon that stops sends a last heartbeat that
// says so, so that the server shows it offline at once.
func TestStopSaysLeaving(t *testing.T) {
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
	stop := runDaemon(t, b, home.Dir(t.TempDir()), device)
	select {
	case hb := <-beats:
		if hb.Leaving {
			t.Fatal("the first heartbeat says leaving")
		}
	case <-ctx.Done():
		t.Fatal("no heartbeat")
	}
	stop()
	for {
		select {
		case hb := <-beats:
			if hb.Leaving {
				return
			}
		case <-ctx.Done():
			t.Fatal("the stopped daemon never said it was leaving")
		}
	}
}
