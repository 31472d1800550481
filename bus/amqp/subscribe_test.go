package amqp_test

import (
	"fmt"
	"sync"
	"testing"

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
	_, err := b.Subscribe(ctx, ws, bus.HeartbeatKey, func(m bus.Message) {
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
		must(t, "publish", b.Publish(ctx, ws, msg(bus.HeartbeatKey, fmt.Sprint("m", i))))
	}
	must(t, "publish", b.Publish(ctx, ws, msg(bus.HeartbeatKey, "last")))
	// The marker is in the broker's queue or on its way once a message
	// published after it on another connection reached a second subscriber.
	control := newIDSet()
	other := open(t, url, bus.Options{})
	_, err = other.Subscribe(ctx, ws, bus.HeartbeatKey, func(m bus.Message) { control.add(m.ID) })
	must(t, "subscribe control", err)
	probe(t, func(id string) error { return b.Publish(ctx, ws, msg(bus.HeartbeatKey, id)) }, control)
	close(release)
	select {
	case <-last:
	case <-testCtx(t).Done():
		t.Fatal("the newest message never arrived")
	}
	mu.Lock()
	defer mu.Unlock()
	if max := 1 + 256 + 10_000; len(got) > max+1 {
		t.Errorf("a stuck subscriber got %d of %d messages, want at most %d", len(got), n+1, max)
	}
	t.Logf("a stuck subscriber got %d of %d messages (first %s)", len(got), n+1, got[0])
}
