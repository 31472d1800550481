package nats

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/runlet/runlet/bus"
)

// DefaultPrefetch is Queue.Prefetch when zero.
const DefaultPrefetch = 64

// Consume declares q and pulls from its stream through the queue's shared
// durable consumer. It returns once the consumer exists; the deliveries run
// on a goroutine of their own. When the pull breaks (the server lost the
// consumer or the stream), it declares both again and resumes.
func (b *Bus) Consume(ctx context.Context, ws string, q bus.Queue, h bus.DeliveryHandler) (bus.Subscription, error) {
	if err := b.live(); err != nil {
		return nil, err
	}
	if err := checkQueue(q); err != nil {
		return nil, err
	}
	if q.Prefetch <= 0 {
		q.Prefetch = DefaultPrefetch
	}
	if q.AckWait <= 0 {
		q.AckWait = bus.DefaultAckWait
	}
	c := &consumer{
		b: b, ws: ws, q: q, h: h, stream: StreamName(ws, q.Name),
		slots:     make(chan struct{}, q.Prefetch),
		stopping:  make(chan struct{}),
		done:      make(chan struct{}),
		unsettled: map[*acker]struct{}{},
	}
	if err := c.ensure(ctx); err != nil {
		return nil, err
	}
	it, err := c.open()
	if err != nil {
		return nil, b.mapErr("consume "+c.stream, err)
	}
	if err := b.track(c); err != nil {
		it.Stop()
		return nil, err
	}
	c.hmu.Lock()
	c.stopCtx = context.AfterFunc(ctx, func() { _ = c.Close() })
	c.hmu.Unlock()
	go c.run(it)
	return c, nil
}

type consumer struct {
	b      *Bus
	ws     string
	q      bus.Queue
	h      bus.DeliveryHandler
	stream string
	// slots holds one token per unsettled delivery, up to Prefetch.
	slots    chan struct{}
	stopping chan struct{}
	done     chan struct{}

	// hmu is held while the handler runs, so that Close waits for it.
	hmu     sync.Mutex
	closed  bool
	stopCtx func() bool

	mu        sync.Mutex
	cons      jetstream.Consumer
	it        puller
	unsettled map[*acker]struct{}
}

// ensure declares the stream when it is missing and creates or updates
// the shared durable consumer.
func (c *consumer) ensure(ctx context.Context) error {
	gc, done := c.b.guard(ctx, apiFor(c.stream))
	defer done()
	s, err := c.b.js.Stream(gc, c.stream)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		err = c.b.declare(ctx, c.ws, c.q)
	case err == nil && !slices.Equal(s.CachedInfo().Config.Subjects, streamConfig(c.ws, c.q).Subjects):
		// A stream of an older layout collecting the transient subjects:
		// its declarer moves it; a consumer not allowed to still consumes.
		if derr := c.b.declare(ctx, c.ws, c.q); derr != nil {
			c.b.log.Warn("the queue's stream collects other subjects and was not updated", "stream", c.stream, "err", derr)
		}
	}
	if err != nil {
		return c.b.mapErr(fmt.Sprintf("consume queue %q in workspace %q", c.q.Name, c.ws), refused(gc, err))
	}
	cons, err := c.b.js.CreateOrUpdateConsumer(gc, c.stream, jetstream.ConsumerConfig{
		Durable:       consumerName,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       c.q.AckWait,
		MaxDeliver:    -1,
		MaxAckPending: max(1000, 64*c.q.Prefetch),
	})
	if err != nil {
		return c.b.mapErr(fmt.Sprintf("create the consumer of queue %q in workspace %q", c.q.Name, c.ws), refused(gc, err))
	}
	c.mu.Lock()
	c.cons = cons
	c.mu.Unlock()
	return nil
}

// recheck restarts the pull when the server no longer has the consumer,
// as after a restart on a lost store: the old pull would wait forever. A
// fetcher's long pull is renewed in any case: the server may have dropped
// it with the connection.
func (c *consumer) recheck(ctx context.Context) {
	c.mu.Lock()
	f, ok := c.it.(*fetcher)
	c.mu.Unlock()
	if ok {
		f.renew() // at once: the question below may wait for JetStream
	}
	_, err := c.b.js.Consumer(ctx, c.stream, consumerName)
	if !errors.Is(err, jetstream.ErrConsumerNotFound) && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return
	}
	c.mu.Lock()
	it := c.it
	c.mu.Unlock()
	if it != nil {
		it.Stop() // run sees the pull end and re-creates everything
	}
}

// open starts pulling; it fails once the consumer is closed.
func (c *consumer) open() (puller, error) {
	c.mu.Lock()
	cons := c.cons
	c.mu.Unlock()
	var it puller
	if c.b.metered {
		it = newFetcher(cons, c.q.Prefetch)
	} else {
		mc, err := cons.Messages(jetstream.PullMaxMessages(c.q.Prefetch))
		if err != nil {
			return nil, err
		}
		it = mc
	}
	c.mu.Lock()
	c.it = it
	c.mu.Unlock()
	if c.isClosed() {
		it.Stop()
		return nil, bus.ErrClosed
	}
	return it, nil
}

func (c *consumer) isClosed() bool {
	c.hmu.Lock()
	defer c.hmu.Unlock()
	return c.closed
}

// run delivers until Close, re-creating the pull when it breaks.
func (c *consumer) run(it puller) {
	defer close(c.done)
	for it != nil {
		err := c.pull(it)
		if c.isClosed() {
			return
		}
		c.b.log.Warn("consumer interrupted; re-creating it", "workspace", c.ws, "queue", c.q.Name, "err", err)
		it.Stop()
		it = c.reopen()
	}
}

