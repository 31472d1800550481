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
	var stale *amqp.Connection
	for try := 0; ; try++ {
		conn, err := b.waitConn(ctx, stale)
		if err != nil {
			return err
		}
		err = b.ensureExchange(conn, workspace)
		var ch *amqp.Channel
		if err == nil {
			ch, err = b.pubChannel(conn)
		}
		if err == nil {
			err = ch.PublishWithContext(ctx, exch, string(m.Key), false, false, msg)
		}
		switch {
		case err == nil:
			return nil
		case conn.IsClosed():
			stale = conn
		case errors.Is(err, amqp.ErrClosed) && try < attempts:
		default:
			return brokerError("publish to "+exch, err)
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

// PublishDurable publishes a persistent, mandatory message on the confirm
// channel and waits for the broker's confirm. While the broker is away it
// waits for the reconnection, bounded by ctx. It returns bus.ErrNoQueue for
// a message no queue takes, and an error wrapping ErrUnconfirmed when the
// broker nacked it or the connection ended before the confirm.
func (b *Bus) PublishDurable(ctx context.Context, workspace string, m bus.Message) error {
	if err := prepare(&m); err != nil {
		return err
	}
	msg := encode(m, amqp.Persistent)
	exch := ExchangeName(workspace)
	var stale *amqp.Connection
	for try := 0; ; try++ {
		conn, err := b.waitConn(ctx, stale)
		if err != nil {
			return err
		}
		err = b.ensureExchange(conn, workspace)
		var c *confirmer
		if err == nil {
			c, err = b.confirmChannel(conn)
		}
		var done <-chan error
		if err == nil {
			done, err = c.publish(ctx, exch, string(m.Key), msg)
		}
		switch {
		case err == nil:
			return b.awaitConfirm(ctx, exch, done)
		case conn.IsClosed():
			stale = conn
		case errors.Is(err, amqp.ErrClosed) && try < attempts:
		default:
			return brokerError("publish to "+exch, err)
		}
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
