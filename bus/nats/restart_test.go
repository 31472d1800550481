package nats_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/bus/bustest"
	"github.com/runlet/runlet/bus/nats/embedded"
	"github.com/runlet/runlet/internal/testenv"
)

// TestRestartEmbedded shuts the embedded server down and starts it again
// on the same store and port.
func TestRestartEmbedded(t *testing.T) {
	s, err := embedded.Start(embeddedConfig(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		s.Shutdown()
	})
	ws := "restart"
	checkRestart(t, withUser(s.URL(), ws, testPassword), ws, metered(t), func() {
		mu.Lock()
		defer mu.Unlock()
		cfg := s.Config()
		s.Shutdown()
		if s, err = embedded.Start(cfg); err != nil {
			t.Fatalf("start again on the same store: %v", err)
		}
	})
}

// TestRestartProcess kills a standalone nats-server process (SIGKILL) and
// starts it again on the same store.
func TestRestartProcess(t *testing.T) {
	p := startProcess(t)
	ws := <-p.pool
	checkRestart(t, withUser(p.url(), ws, testPassword), ws, false, p.restart)
}

// checkRestart publishes durable messages with confirms, restarts the
// broker while a goroutine keeps publishing (retrying on errors), and
// proves that every confirmed message is delivered exactly once after
// dedup by id, and that the subscriber and consumer opened before the
// restart receive again without help.
func checkRestart(t *testing.T, u, ws string, metered bool, restart func()) {
	opts := func(name string, onState func(bus.State)) bus.Options {
		return bus.Options{Name: name, ReconnectWait: 50 * time.Millisecond, MaxReconnectWait: time.Second, OnState: onState, Metered: metered}
	}
	var states stateLog
	pub := open(t, u, opts("publisher", nil))
	cons := open(t, u, opts("consumer", states.add))
	sub := open(t, u, opts("subscriber", nil))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	q := bus.Queue{Name: bustest.QueueNames[0], Pattern: bus.AllStatus, AckWait: 5 * time.Second}
	if err := pub.DeclareQueue(ctx, ws, q); err != nil {
		t.Fatal(err)
	}
	got := newCounter()
	if _, err := cons.Consume(ctx, ws, q, func(d bus.Delivery) {
		got.add(d.ID)
		_ = d.Ack()
	}); err != nil {
		t.Fatal(err)
	}
	events := newCounter()
	if _, err := sub.Subscribe(ctx, ws, bus.EventKey, func(m bus.Message) { events.add(m.ID) }); err != nil {
		t.Fatal(err)
	}

	var confirmed sync.Map
	const before, during = 100, 200
	for i := range before {
		id := fmt.Sprint("before-", i)
		if err := pub.PublishDurable(ctx, ws, bus.Message{ID: id, Key: bus.StatusKey("e", "d")}); err != nil {
			t.Fatalf("publish %s: %v", id, err)
		}
		confirmed.Store(id, true)
	}

	var published, retries atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range during {
			id := fmt.Sprint("during-", i)
			for ctx.Err() == nil {
				c, cancel := context.WithTimeout(ctx, 2*time.Second)
				err := pub.PublishDurable(c, ws, bus.Message{ID: id, Key: bus.StatusKey("e", "d")})
				cancel()
				if err == nil {
					confirmed.Store(id, true)
					break
				}
				retries.Add(1)
				time.Sleep(20 * time.Millisecond) // pace retries while the broker is away
			}
			published.Add(1)
		}
	}()
	testenv.Eventually(t, "the publisher to be under way", patience, func() bool { return published.Load() >= 10 })
	restart()
	<-done
	t.Logf("published %d during the restart, with %d retried attempts", published.Load(), retries.Load())

	var want []string
	confirmed.Range(func(k, _ any) bool { want = append(want, k.(string)); return true })
	if len(want) != before+during {
		t.Fatalf("%d messages confirmed, want %d", len(want), before+during)
	}
	testenv.Eventually(t, "every confirmed message at the consumer", patience, func() bool { return got.hasAll(want) })
	if extra := got.distinct() - len(want); extra != 0 {
		t.Errorf("%d unconfirmed ids delivered", extra)
	}
	t.Logf("deliveries: %d for %d distinct ids", got.total(), got.distinct())

	// The transient subscription is back: a probe reaches it (probes sent
	// before the subscription is resent may be lost, as transient may).
	for i := 0; ; i++ {
		id := fmt.Sprint("probe-", i)
		if err := pub.Publish(ctx, ws, bus.Message{ID: id, Key: bus.EventKey}); err != nil {
			t.Fatal(err)
		}
		if events.waitFor(id, 200*time.Millisecond) {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("the subscriber opened before the restart gets nothing after it")
		}
	}
	if !states.saw(bus.Reconnecting, bus.Connected) {
		t.Errorf("consumer's OnState saw %v, want reconnecting then connected", states.all())
	}
}

