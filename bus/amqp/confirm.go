package amqp

import (
	"context"
	"fmt"
	"strings"
	"sync"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/runlet/runlet/bus"
)

// confirmer is a channel in confirm mode shared by every PublishDurable of
// a connection. Publishes are pipelined: each waits for its own confirm.
// Messages are published mandatory; RabbitMQ sends the basic.return of an
// unroutable message before its basic.ack, and one goroutine reads both in
// that order, so a confirm finds its return already recorded.
type confirmer struct {
	ch     *amqp.Channel
	closed chan *amqp.Error

	pubMu sync.Mutex // one publish at a time: delivery tags follow publish order

	mu      sync.Mutex
	pending []*pending // unconfirmed, in tag order
	err     error      // why the channel ended; set once
}

type pending struct {
	tag           uint64
	id, key, exch string
	size          int
	returned      bool
	done          chan error // buffered: the confirmer never blocks on it
}

// newConfirmer opens a confirm channel on conn; its goroutine, counted in
// wg, ends with the channel.
func newConfirmer(conn *amqp.Connection, wg *sync.WaitGroup) (*confirmer, error) {
	ch, err := conn.Channel()
	if err != nil {
		return nil, err
	}
	if err := ch.Confirm(false); err != nil {
		_ = ch.Close()
		return nil, err
	}
	c := &confirmer{ch: ch, closed: ch.NotifyClose(make(chan *amqp.Error, 1))}
	// Buffers keep the connection's reader from waiting on us; the library
	// drops a notification that waits more than 5s.
	confirms := ch.NotifyPublish(make(chan amqp.Confirmation, 1024))
	returns := ch.NotifyReturn(make(chan amqp.Return, 1024))
	wg.Add(1)
	go c.run(wg, confirms, returns)
	return c, nil
}

func (c *confirmer) run(wg *sync.WaitGroup, confirms <-chan amqp.Confirmation, returns <-chan amqp.Return) {
	defer wg.Done()
	for {
		select {
		case r, ok := <-returns:
			if !ok {
				returns = nil
				continue
			}
			c.returned(r)
		case cf, ok := <-confirms:
			if !ok {
				c.fail()
				return
			}
			c.drainReturns(returns)
			c.settle(cf)
		}
	}
}

// drainReturns records the returns that arrived before the confirm being
// handled.
func (c *confirmer) drainReturns(returns <-chan amqp.Return) {
	for {
		select {
		case r, ok := <-returns:
			if !ok {
				return
			}
			c.returned(r)
		default:
			return
		}
	}
}

// returned marks the oldest unconfirmed publish of r's message and key.
func (c *confirmer) returned(r amqp.Return) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.pending {
		if !p.returned && p.id == r.MessageId && p.key == r.RoutingKey {
			p.returned = true
			return
		}
	}
}

func (c *confirmer) settle(cf amqp.Confirmation) {
	c.mu.Lock()
	var p *pending
	for i, q := range c.pending {
		if q.tag == cf.DeliveryTag {
			p = q
			c.pending = append(c.pending[:i], c.pending[i+1:]...)
			break
		}
	}
	c.mu.Unlock()
	switch {
	case p == nil:
	case !cf.Ack:
		p.done <- fmt.Errorf("%w: the broker refused to store it (nack)", ErrUnconfirmed)
	case p.returned:
		p.done <- bus.ErrNoQueue
	default:
		p.done <- nil
	}
}

// fail ends every unconfirmed publish: the channel is gone.
func (c *confirmer) fail() {
	var e *amqp.Error
	select {
	case e = <-c.closed:
	default:
	}
	c.mu.Lock()
	if e != nil {
		c.err = e
	} else {
		c.err = amqp.ErrClosed
	}
	ps := c.pending
	c.pending = nil
	c.mu.Unlock()
	for _, p := range ps {
		p.done <- p.failure(e)
	}
}

// failure is what the channel's end e means for one unconfirmed publish:
// the exception it caused itself, or an error to retry.
func (p *pending) failure(e *amqp.Error) error {
	switch {
	case e == nil:
	case e.Code == amqp.AccessRefused && strings.Contains(e.Reason, "'"+p.exch+"'"):
		return brokerError("publish to "+p.exch, e)
	case tooLarge(e) && bodySize(e.Reason) == p.size:
		return brokerError("publish to "+p.exch, e)
	default:
		return fmt.Errorf("%w: channel closed before the confirm: %v", ErrUnconfirmed, e)
	}
	return fmt.Errorf("%w: the connection ended before the confirm", ErrUnconfirmed)
}

// bodySize reads N from "message size N is larger than configured max
// size M", or -1.
func bodySize(reason string) int {
	i := strings.Index(reason, "message size ")
	n := -1
	if i >= 0 {
		_, _ = fmt.Sscanf(reason[i:], "message size %d", &n)
	}
	return n
}

// publish sends one message and returns where its outcome will arrive.
func (c *confirmer) publish(ctx context.Context, exch, key string, msg amqp.Publishing) (<-chan error, error) {
	c.pubMu.Lock()
	defer c.pubMu.Unlock()
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return nil, amqp.ErrClosed
	}
	p := &pending{
		tag: c.ch.GetNextPublishSeqNo(), id: msg.MessageId, key: key, exch: exch,
		size: len(msg.Body), done: make(chan error, 1),
	}
	c.pending = append(c.pending, p)
	c.mu.Unlock()
	if err := c.ch.PublishWithContext(ctx, exch, key, true, false, msg); err != nil {
		c.forget(p)
		return nil, err
	}
	return p.done, nil
}

func (c *confirmer) forget(p *pending) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, q := range c.pending {
		if q == p {
			c.pending = append(c.pending[:i], c.pending[i+1:]...)
			return
		}
	}
}

func (c *confirmer) dead() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err != nil || c.ch.IsClosed()
}
