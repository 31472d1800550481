package bustest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/runlet/runlet/bus"
)

func dispatchQueue(h Harness, device string) bus.Queue {
	return bus.Queue{Name: QueueNames[0], Pattern: bus.DispatchKey(device), AckWait: h.AckWait}
}

// testDurableWaits: messages published while no consumer exists wait in the
// declared queue and reach a consumer that connects later, all and in order.
func testDurableWaits(t *testing.T, h Harness) {
	ws := h.Workspace(t)
	pub := h.Open(t, ws)
	q := dispatchQueue(h, "pi-1")
	if err := pub.DeclareQueue(context.Background(), ws, q); err != nil {
		t.Fatalf("declare with a context without deadline: %v", err)
	}
	const n = 50
	for i := range n {
		m := msg(q.Pattern, fmt.Sprint("d", i))
		m.Header = map[string]string{"seq": strconv.Itoa(i)}
		if err := pub.PublishDurable(context.Background(), ws, m); err != nil {
			t.Fatalf("publish durable with a context without deadline: %v", err)
		}
	}
	r := newRecorder()
	s, err := h.Open(t, ws).Consume(context.Background(), ws, q, r.AckDeliver(t))
	if err != nil {
		t.Fatalf("consume with a context without deadline: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	r.waitN(t, n)
	for i, m := range r.Messages() {
		if m.Header["seq"] != strconv.Itoa(i) {
			t.Fatalf("delivery %d has seq %q: out of order", i, m.Header["seq"])
		}
	}
}

// testNoQueue: a durable message no declared queue matches is refused.
func testNoQueue(t *testing.T, h Harness) {
	ws := h.Workspace(t)
	b := h.Open(t, ws)
	err := b.PublishDurable(ctx(t), ws, msg(bus.DispatchKey("nobody"), "x"))
	if !errors.Is(err, bus.ErrNoQueue) {
		t.Errorf("publish durable with no queue: got %v, want ErrNoQueue", err)
	}
	declare(t, b, ws, dispatchQueue(h, "somebody"))
	err = b.PublishDurable(ctx(t), ws, msg(bus.DispatchKey("nobody"), "y"))
	if !errors.Is(err, bus.ErrNoQueue) {
		t.Errorf("publish durable to a key another queue does not match: got %v, want ErrNoQueue", err)
	}
}

// testDeclareIdempotent: declaring twice keeps the messages waiting.
func testDeclareIdempotent(t *testing.T, h Harness) {
	ws := h.Workspace(t)
	b := h.Open(t, ws)
	q := dispatchQueue(h, "pi-1")
	declare(t, b, ws, q)
	publishDurable(t, b, ws, msg(q.Pattern, "kept"))
	declare(t, h.Open(t, ws), ws, q)
	r := newRecorder()
	consume(t, h.Open(t, ws), ws, q, r.AckDeliver(t))
	r.waitID(t, "kept")
}

// testExpiry: a message past its ExpiresAt is reported to OnExpired and
// never handed to the handler; the others are delivered.
func testExpiry(t *testing.T, h Harness) {
	ws := h.Workspace(t)
	b := h.Open(t, ws)
	expired := newRecorder()
	q := dispatchQueue(h, "pi-1")
	q.OnExpired = expired.Handle
	declare(t, b, ws, q)
	soon := msg(q.Pattern, "soon")
	soon.ExpiresAt = time.Now().Add(500 * time.Millisecond)
	later := msg(q.Pattern, "later")
	later.ExpiresAt = time.Now().Add(time.Hour)
	publishDurable(t, b, ws, soon)
	publishDurable(t, b, ws, msg(q.Pattern, "never"))
	publishDurable(t, b, ws, later)
	// Waiting for the clock is the point of this test.
	time.Sleep(time.Until(soon.ExpiresAt) + 50*time.Millisecond)

	r := newRecorder()
	consume(t, h.Open(t, ws), ws, q, r.AckDeliver(t))
	r.waitID(t, "never")
	r.waitID(t, "later")
	expired.waitID(t, "soon")
	if hasID(r.Messages(), "soon") {
		t.Errorf("expired message reached the handler")
	}
	if got := expired.Messages()[0]; got.Key != q.Pattern || string(got.Body) != string(soon.Body) {
		t.Errorf("OnExpired got key %q body %q", got.Key, got.Body)
	}
}

// testRedeliveryAfterDeath: a consumer that goes away without acking gives
// its delivery back; another consumer gets it marked Redelivered.
func testRedeliveryAfterDeath(t *testing.T, h Harness) {
	ws := h.Workspace(t)
	pub := h.Open(t, ws)
	q := dispatchQueue(h, "pi-1")
	declare(t, pub, ws, q)
	publishDurable(t, pub, ws, msg(q.Pattern, "work"))
	dying := h.Open(t, ws)
	first := newRecorder()
	consume(t, dying, ws, q, first.Deliver)
	first.waitID(t, "work")
	if err := dying.Close(); err != nil {
		t.Fatalf("close the dying consumer's bus: %v", err)
	}
	r := newRecorder()
	consume(t, h.Open(t, ws), ws, q, r.AckDeliver(t))
	r.waitID(t, "work")
	if d := r.Deliveries()[0]; !d.Redelivered {
		t.Errorf("redelivery after the consumer died not marked Redelivered")
	}
}

// testNack: a nacked delivery comes again, marked Redelivered.
func testNack(t *testing.T, h Harness) {
	ws := h.Workspace(t)
	b := h.Open(t, ws)
	q := dispatchQueue(h, "pi-1")
	declare(t, b, ws, q)
	publishDurable(t, b, ws, msg(q.Pattern, "again"))
	r := newRecorder()
	var once sync.Once
	consume(t, h.Open(t, ws), ws, q, func(d bus.Delivery) {
		nacked := false
		once.Do(func() {
			nacked = true
			if err := d.Nack(); err != nil {
				t.Errorf("nack: %v", err)
			}
		})
		if !nacked {
			r.AckDeliver(t)(d)
		}
	})
	r.waitID(t, "again")
	if !r.Deliveries()[0].Redelivered {
		t.Errorf("delivery after a nack not marked Redelivered")
	}
}

// testCompeting: three consumers of one queue split 300 messages; each is
// delivered once (a second time only when marked Redelivered) and acked.
func testCompeting(t *testing.T, h Harness) {
	ws := h.Workspace(t)
	pub := h.Open(t, ws)
	q := bus.Queue{Name: QueueNames[0], Pattern: bus.AllStatus, Prefetch: 10, AckWait: h.AckWait}
	declare(t, pub, ws, q)
	all := newRecorder()
	counts := make([]int, 3)
	var mu sync.Mutex
	for i := range counts {
		consume(t, h.Open(t, ws), ws, q, func(d bus.Delivery) {
			if err := d.Ack(); err != nil {
				t.Errorf("ack: %v", err)
			}
			mu.Lock()
			counts[i]++
			mu.Unlock()
			all.Deliver(d)
		})
	}
	const n = 300
	for i := range n {
		publishDurable(t, pub, ws, msg(bus.StatusKey(fmt.Sprint("e", i%7), "d"), fmt.Sprint("s", i)))
	}
	all.waitUntil(t, "300 distinct messages", func(ms []bus.Message) bool { return len(distinct(ms)) == n })
	seen := map[string]bool{}
	for _, d := range all.Deliveries() {
		if seen[d.ID] && !d.Redelivered {
			t.Errorf("message %s delivered twice, the second time not marked Redelivered", d.ID)
		}
		seen[d.ID] = true
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("split between consumers: %v", counts)
	for i, c := range counts {
		if c == 0 {
			t.Errorf("consumer %d got nothing: the work was not split (%v)", i, counts)
		}
	}
}

func distinct(ms []bus.Message) map[string]bool {
	out := map[string]bool{}
	for _, m := range ms {
		out[m.ID] = true
	}
	return out
}

// testConsumeContext: a consumer ends with its context; its unsettled
// delivery goes back to the queue and it gets nothing more.
func testConsumeContext(t *testing.T, h Harness) {
	ws := h.Workspace(t)
	pub := h.Open(t, ws)
	q := dispatchQueue(h, "pi-1")
	declare(t, pub, ws, q)
	c, cancel := context.WithCancel(ctx(t))
	first := newRecorder()
	if _, err := h.Open(t, ws).Consume(c, ws, q, first.Deliver); err != nil {
		t.Fatal(err)
	}
	publishDurable(t, pub, ws, msg(q.Pattern, "m0"))
	first.waitID(t, "m0")
	cancel()
	r := newRecorder()
	consume(t, h.Open(t, ws), ws, q, r.AckDeliver(t))
	r.waitID(t, "m0")
	for i := 1; i <= 5; i++ {
		publishDurable(t, pub, ws, msg(q.Pattern, fmt.Sprint("m", i)))
	}
	r.waitID(t, "m5")
	if n := first.Len(); n != 1 {
		t.Errorf("consumer whose context ended got %d deliveries, want 1: %v", n, ids(first.Messages()))
	}
}

// testDeleteQueue: a deleted queue takes its messages with it, and
// deleting a missing queue is not an error.
func testDeleteQueue(t *testing.T, h Harness) {
	ws := h.Workspace(t)
	b := h.Open(t, ws)
	q := dispatchQueue(h, "pi-1")
	declare(t, b, ws, q)
	publishDurable(t, b, ws, msg(q.Pattern, "old"))
	if err := b.DeleteQueue(ctx(t), ws, q.Name); err != nil {
		t.Fatalf("delete queue: %v", err)
	}
	if err := b.PublishDurable(ctx(t), ws, msg(q.Pattern, "x")); !errors.Is(err, bus.ErrNoQueue) {
		t.Errorf("publish durable after delete: got %v, want ErrNoQueue", err)
	}
	if err := b.DeleteQueue(ctx(t), ws, q.Name); err != nil {
		t.Errorf("delete of a missing queue: %v", err)
	}
	declare(t, b, ws, q)
	publishDurable(t, b, ws, msg(q.Pattern, "new"))
	r := newRecorder()
	consume(t, h.Open(t, ws), ws, q, r.AckDeliver(t))
	r.waitID(t, "new")
	if hasID(r.Messages(), "old") {
		t.Errorf("a message of the deleted queue survived: %v", ids(r.Messages()))
	}
}

// testClose: after Close every call returns ErrClosed.
func testClose(t *testing.T, h Harness) {
	ws := h.Workspace(t)
	b := h.Open(t, ws)
	q := dispatchQueue(h, "pi-1")
	declare(t, b, ws, q)
	subscribe(t, b, ws, "#", newRecorder())
	consume(t, b, ws, q, newRecorder().Deliver)
	if err := b.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if s := b.State(); s != bus.Closed {
		t.Errorf("State after Close = %v", s)
	}
	c := ctx(t)
	m := msg(q.Pattern, "late")
	_, subErr := b.Subscribe(c, ws, "#", func(bus.Message) {})
	_, consErr := b.Consume(c, ws, q, func(bus.Delivery) {})
	for op, err := range map[string]error{
		"Publish":        b.Publish(c, ws, m),
		"PublishDurable": b.PublishDurable(c, ws, m),
		"DeclareQueue":   b.DeclareQueue(c, ws, q),
		"DeleteQueue":    b.DeleteQueue(c, ws, q.Name),
		"Subscribe":      subErr,
		"Consume":        consErr,
	} {
		if !errors.Is(err, bus.ErrClosed) {
			t.Errorf("%s after Close: got %v, want ErrClosed", op, err)
		}
	}
}