// patience bounds every wait for an event in these tests: a broker
// restart on a loaded machine is slow.
const patience = 90 * time.Second

// counter counts deliveries per id.
type counter struct {
	mu      sync.Mutex
	n       map[string]int
	arrived chan string
}

func newCounter() *counter { return &counter{n: map[string]int{}, arrived: make(chan string, 1<<16)} }

func (c *counter) add(id string) {
	c.mu.Lock()
	c.n[id]++
	c.mu.Unlock()
	select {
	case c.arrived <- id:
	default:
	}
}

func (c *counter) waitFor(id string, d time.Duration) bool {
	timeout := time.After(d)
	for {
		select {
		case got := <-c.arrived:
			if got == id {
				return true
			}
		case <-timeout:
			return false
		}
	}
}

func (c *counter) hasAll(ids []string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		if c.n[id] == 0 {
			return false
		}
	}
	return true
}

func (c *counter) distinct() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.n)
}

func (c *counter) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, k := range c.n {
		n += k
	}
	return n
}

// stateLog records OnState calls.
type stateLog struct {
	mu sync.Mutex
	s  []bus.State
}

func (l *stateLog) add(s bus.State) {
	l.mu.Lock()
	l.s = append(l.s, s)
	l.mu.Unlock()
}

func (l *stateLog) all() []bus.State {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]bus.State(nil), l.s...)
}

// saw reports whether the states appeared in this order.
func (l *stateLog) saw(want ...bus.State) bool {
	i := 0
	for _, s := range l.all() {
		if i < len(want) && s == want[i] {
			i++
		}
	}
	return i == len(want)
}

// TestServerLosesStreams: the server comes back on an empty store; the
// publisher declares its queue again and the consumer its consumer,
// without help.
func TestServerLosesStreams(t *testing.T) {
	s, err := embedded.Start(embeddedConfig(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		s.Shutdown()
	})
	const ws = "lost"
	u := withUser(s.URL(), ws, testPassword)
	opts := bus.Options{ReconnectWait: 50 * time.Millisecond, MaxReconnectWait: 500 * time.Millisecond, Metered: metered(t)}
	pub, cons := open(t, u, opts), open(t, u, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	q := bus.Queue{Name: bustest.QueueNames[0], Pattern: bus.AllStatus, AckWait: 2 * time.Second}
	if err := pub.DeclareQueue(ctx, ws, q); err != nil {
		t.Fatal(err)
	}
	got := newCounter()
	if _, err := cons.Consume(ctx, ws, q, func(d bus.Delivery) { got.add(d.ID); _ = d.Ack() }); err != nil {
		t.Fatal(err)
	}
	if err := pub.PublishDurable(ctx, ws, bus.Message{ID: "m1", Key: bus.StatusKey("e", "d")}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "m1", patience, func() bool { return got.hasAll([]string{"m1"}) })

	mu.Lock()
	cfg := s.Config()
	s.Shutdown()
	cfg.Dir = t.TempDir()
	s, err = embedded.Start(cfg)
	mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	// ErrNoQueue is expected until the publisher has declared again.
	testenv.Eventually(t, "a confirmed publish after the store was lost", patience, func() bool {
		return pub.PublishDurable(ctx, ws, bus.Message{ID: "m2", Key: bus.StatusKey("e", "d")}) == nil
	})
	testenv.Eventually(t, "m2 at the consumer opened before", patience, func() bool { return got.hasAll([]string{"m2"}) })
}
