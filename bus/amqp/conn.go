package amqp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/internal/redact"
)

// handshakeTimeout bounds the TCP, TLS and AMQP handshake of one attempt.
const handshakeTimeout = 15 * time.Second

// meteredHeartbeat is the AMQP heartbeat proposed to the broker on a
// metered connection (the smaller of both sides' wins; RabbitMQ's default
// is 60 s). The library's default, 10 s, sends a heartbeat frame each way
// every 5 s on an idle connection: 8 MB a month of a device's bandwidth
// budget, several times that with IP headers (docs/bandwidth.md). A dead
// peer is noticed after two missed, within 2 minutes.
const meteredHeartbeat = 60 * time.Second

// dial opens one connection and registers for its end before anyone uses it.
func (b *Bus) dial(ctx context.Context) (*amqp.Connection, chan *amqp.Error, error) {
	var stop func() bool
	cfg := amqp.Config{
		Properties: amqp.Table{"connection_name": b.opts.Name, "product": "runlet"},
		Dial: func(network, addr string) (net.Conn, error) {
			d := net.Dialer{Timeout: handshakeTimeout}
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			// Heartbeats start after the handshake: until then a deadline
			// (cleared by the library once open) and ctx bound it.
			_ = c.SetDeadline(time.Now().Add(handshakeTimeout))
			stop = context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
			return c, nil
		},
	}
	if b.opts.Metered {
		cfg.Heartbeat = meteredHeartbeat
	}
	if b.opts.TLS != nil {
		// Used for amqps:// only; the library sets ServerName on it.
		cfg.TLSClientConfig = b.opts.TLS.Clone()
	}
	conn, err := amqp.DialConfig(b.url, cfg)
	if stop != nil {
		stop()
	}
	if err != nil {
		return nil, nil, dialError(b.url, err)
	}
	return conn, conn.NotifyClose(make(chan *amqp.Error, 1)), nil
}

// dialError says why the broker could not be joined, wrapping bus.ErrAuth
// when it refused the credentials.
func dialError(url string, err error) error {
	var ae *amqp.Error
	if errors.As(err, &ae) {
		switch ae.Code {
		case amqp.AccessRefused:
			return fmt.Errorf("amqp: connect to %s: %w: %s", redact.URL(url), bus.ErrAuth, ae.Reason)
		case amqp.NotAllowed:
			return fmt.Errorf("amqp: connect to %s: %w: %s", redact.URL(url), bus.ErrForbidden, ae.Reason)
		}
	}
	return fmt.Errorf("amqp: connect to %s: %w", redact.URL(url), err)
}

// setConn makes conn the current connection, unless the bus was closed
// meanwhile.
func (b *Bus) setConn(conn *amqp.Connection) {
	b.mu.Lock()
	if b.state == bus.Closed {
		b.mu.Unlock()
		_ = conn.Close()
		return
	}
	b.conn = conn
	b.pub, b.conf = nil, nil
	b.broadcast()
	b.mu.Unlock()
	b.setState(bus.Connected)
}

// supervise watches the connection and replaces it when it ends, until
// Close.
func (b *Bus) supervise(conn *amqp.Connection, closed chan *amqp.Error) {
	defer b.wg.Done()
	for {
		select {
		case <-b.ctx.Done():
			return
		case e := <-closed:
			b.lost(conn, e)
		}
		conn, closed = b.reconnect()
		if conn == nil {
			return
		}
		b.setConn(conn)
		b.log.Info("reconnected to the broker")
	}
}

// lost forgets a connection that ended.
func (b *Bus) lost(conn *amqp.Connection, e *amqp.Error) {
	b.mu.Lock()
	if b.conn == conn {
		b.conn = nil
		b.pub, b.conf = nil, nil
		b.broadcast()
	}
	b.mu.Unlock()
	b.log.Warn("connection to the broker lost; reconnecting", "reason", e)
	b.setState(bus.Reconnecting)
}

// reconnect dials with exponential backoff until it has a connection with
// the topology restored, or Close.
func (b *Bus) reconnect() (*amqp.Connection, chan *amqp.Error) {
	wait := b.opts.ReconnectWait
	for attempt := 1; ; attempt++ {
		if !sleep(b.ctx, wait) {
			return nil, nil
		}
		wait = min(2*wait, b.opts.MaxReconnectWait)
		conn, closed, err := b.dial(b.ctx)
		if err != nil {
			if errors.Is(err, bus.ErrAuth) && b.opts.OnRefused != nil && b.ctx.Err() == nil {
				b.opts.OnRefused(err)
			}
			if b.ctx.Err() == nil {
				b.log.Info("reconnect failed", "attempt", attempt, "err", err, "next", wait)
			}
			continue
		}
		if err := b.restore(conn); err != nil {
			b.log.Warn("restoring topology failed; reconnecting", "err", err)
			_ = conn.Close()
			continue
		}
		return conn, closed
	}
}

// restore re-declares the exchanges and durable queues this bus used.
// Entities the broker now refuses are logged and skipped; a connection that
// ends meanwhile is an error.
func (b *Bus) restore(conn *amqp.Connection) error {
	b.mu.Lock()
	workspaces := make([]string, 0, len(b.exchanges))
	for ws := range b.exchanges {
		workspaces = append(workspaces, ws)
	}
	queues := make(map[queueID]bus.Queue, len(b.queues))
	for id, q := range b.queues {
		queues[id] = q
	}
	b.mu.Unlock()
	for _, ws := range workspaces {
		if err := b.declareExchange(conn, ws); err != nil {
			if conn.IsClosed() {
				return err
			}
			b.log.Warn("exchange not restored", "workspace", ws, "err", err)
		}
	}
	for id, q := range queues {
		if err := b.declareQueue(conn, id.workspace, q); err != nil {
			if conn.IsClosed() {
				return err
			}
			b.log.Warn("queue not restored", "workspace", id.workspace, "queue", q.Name, "err", err)
		}
	}
	return nil
}

// waitConn returns a usable connection other than stale, waiting for the
// supervisor while there is none.
func (b *Bus) waitConn(ctx context.Context, stale *amqp.Connection) (*amqp.Connection, error) {
	for {
		b.mu.Lock()
		if b.state == bus.Closed {
			b.mu.Unlock()
			return nil, bus.ErrClosed
		}
		conn, changed := b.conn, b.changed
		b.mu.Unlock()
		if conn != nil && conn != stale && !conn.IsClosed() {
			return conn, nil
		}
		select {
		case <-changed:
		case <-b.ctx.Done():
			return nil, bus.ErrClosed
		case <-ctx.Done():
			return nil, fmt.Errorf("amqp: waiting for the broker: %w", ctx.Err())
		}
	}
}

// do runs f on a usable connection, again on the next one when the
// connection ends under it, until ctx is done.
func (b *Bus) do(ctx context.Context, f func(*amqp.Connection) error) error {
	var stale *amqp.Connection
	for {
		conn, err := b.waitConn(ctx, stale)
		if err != nil {
			return err
		}
		err = f(conn)
		if err == nil || !conn.IsClosed() {
			return err
		}
		stale = conn
	}
}

// sleep waits d or until ctx ends, reporting whether it waited d.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
