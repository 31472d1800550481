// Package bustest is the contract suite every bus adapter passes: Run drives
// a Harness (fresh connections to one broker) through each delivery kind,
// ordering, expiry, redelivery, competing consumers, isolation, large bodies
// and Close, and the Bench helpers measure the same things side by side.
//
// Beyond the comments of package bus, the suite holds adapters to these
// points of the contract:
//   - Subscribe and Consume return once the broker has the subscription or
//     consumer, so a message published after they return reaches them.
//   - After Subscription.Close returns, its handler is not called again.
//   - DeleteQueue of a queue that does not exist is not an error.
//   - Message.Time round-trips to the millisecond; ID, Key, Header and Body
//     exactly; Publish fills an empty ID and a zero Time.
//   - A refused operation returns an error wrapping bus.ErrForbidden. An
//     adapter whose broker refuses asynchronously may instead return nil,
//     provided nothing crosses between workspaces.
package bustest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/runlet/runlet/bus"
)

// Harness gives the suite fresh connections to one broker.
type Harness struct {
	// Open connects a principal allowed ONLY in the given workspaces (the
	// broker must refuse others). Called many times per test; the harness
	// closes what it opened when the test ends (closing twice is fine).
	Open func(t testing.TB, workspaces ...string) bus.Bus
	// Workspace returns a fresh workspace name unique to this test run (so
	// tests on shared brokers never collide), cleaned up after.
	Workspace func(t testing.TB) string
	// OpenDevice connects as device (one of Devices) of workspace ws: the
	// principal bus.PolicyFor gives RoleDevice. Nil skips the device
	// cases (a broker without per-principal permissions).
	OpenDevice func(t testing.TB, ws, device string) bus.Bus
	// NoIsolation, when not empty, says why the broker has no per-principal
	// permissions (e.g. the machine's unauthenticated NATS); the isolation
	// tests are skipped with that reason.
	NoIsolation string
	// AckWait is the short Queue.AckWait the suite uses so that redelivery
	// tests do not wait DefaultAckWait. Zero means 2s.
	AckWait time.Duration
	// MaxBody is the largest body the broker accepts when below 1 MiB (the
	// default max_payload of a stock nats-server is 1 MB including
	// headers). Zero means the broker takes 1 MiB bodies; otherwise the suite
	// expects bus.ErrTooLarge for 1 MiB and round-trips MaxBody instead.
	MaxBody int
}

// QueueNames are the queue names the suite declares in its workspaces.
// Brokers whose permissions name queues one by one (NATS JetStream stream
// names cannot be matched by prefix) grant a test principal these.
var QueueNames = []string{"work", "other", "device.pi-a", "device.pi-b", "status", "telemetry"}

// Wait bounds every wait for an event in the suite: generous, because the
// machine running it may be loaded.
const Wait = 30 * time.Second

// Run runs every contract test as a subtest.
func Run(t *testing.T, h Harness) {
	if h.AckWait == 0 {
		h.AckWait = 2 * time.Second
	}
	tests := []struct {
		name string
		f    func(*testing.T, Harness)
	}{
		{"Connected", testConnected},
		{"FanOut", testFanOut},
		{"Ordering", testOrdering},
		{"Unsubscribe", testUnsubscribe},
		{"SubscriptionContext", testSubscriptionContext},
		{"RoundTrip", testRoundTrip},
		{"DurableWaitsForConsumer", testDurableWaits},
		{"NoQueue", testNoQueue},
		{"DurableNeedsQueue", testDurableNeedsQueue},
		{"DeclareIdempotent", testDeclareIdempotent},
		{"Expiry", testExpiry},
		{"RedeliveryAfterConsumerDies", testRedeliveryAfterDeath},
		{"Nack", testNack},
		{"CompetingConsumers", testCompeting},
		{"ConsumeContext", testConsumeContext},
		{"LargeBodies", testLargeBodies},
		{"DeleteQueue", testDeleteQueue},
		{"Isolation", testIsolation},
		{"DevicePolicy", testDevicePolicy},
		{"Close", testClose},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.f(t, h) })
	}
}

// ctx returns a context ending with the test.
func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*Wait)
	t.Cleanup(cancel)
	return c
}

// recorder collects what a handler receives and lets the test wait for it.
type recorder struct {
	mu      sync.Mutex
	msgs    []bus.Message
	dels    []bus.Delivery
	changed chan struct{}
}

func newRecorder() *recorder { return &recorder{changed: make(chan struct{})} }

