package amqp

import (
	"context"
	"errors"
	"fmt"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/runlet/runlet/bus"
)

// attempts bounds how often a publish is retried on a fresh channel when its
// channel (not the connection) ended before the message was sent.
const attempts = 3

// Publish sends a transient (non-persistent) message to the workspace's
// exchange. While the broker is away it waits for the reconnection, bounded
// by ctx. The broker refuses some publishes only after the fact (closing the
// channel): such a message is dropped, and the next publish goes on a new
// channel.
func (b *Bus) Publish(ctx context.Context, workspace string, m bus.Message) error {
	if err := prepare(&m); err != nil {
		return err
	}
	msg := encode(m, amqp.Transient)
	exch := ExchangeName(workspace)
	return b.onExchange(ctx, workspace, func(conn *amqp.Connection) error {
		ch, err := b.pubChannel(conn)
		if err != nil {
			return err
		}
		return ch.PublishWithContext(ctx, exch, string(m.Key), false, false, msg)
	})
}

// onExchange runs publish on a live connection whose workspace exchange is
// declared: it waits for a reconnection while the broker is away (bounded by
// ctx), and tries again on a fresh channel, a few times, when the broker
// closed the one used.
func (b *Bus) onExchange(ctx context.Context, workspace string, publish func(*amqp.Connection) error) error {
	var stale *amqp.Connection
	for try := 0; ; try++ {
		conn, err := b.waitConn(ctx, stale)
		if err != nil {
			return err
		}
		err = b.ensureExchange(conn, workspace)
		if err == nil {
			err = publish(conn)
		}
		switch {
		case err == nil:
			return nil
		case conn.IsClosed():
			stale = conn
		case errors.Is(err, amqp.ErrClosed) && try < attempts:
		default:
			return brokerError("publish to "+ExchangeName(workspace), err)
		}
	}
}

// pubChannel returns conn's transient publishing channel, opening a new one
// when the broker closed the last.
func (b *Bus) pubChannel(conn *amqp.Connection) (*amqp.Channel, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.conn != conn {
		return nil, amqp.ErrClosed
	}
	if b.pub != nil && !b.pub.IsClosed() {
		return b.pub, nil
	}
	ch, err := conn.Channel()
	if err != nil {
		return nil, err
	}
	b.pub = ch
	return ch, nil
}

// PublishDurable publishes a persistent, mandatory message to the durable
// exchange on the confirm channel and waits for the broker's confirm; then
// it copies the message to the transient subscriptions (copyTransient).
// While the broker is away it waits for the reconnection, bounded by ctx.
// It returns bus.ErrNoQueue for a message no durable queue takes, whatever
// the subscriptions, and an error wrapping ErrUnconfirmed when the broker
// nacked it or the connection ended before the confirm.
func (b *Bus) PublishDurable(ctx context.Context, workspace string, m bus.Message) error {
	if err := prepare(&m); err != nil {
		return err
	}
	msg := encode(m, amqp.Persistent)
	exch := DurableExchangeName(workspace)
	var done <-chan error
	err := b.onExchange(ctx, workspace, func(conn *amqp.Connection) error {
		c, err := b.confirmChannel(conn)
		if err != nil {
			return err
		}
		done, err = c.publish(ctx, exch, string(m.Key), msg)
		return err
	})
	if err != nil {
		return err
	}
	if err := b.awaitConfirm(ctx, exch, done); err != nil {
		return err
	}
	msg.DeliveryMode = amqp.Transient
	b.copyTransient(ctx, workspace, m.Key, msg)
	return nil
}

// copyTransient publishes a message a durable queue stored to the
// workspace's transient exchange, for the subscriptions whose pattern
// matches: after the confirm, so that they see only what a queue stored,
// and before PublishDurable returns, on the channel of Publish, so that
// they see the messages of one publisher in the order it published them,
// durable and transient alike. The durable publish has succeeded: a copy
// that fails is a transient message lost, which subscribers must bear
// anyway, and is logged, not returned, since the caller would publish the
// stored message again. It does not wait for a reconnection.
func (b *Bus) copyTransient(ctx context.Context, workspace string, key bus.Key, msg amqp.Publishing) {
	var err error
	for try := 0; try < attempts; try++ {
		b.mu.Lock()
		conn := b.conn
		b.mu.Unlock()
		if conn == nil || conn.IsClosed() {
			err = amqp.ErrClosed
			break
		}
		if err = b.ensureExchange(conn, workspace); err == nil {
			var ch *amqp.Channel
			if ch, err = b.pubChannel(conn); err == nil {
				err = ch.PublishWithContext(ctx, ExchangeName(workspace), string(key), false, false, msg)
			}
		}
		// A channel the broker closed is replaced: try again on a new one.
		if !errors.Is(err, amqp.ErrClosed) {
			break
		}
	}
	if err != nil {
		b.log.Warn("durable message stored, but its copy for transient subscribers was not sent",
			"workspace", workspace, "key", string(key), "id", msg.MessageId, "err", err)
	}
}

func (b *Bus) awaitConfirm(ctx context.Context, exch string, done <-chan error) error {
	select {
	case err := <-done:
		if errors.Is(err, bus.ErrNoQueue) {
			return fmt.Errorf("amqp: publish to %s: %w", exch, err)
		}
		return err
	case <-ctx.Done():
		return fmt.Errorf("amqp: publish to %s: %w: %w", exch, ErrUnconfirmed, ctx.Err())
	case <-b.ctx.Done():
		return fmt.Errorf("amqp: publish to %s: %w before the broker confirmed", exch, bus.ErrClosed)
	}
}

// confirmChannel returns conn's confirm channel, opening a new one when the
// last ended.
func (b *Bus) confirmChannel(conn *amqp.Connection) (*confirmer, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.conn != conn {
		return nil, amqp.ErrClosed
	}
	if b.conf != nil && !b.conf.dead() {
		return b.conf, nil
	}
	c, err := newConfirmer(conn, &b.wg)
	if err != nil {
		return nil, err
	}
	b.conf = c
	return c, nil
}