func (c *consumer) pull(it puller) error {
	for {
		m, err := it.Next()
		if err != nil {
			return err
		}
		c.handle(m)
	}
}

// reopen retries ensure and open with backoff until one works or the
// consumer closes (nil).
func (c *consumer) reopen() puller {
	for attempt := 1; ; attempt++ {
		select {
		case <-c.stopping:
			return nil
		case <-time.After(c.b.wait(attempt)):
		}
		if c.b.nc.IsClosed() {
			return nil // the connection is gone for good; Close follows
		}
		// Close must not wait for a JetStream request that waits for a
		// reconnection (a revoked device's never comes): stopping ends it.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		unwatch := stopOn(c.stopping, cancel)
		err := c.ensure(ctx)
		unwatch()
		cancel()
		if err == nil {
			it, err := c.open()
			if err == nil {
				return it
			}
		}
		if c.isClosed() {
			return nil
		}
		c.b.log.Warn("re-creating a consumer", "workspace", c.ws, "queue", c.q.Name, "attempt", attempt, "err", err)
	}
}

// handle checks expiry, waits for a prefetch slot and calls the handler.
func (c *consumer) handle(m jetstream.Msg) {
	msg := decode(c.ws, m.Subject(), m.Headers(), m.Data())
	if c.isClosed() {
		_ = c.nak(m)
		return
	}
	if !msg.ExpiresAt.IsZero() && time.Now().After(msg.ExpiresAt) {
		if err := m.Ack(); err != nil {
			c.b.log.Warn("acking an expired message", "id", msg.ID, "err", err)
		}
		if c.q.OnExpired != nil {
			c.q.OnExpired(msg)
		}
		return
	}
	select {
	case c.slots <- struct{}{}:
	case <-c.stopping:
		_ = c.nak(m)
		return
	}
	a := &acker{c: c, m: m}
	c.mu.Lock()
	c.unsettled[a] = struct{}{}
	c.mu.Unlock()
	d := bus.Delivery{Message: msg, Acker: a}
	if meta, err := m.Metadata(); err == nil {
		d.Redelivered = meta.NumDelivered > 1
	}
	c.hmu.Lock()
	defer c.hmu.Unlock()
	if c.closed {
		_ = a.Nack()
		return
	}
	c.h(d)
}

// Close stops pulling, waits for a running handler call, and gives every
// unsettled delivery back to the queue. It must not be called from the
// handler.
func (c *consumer) Close() error {
	c.hmu.Lock()
	if c.closed {
		c.hmu.Unlock()
		return nil
	}
	c.closed = true
	stop := c.stopCtx
	c.hmu.Unlock()
	if stop != nil {
		stop()
	}
	close(c.stopping)
	c.mu.Lock()
	it := c.it
	c.mu.Unlock()
	switch {
	case it == nil:
	case c.b.nc.IsConnected():
		// Drain lets run nak what is buffered, then ends Next.
		it.Drain()
	default:
		// Draining needs the server; AckWait returns what is buffered.
		it.Stop()
	}
	<-c.done
	c.mu.Lock()
	left := make([]*acker, 0, len(c.unsettled))
	for a := range c.unsettled {
		left = append(left, a)
	}
	c.mu.Unlock()
	for _, a := range left {
		if c.b.nakOnClose() {
			_ = a.Nack()
		} else {
			a.release() // AckWait gives it back
		}
	}
	c.b.untrack(c)
	return nil
}

// acker settles one delivery once.
type acker struct {
	c    *consumer
	m    jetstream.Msg
	once sync.Once
}

func (a *acker) Ack() error { return a.settle("ack", a.m.Ack) }
func (a *acker) Nack() error {
	if a.c.b.metered {
		return a.settle("nack", func() error { return a.m.NakWithDelay(meteredNakDelay) })
	}
	return a.settle("nack", a.m.Nak)
}

// meteredNakDelay holds back a message a metered consumer gives back: at
// once, the server would hand it to that consumer's own long pull again,
// and a consumer that gives it back because it stops would cancel that
// pull with the message in flight, which then waits out AckWait (30 s)
// before anyone else gets it (docs/bandwidth.md). By the time the delay
// is over, a stopping consumer's pull is gone and the next one takes it.
const meteredNakDelay = 250 * time.Millisecond

func (a *acker) settle(op string, f func() error) error {
	var err error
	a.once.Do(func() {
		a.forget()
		err = f()
	})
	if err != nil {
		return a.c.b.mapErr(op, err)
	}
	return nil
}

// release forgets the delivery without settling it.
func (a *acker) release() { a.once.Do(a.forget) }

func (a *acker) forget() {
	a.c.mu.Lock()
	delete(a.c.unsettled, a)
	a.c.mu.Unlock()
	<-a.c.slots
}

// stopOn calls cancel when stop closes, until the returned func is called.
func stopOn(stop <-chan struct{}, cancel context.CancelFunc) (unwatch func()) {
	done := make(chan struct{})
	go func() {
		select {
		case <-stop:
			cancel()
		case <-done:
		}
	}()
	return func() { close(done) }
}

// nak gives m back to the queue, held back meteredNakDelay on a metered
// connection (see there).
func (c *consumer) nak(m jetstream.Msg) error {
	if c.b.metered {
		return m.NakWithDelay(meteredNakDelay)
	}
	return m.Nak()
}
