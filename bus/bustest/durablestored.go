package bustest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/runlet/runlet/bus"
)

// testDurableNeedsQueue: a durable publish succeeds only when a durable
// queue stored the message, and transient subscribers still see it.
func testDurableNeedsQueue(t *testing.T, h Harness) {
	t.Run("NoQueueDespiteSubscriber", func(t *testing.T) { testNoQueueDespiteSubscriber(t, h) })
	t.Run("SubscriberSeesDurable", func(t *testing.T) { testSubscriberSeesDurable(t, h) })
	t.Run("TransientNotStored", func(t *testing.T) { testTransientNotStored(t, h) })
}

// testNoQueueDespiteSubscriber: a transient subscriber is not a durable
// queue. PublishDurable reports success only when a durable queue stored
// the message, so a key that only a transient subscription matches is
// refused with ErrNoQueue (the subscriber may or may not see the message).
func testNoQueueDespiteSubscriber(t *testing.T, h Harness) {
	ws := h.Workspace(t)
	b := h.Open(t, ws)
	key := bus.DispatchKey("nobody")
	for _, pattern := range []bus.Key{key, "#"} {
		subscribe(t, h.Open(t, ws), ws, pattern, newRecorder())
	}
	err := b.PublishDurable(ctx(t), ws, msg(key, "x"))
	if !errors.Is(err, bus.ErrNoQueue) {
		t.Errorf("publish durable with only transient subscribers matching: got %v, want ErrNoQueue", err)
	}
	// The same holds beside a declared queue of another key.
	declare(t, b, ws, dispatchQueue(h, "somebody"))
	err = b.PublishDurable(ctx(t), ws, msg(key, "y"))
	if !errors.Is(err, bus.ErrNoQueue) {
		t.Errorf("publish durable to a key only transient subscribers and no queue match: got %v, want ErrNoQueue", err)
	}
}

// testSubscriberSeesDurable: transient subscribers whose pattern matches
// receive durably published messages too, those of one publisher in
// publish order, and the queue still gets each message once.
func testSubscriberSeesDurable(t *testing.T, h Harness) {
	ws := h.Workspace(t)
	pub := h.Open(t, ws)
	q := bus.Queue{Name: QueueNames[0], Pattern: "job.*.*.status.v1", AckWait: h.AckWait}
	declare(t, pub, ws, q)
	exact, wide := newRecorder(), newRecorder()
	subscribe(t, h.Open(t, ws), ws, bus.StatusKey("e1", "d1"), exact)
	subscribe(t, pub, ws, "job.#", wide)
	const n = 20
	want := make([]string, n)
	for i := range n {
		want[i] = fmt.Sprint("s", i)
		publishDurable(t, pub, ws, msg(bus.StatusKey("e1", "d1"), want[i]))
	}
	for name, r := range map[string]*recorder{"exact": exact, "job.#": wide} {
		r.waitN(t, n)
		if got := ids(r.Messages()); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("subscriber %s got %v, want %v", name, got, want)
		}
	}
	dr := newRecorder()
	consume(t, h.Open(t, ws), ws, q, dr.AckDeliver(t))
	dr.waitN(t, n)
	if got := distinct(dr.Messages()); len(got) != n || dr.Len() != n {
		t.Errorf("queue got %d deliveries of %d distinct messages, want %d once each", dr.Len(), len(got), n)
	}
}

// testTransientNotStored: a transient publish does not land in a durable
// queue whose pattern matches its key; it is for subscribers only.
func testTransientNotStored(t *testing.T, h Harness) {
	ws := h.Workspace(t)
	pub := h.Open(t, ws)
	q := bus.Queue{Name: QueueNames[0], Pattern: "job.*.*.status.v1", AckWait: h.AckWait}
	declare(t, pub, ws, q)
	sub := newRecorder()
	subscribe(t, h.Open(t, ws), ws, q.Pattern, sub)
	publish(t, pub, ws, msg(bus.StatusKey("e1", "d1"), "transient"))
	publishDurable(t, pub, ws, msg(bus.StatusKey("e1", "d1"), "durable"))
	sub.waitN(t, 2)
	// Stored, the transient message would come first, before the durable.
	dr := newRecorder()
	consume(t, h.Open(t, ws), ws, q, dr.AckDeliver(t))
	dr.waitID(t, "durable")
	if hasID(dr.Messages(), "transient") {
		t.Errorf("a transient message was stored in a durable queue: %v", ids(dr.Messages()))
	}
}