func (r *recorder) notify() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// Handle is a bus.Handler.
func (r *recorder) Handle(m bus.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, m)
	r.notify()
}

// Deliver is a bus.DeliveryHandler that records without settling.
func (r *recorder) Deliver(d bus.Delivery) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dels = append(r.dels, d)
	r.msgs = append(r.msgs, d.Message)
	r.notify()
}

// AckDeliver is a bus.DeliveryHandler that records and acks.
func (r *recorder) AckDeliver(t testing.TB) bus.DeliveryHandler {
	return func(d bus.Delivery) {
		if err := d.Ack(); err != nil {
			t.Errorf("ack %s: %v", d.ID, err)
		}
		r.Deliver(d)
	}
}

func (r *recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msgs)
}

func (r *recorder) Messages() []bus.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bus.Message(nil), r.msgs...)
}

func (r *recorder) Deliveries() []bus.Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bus.Delivery(nil), r.dels...)
}

// waitUntil waits until cond holds on the recorder, failing t after Wait.
func (r *recorder) waitUntil(t testing.TB, what string, cond func([]bus.Message) bool) {
	t.Helper()
	if err := r.await(Wait, cond); err != nil {
		t.Fatalf("waiting for %s: %v (got %d messages)", what, err, r.Len())
	}
}

func (r *recorder) await(d time.Duration, cond func([]bus.Message) bool) error {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		ok := cond(r.msgs)
		ch := r.changed
		r.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-deadline.C:
			return fmt.Errorf("not within %v", d)
		}
	}
}

// waitN waits for at least n messages.
func (r *recorder) waitN(t testing.TB, n int) {
	t.Helper()
	r.waitUntil(t, fmt.Sprintf("%d messages", n), func(m []bus.Message) bool { return len(m) >= n })
}

// waitID waits for a message with the given id.
func (r *recorder) waitID(t testing.TB, id string) {
	t.Helper()
	r.waitUntil(t, "message "+id, func(ms []bus.Message) bool { return hasID(ms, id) })
}

func hasID(ms []bus.Message, id string) bool {
	for _, m := range ms {
		if m.ID == id {
			return true
		}
	}
	return false
}

// subscribe subscribes and fails t on error, closing at cleanup.
func subscribe(t testing.TB, b bus.Bus, ws string, pattern bus.Key, r *recorder) bus.Subscription {
	t.Helper()
	s, err := b.Subscribe(ctx(t), ws, pattern, r.Handle)
	if err != nil {
		t.Fatalf("subscribe %s %s: %v", ws, pattern, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func publish(t testing.TB, b bus.Bus, ws string, m bus.Message) {
	t.Helper()
	if err := b.Publish(ctx(t), ws, m); err != nil {
		t.Fatalf("publish %s %s: %v", ws, m.Key, err)
	}
}

func publishDurable(t testing.TB, b bus.Bus, ws string, m bus.Message) {
	t.Helper()
	if err := b.PublishDurable(ctx(t), ws, m); err != nil {
		t.Fatalf("publish durable %s %s: %v", ws, m.Key, err)
	}
}

func declare(t testing.TB, b bus.Bus, ws string, q bus.Queue) {
	t.Helper()
	if err := b.DeclareQueue(ctx(t), ws, q); err != nil {
		t.Fatalf("declare %s/%s: %v", ws, q.Name, err)
	}
}

func consume(t testing.TB, b bus.Bus, ws string, q bus.Queue, h bus.DeliveryHandler) bus.Subscription {
	t.Helper()
	s, err := b.Consume(ctx(t), ws, q, h)
	if err != nil {
		t.Fatalf("consume %s/%s: %v", ws, q.Name, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func msg(key bus.Key, id string) bus.Message {
	return bus.Message{ID: id, Key: key, Body: []byte("body of " + id)}
}

// forbiddenOrNil checks the result of an operation a principal is not
// allowed: an error must wrap bus.ErrForbidden; nil is reported so the
// caller can check that nothing crossed.
func forbiddenOrNil(t testing.TB, op string, err error) bool {
	t.Helper()
	switch {
	case err == nil:
		t.Logf("%s: no error; checking that nothing crosses", op)
		return false
	case errors.Is(err, bus.ErrForbidden):
		t.Logf("%s: refused: %v", op, err)
		return true
	default:
		t.Errorf("%s: want an error wrapping bus.ErrForbidden, got %v", op, err)
		return true
	}
}
