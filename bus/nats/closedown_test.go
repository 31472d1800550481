package nats_test

import (
	"context"
	"testing"
	"time"

	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/bus/nats/embedded"
	"github.com/runlet/runlet/internal/testenv"
)

// TestCloseWhileBrokerAway: Close returns while the broker is down, with a
// subscription and a consumer running.
func TestCloseWhileBrokerAway(t *testing.T) {
	s, err := embedded.Start(embeddedConfig(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	const ws = "away"
	b := open(t, withUser(s.URL(), ws, testPassword), bus.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	q := bus.Queue{Name: "work", Pattern: bus.AllStatus}
	if _, err := b.Consume(ctx, ws, q, func(bus.Delivery) {}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Subscribe(ctx, ws, "#", func(bus.Message) {}); err != nil {
		t.Fatal(err)
	}
	s.Shutdown()
	testenv.Eventually(t, "the bus to notice", patience, func() bool { return b.State() == bus.Reconnecting })
	closed := make(chan error, 1)
	go func() { closed <- b.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("close: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("Close hangs while the broker is away")
	}
	if b.State() != bus.Closed {
		t.Errorf("state %v after Close", b.State())
	}
}
