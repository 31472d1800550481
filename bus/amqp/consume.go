package amqp

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/runlet/runlet/bus"
)

// Consume declares q and hands its messages to h, one at a time, on a
// channel of its own with q.Prefetch (or DefaultPrefetch) unsettled
// deliveries at most. A message past its ExpiresAt is acked and reported to
// q.OnExpired instead. After a reconnection the consumer resumes by itself;
// what it had not settled is redelivered.
func (b *Bus) Consume(ctx context.Context, workspace string, q bus.Queue, h bus.DeliveryHandler) (bus.Subscription, error) {
	if err := checkQueue(q); err != nil {
		return nil, err
	}
	prefetch := q.Prefetch
	if prefetch <= 0 {
		prefetch = DefaultPrefetch
	}
	name := QueueName(workspace, q.Name)
	s := &subscription{
		what: []any{"workspace", workspace, "queue", q.Name},
		open: func(conn *amqp.Connection) (*stream, error) {
			if err := b.declareQueue(conn, workspace, q); err != nil {
				return nil, err
			}
			return openConsumer(conn, name, prefetch)
		},
		handle:  func(ch *amqp.Channel, d amqp.Delivery) { deliver(ch, d, q.OnExpired, h) },
		durable: true,
	}
	sub, err := b.start(ctx, s)
	if err != nil {
		return nil, brokerError("consume "+name, err)
	}
	return sub, nil
}

func openConsumer(conn *amqp.Connection, queue string, prefetch int) (st *stream, err error) {
	ch, err := conn.Channel()
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil && !ch.IsClosed() {
			_ = ch.Close()
		}
	}()
	if err = ch.Qos(prefetch, 0, false); err != nil {
		return nil, err
	}
	return consume(conn, ch, queue, false, false)
}

// deliver gives one durable delivery to h, or drops it as expired.
func deliver(ch *amqp.Channel, d amqp.Delivery, onExpired func(bus.Message), h bus.DeliveryHandler) {
	m := decode(&d)
	a := &acker{ch: ch, tag: d.DeliveryTag}
	if !m.ExpiresAt.IsZero() && time.Now().After(m.ExpiresAt) {
		if a.Ack() == nil && onExpired != nil {
			onExpired(m)
		}
		return
	}
	h(bus.Delivery{Message: m, Redelivered: d.Redelivered, Acker: a})
}

// acker settles one delivery on the channel it came from: delivery tags
// mean nothing on another channel, so after the channel ended Ack and Nack
// fail (the broker redelivers the message anyway).
type acker struct {
	ch      *amqp.Channel
	tag     uint64
	settled atomic.Bool
}

// errSettled: a second settlement would make the broker close the channel.
var errSettled = errors.New("amqp: delivery already acked or nacked")

func (a *acker) Ack() error {
	if !a.settled.CompareAndSwap(false, true) {
		return errSettled
	}
	return settleError("ack", a.ch.Ack(a.tag, false))
}

func (a *acker) Nack() error {
	if !a.settled.CompareAndSwap(false, true) {
		return errSettled
	}
	return settleError("nack", a.ch.Nack(a.tag, false, true))
}

func settleError(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, amqp.ErrClosed) {
		return brokerError(op, errors.New("the delivery's channel ended; the broker delivers the message again"))
	}
	return brokerError(op, err)
}
