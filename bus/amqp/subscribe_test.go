package amqp_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/internal/testenv"
)

// TestSlowSubscriberBounded: a transient subscriber whose handler is stuck
// holds at most its prefetch (256) in the client and its backlog (10,000)
// in the broker; older messages are dropped and the newest still arrive.
func TestSlowSubscriberBounded(t *testing.T) {
	url := testenv.RabbitMQ(t)
	ctx := testCtx(t)
	b := open(t, url, bus.Options{})
	const ws = "slow"
	release := make(chan struct{})
	var mu sync.Mutex
	var got []string
	last := make(chan struct{})
	_, err := b.Subscribe(ctx, ws, bus.HeartbeatKey("d"), func(m bus.Message) {
		<-release
		mu.Lock()
		got = append(got, m.ID)
		mu.Unlock()
		if m.ID == "last" {
			close(last)
		}
	})
	must(t, "subscribe", err)
	const n = 12_000
	for i := range n {
		must(t, "publish", b.Publish(ctx, ws, msg(bus.HeartbeatKey("d"), fmt.Sprint("m", i))))
	}
	must(t, "publish", b.Publish(ctx, ws, msg(bus.HeartbeatKey("d"), "last")))
	// Once a probe published after the marker on the same channel reached
	// a second subscriber, the marker was routed too.
	control := newIDSet()
	other := open(t, url, bus.Options{})
	_, err = other.Subscribe(ctx, ws, bus.HeartbeatKey("d"), func(m bus.Message) { control.add(m.ID) })
	must(t, "subscribe control", err)
	probe(t, func(id string) error { return b.Publish(ctx, ws, msg(bus.HeartbeatKey("d"), id)) }, control)
	close(release)
	select {
	case <-last:
	case <-time.After(wait):
		t.Fatalf("the newest message did not arrive within %v", wait)
	}
	mu.Lock()
	defer mu.Unlock()
	if limit := 1 + 256 + 10_000; len(got) > limit {
		t.Errorf("a stuck subscriber got %d of %d messages, want at most %d", len(got), n+1, limit)
	}
	t.Logf("a stuck subscriber got %d of %d messages (first %s)", len(got), n+1, got[0])
}
