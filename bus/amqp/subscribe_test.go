package amqp_test

import (
	"fmt"
	"strings"
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
	// Count only the test's own messages, up to the marker: the probes
	// (as many as the retries took, which depends on the machine's load)
	// arrive too, and they also took places in the backlog.
	own := 0
	for _, id := range got {
		if id == "last" || strings.HasPrefix(id, "m") {
			own++
		}
		if id == "last" {
			break
		}
	}
	if limit := 1 + 256 + 10_000; own > limit {
		t.Errorf("a stuck subscriber got %d of the %d messages, want at most %d", own, n+1, limit)
	}
	t.Logf("a stuck subscriber got %d of %d messages (first %s)", own, n+1, got[0])
}
