package amqp

import (
	"context"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/runlet/runlet/bus"
)

// A slow transient handler must not pile messages up without bound, in the
// client (the library buffers whatever the broker sends) or in the broker:
// the broker sends a subscription at most transientPrefetch unacked
// messages and keeps at most transientBacklog waiting, dropping the oldest
// beyond (terminal frames are numbered and replayed on request; heartbeats
// and events are superseded by the next ones).
const (
	transientPrefetch = 256
	transientBacklog  = 10000
)

// Subscribe binds a fresh exclusive, auto-delete queue of the workspace to
// pattern and hands its messages to h, in order, until the subscription is
// closed or ctx is done. After a reconnection a new queue replaces it;
// messages published in between are lost, as transient messages may be.
func (b *Bus) Subscribe(ctx context.Context, workspace string, pattern bus.Key, h bus.Handler) (bus.Subscription, error) {
	if err := pattern.Validate(true); err != nil {
		return nil, err
	}
	exch := ExchangeName(workspace)
	s := &subscription{
		what: []any{"workspace", workspace, "pattern", string(pattern)},
		open: func(conn *amqp.Connection) (*stream, error) {
			if err := b.ensureExchange(conn, workspace); err != nil {
				return nil, err
			}
			return openTransient(conn, workspace, exch, pattern)
		},
		handle: func(_ *amqp.Channel, d amqp.Delivery) {
			h(decode(&d))
			_ = d.Ack(false) // fails only with the channel, which takes the queue along
		},
	}
	sub, err := b.start(ctx, s)
	if err != nil {
		return nil, brokerError("subscribe to "+exch+" "+string(pattern), err)
	}
	return sub, nil
}

func openTransient(conn *amqp.Connection, workspace, exch string, pattern bus.Key) (st *stream, err error) {
	ch, err := conn.Channel()
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil && !ch.IsClosed() {
			_ = ch.Close()
		}
	}()
	if err = ch.Qos(transientPrefetch, 0, false); err != nil {
		return nil, err
	}
	q := subQueueName(workspace)
	args := amqp.Table{"x-max-length": int64(transientBacklog)}
	if _, err = ch.QueueDeclare(q, false, true, true, false, args); err != nil {
		return nil, err
	}
	if err = ch.QueueBind(q, string(pattern), exch, false, nil); err != nil {
		return nil, err
	}
	return consume(conn, ch, q, false, true)
}
