package amqp

import (
	"context"
	"sync"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/runlet/runlet/bus"
)

// subscription is a running Subscribe or Consume: a channel of its own with
// one consumer, and a goroutine that hands deliveries to the handler one at
// a time and, when the channel or connection ends, sets it up again.
type subscription struct {
	b    *Bus
	what []any // log attributes
	// open declares what the subscription needs on conn and starts
	// consuming.
	open func(conn *amqp.Connection) (*stream, error)
	// handle gives one delivery to the caller's handler.
	handle func(ch *amqp.Channel, d amqp.Delivery)
	// durable subscriptions end when their queue is deleted, instead of
	// declaring it again.
	durable bool

	ctx    context.Context // ends with Close, the caller's ctx, or the bus
	cancel context.CancelFunc

	mu sync.Mutex
	ch *amqp.Channel
}

// stream is one consumer on one channel.
type stream struct {
	conn  *amqp.Connection
	ch    *amqp.Channel
	queue string
	dels  <-chan amqp.Delivery
}

// consume starts a consumer of queue on ch.
func consume(conn *amqp.Connection, ch *amqp.Channel, queue string, autoAck, exclusive bool) (*stream, error) {
	dels, err := ch.Consume(queue, "", autoAck, exclusive, false, false, nil)
	if err != nil {
		return nil, err
	}
	return &stream{conn: conn, ch: ch, queue: queue, dels: dels}, nil
}

// start opens the subscription once, reporting its error, and then keeps it
// running in the background.
func (b *Bus) start(ctx context.Context, s *subscription) (*subscription, error) {
	s.b = b
	s.ctx, s.cancel = context.WithCancel(ctx)
	stopWithBus := context.AfterFunc(b.ctx, s.cancel)
	var st *stream
	err := b.do(s.ctx, func(c *amqp.Connection) error {
		var err error
		st, err = s.open(c)
		return err
	})
	if err != nil {
		stopWithBus()
		s.cancel()
		return nil, err
	}
	s.ch = st.ch
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == bus.Closed { // Close came first: it will not wait for us
		stopWithBus()
		s.Close()
		return nil, bus.ErrClosed
	}
	b.wg.Add(1)
	go s.run(st)
	return s, nil
}

func (s *subscription) run(st *stream) {
	defer s.b.wg.Done()
	defer s.cancel()
	for {
		s.deliver(st)
		s.closeChannel()
		if s.ctx.Err() != nil {
			return
		}
		if s.queueDeleted(st) {
			s.b.log.Warn("the queue was deleted; the subscription ends", s.what...)
			return
		}
		if s.ctx.Err() != nil {
			return
		}
		s.b.log.Info("subscription lost its channel; resuming", s.what...)
		if st = s.reopen(st.conn); st == nil {
			return
		}
	}
}

// deliver hands deliveries to the handler until the channel ends or the
// subscription stops.
func (s *subscription) deliver(st *stream) {
	for {
		select {
		case <-s.ctx.Done():
			return
		case d, ok := <-st.dels:
			// A delivery still buffered when the subscription ended is
			// dropped (and, when durable, redelivered by the broker).
			if !ok || s.ctx.Err() != nil {
				return
			}
			s.handle(st.ch, d)
		}
	}
}

// queueDeleted reports whether a durable subscription's queue was deleted
// while the connection stayed up (the broker cancels the consumer, or
// closes the channel over an ack the deleted queue no longer knows). A
// durable queue missing after a reconnection is declared again instead.
func (s *subscription) queueDeleted(st *stream) bool {
	if !s.durable || st.conn.IsClosed() {
		return false
	}
	err := onChannel(st.conn, func(ch *amqp.Channel) error {
		_, err := ch.QueueDeclarePassive(st.queue, true, false, false, false, nil)
		return err
	})
	return code(err) == amqp.NotFound
}

// reopen sets the subscription up again on a new channel, and a new
// connection when stale ended, backing off while the broker refuses.
func (s *subscription) reopen(stale *amqp.Connection) *stream {
	wait := s.b.opts.ReconnectWait
	for {
		conn, err := s.b.waitConn(s.ctx, stale)
		if err != nil {
			return nil
		}
		st, err := s.open(conn)
		if err == nil {
			s.mu.Lock()
			s.ch = st.ch
			s.mu.Unlock()
			if s.ctx.Err() != nil { // closed meanwhile
				s.closeChannel()
				return nil
			}
			s.b.log.Info("subscription resumed", s.what...)
			return st
		}
		if conn.IsClosed() {
			stale = conn
			continue
		}
		s.b.log.Warn("resuming subscription failed; retrying", append(s.what, "err", err, "next", wait)...)
		if !sleep(s.ctx, wait) {
			return nil
		}
		wait = min(2*wait, s.b.opts.MaxReconnectWait)
	}
}

func (s *subscription) closeChannel() {
	s.mu.Lock()
	ch := s.ch
	s.mu.Unlock()
	if ch != nil && !ch.IsClosed() {
		_ = ch.Close()
	}
}

// Close stops deliveries: no handler call starts after it returns (one
// already running may still finish). A durable consumer's unsettled
// deliveries go back to the queue.
func (s *subscription) Close() error {
	s.cancel()
	s.closeChannel()
	return nil
}
