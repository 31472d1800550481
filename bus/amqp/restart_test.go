package amqp_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/internal/testenv"
)

// TestBrokerRestart: durable messages confirmed before, during and after a
// broker restart are all delivered (exactly once after dedup by ID, and
// nothing that was never published), while the adapter reconnects by
// itself and its subscriber and consumer, opened before the restart,
// receive again without help.
func TestBrokerRestart(t *testing.T) {
	url := testenv.RabbitMQForRestart(t)
	ctx := testCtx(t)
	var st states
	pub := open(t, url, bus.Options{OnState: st.record})
	cons := open(t, url, bus.Options{})
	const ws = "restart"
	q := bus.Queue{Name: "status", Pattern: bus.AllStatus}
	must(t, "declare", pub.DeclareQueue(ctx, ws, q))
	got := newIDSet()
	_, err := cons.Consume(ctx, ws, q, func(d bus.Delivery) {
		got.addDelivery(d)
		_ = d.Ack() // fails for deliveries of a channel the restart ended: redelivered
	})
	must(t, "consume", err)
	events := newIDSet()
	_, err = cons.Subscribe(ctx, ws, bus.EventKey, func(m bus.Message) { events.add(m.ID) })
	must(t, "subscribe", err)

	var mu sync.Mutex
	var confirmed, attempted []string
	var failures atomic.Int64
	// publish publishes id until the broker confirms it, as a caller that
	// must not lose it would.
	publish := func(ctx context.Context, id string) {
		mu.Lock()
		attempted = append(attempted, id)
		mu.Unlock()
		for ctx.Err() == nil {
			c, cancel := context.WithTimeout(ctx, 20*time.Second)
			err := pub.PublishDurable(c, ws, msg(bus.StatusKey("e", "d"), id))
			cancel()
			if err == nil {
				mu.Lock()
				confirmed = append(confirmed, id)
				mu.Unlock()
				return
			}
			if failures.Add(1) < 5 {
				t.Logf("publish %s: %v (retrying)", id, err)
			}
			if errors.Is(err, bus.ErrClosed) {
				return
			}
		}
	}
	nConfirmed := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(confirmed)
	}
	// One publisher runs throughout: before, during and after the outage,
	// so that some publishes are in flight when the broker goes.
	pctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; pctx.Err() == nil; i++ {
			publish(pctx, fmt.Sprint("m-", i))
		}
	}()
	testenv.Eventually(t, "50 confirmed", wait, func() bool { return nConfirmed() >= 50 })
	testenv.Eventually(t, "50 delivered", wait, func() bool { return len(got.ids()) >= 50 })

	testenv.StopRabbitMQ(t)
	n := st.waitFor(t, bus.Reconnecting, 0)
	atStop := nConfirmed()
	testenv.StartRabbitMQ(t)
	st.waitFor(t, bus.Connected, n)
	testenv.Eventually(t, "100 more confirmed after the restart", wait, func() bool { return nConfirmed() >= atStop+100 })
	stop()
	<-done

	mu.Lock()
	wantIDs := slices.Clone(confirmed)
	known := slices.Clone(attempted)
	mu.Unlock()
	testenv.Eventually(t, "every confirmed message delivered", wait, func() bool { return len(got.missing(wantIDs)) == 0 })
	for _, id := range got.ids() {
		if !slices.Contains(known, id) {
			t.Errorf("delivered %s, never published", id)
		}
	}
	t.Logf("%d confirmed, %d distinct delivered, %d publish attempts failed and were retried; states %v",
		len(wantIDs), len(got.ids()), failures.Load(), st.list())

	probe(t, func(id string) error { return pub.Publish(ctx, ws, msg(bus.EventKey, id)) }, events)
}
