package amqp_test

import (
	"testing"
	"time"

	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/internal/testenv"
)

// TestConnectionDropped: the broker closes the adapter's connection (as a
// network drop would); the adapter reconnects by itself, its subscriber and
// consumer receive again, and an ack for a delivery of the dead channel
// fails without harm while the broker redelivers the message.
func TestConnectionDropped(t *testing.T) {
	url := testenv.RabbitMQ(t)
	ctx := testCtx(t)
	name := testenv.RandomName("runlet-drop-")
	var st states
	b := open(t, url, bus.Options{Name: name, OnState: st.record})
	other := open(t, url, bus.Options{})
	const ws = "drop"
	q := bus.Queue{Name: "device.pi", Pattern: bus.DispatchKey("pi")}
	must(t, "declare", other.DeclareQueue(ctx, ws, q))

	dels := make(chan bus.Delivery, 100)
	_, err := b.Consume(ctx, ws, q, func(d bus.Delivery) { dels <- d })
	must(t, "consume", err)
	events := newIDSet()
	_, err = b.Subscribe(ctx, ws, bus.EventKey, func(m bus.Message) { events.add(m.ID) })
	must(t, "subscribe", err)

	must(t, "publish durable", other.PublishDurable(ctx, ws, msg(q.Pattern, "held")))
	held := receive(t, dels)
	if held.ID != "held" {
		t.Fatalf("got %s, want held", held.ID)
	}

	before := len(st.list())
	closeConnection(t, name)
	n := st.waitFor(t, bus.Reconnecting, before)
	st.waitFor(t, bus.Connected, n)

	if err := held.Ack(); err == nil {
		t.Errorf("ack of a delivery from the dead channel succeeded")
	} else {
		t.Logf("ack after the drop: %v", err)
	}
	again := receive(t, dels)
	if again.ID != "held" || !again.Redelivered {
		t.Errorf("after the drop got %s (redelivered %v), want held redelivered", again.ID, again.Redelivered)
	}
	must(t, "ack redelivery", again.Ack())

	// The reconnected bus publishes durably itself (new confirm channel).
	must(t, "publish durable after the drop", b.PublishDurable(ctx, ws, msg(q.Pattern, "after")))
	if d := receive(t, dels); d.ID != "after" {
		t.Errorf("got %s, want after", d.ID)
	} else {
		must(t, "ack", d.Ack())
	}
	// The subscription is back on a new queue: probe until one arrives.
	probe(t, func(id string) error { return other.Publish(ctx, ws, msg(bus.EventKey, id)) }, events)
}

func receive(t testing.TB, dels <-chan bus.Delivery) bus.Delivery {
	t.Helper()
	select {
	case d := <-dels:
		return d
	case <-time.After(wait):
	}
	t.Fatalf("no delivery within %v", wait)
	return bus.Delivery{}
}
