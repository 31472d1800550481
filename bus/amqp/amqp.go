// Package amqp is the RabbitMQ adapter of the bus (AMQP 0-9-1, over
// github.com/rabbitmq/amqp091-go): two durable topic exchanges per
// workspace, one for exclusive auto-delete queues of transient
// subscriptions and one for quorum queues of durable ones, publisher
// confirms and manual acks, and a supervisor that reconnects and restores
// the topology when the broker goes away.
package amqp

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/internal/redact"
)

// Type is the adapter's name, as in the URL schemes it takes.
const Type = "amqp"

// DefaultPrefetch is the number of unsettled deliveries one consumer may
// hold when Queue.Prefetch is zero, chosen with BenchmarkRabbitMQ/WorkQueue:
// 16 or less starves a consumer; 64 to 256 lie within the noise of a shared
// two-core machine (one consumer 6-17k msgs/s, three 14-22k), 128 and 256
// leading; 128 strands half as many deliveries as 256 on a consumer that
// dies.
const DefaultPrefetch = 128

// closeTimeout bounds the wait for the broker's answer to Close.
const closeTimeout = 5 * time.Second

var _ bus.Bus = (*Bus)(nil)

// Bus is a connection to RabbitMQ that implements bus.Bus. Its methods are
// safe for concurrent use.
type Bus struct {
	url  string
	opts bus.Options
	log  *slog.Logger

	ctx    context.Context // ends with Close: stops every goroutine
	cancel context.CancelFunc
	wg     sync.WaitGroup // the supervisor, subscriptions and confirmers

	notifyMu sync.Mutex // orders calls of Options.OnState

	mu        sync.Mutex
	state     bus.State
	conn      *amqp.Connection            // nil while not connected
	changed   chan struct{}               // closed and replaced on every change of conn
	exchanges map[string]*amqp.Connection // workspace -> connection its exchanges were declared on
	queues    map[queueID]bus.Queue       // durable queues to re-declare on reconnect
	pub       *amqp.Channel               // transient publishing channel of conn
	conf      *confirmer                  // confirm-mode publishing channel of conn
}

type queueID struct{ workspace, name string }

// Open connects to the broker at url (amqp:// or amqps://, with credentials
// and vhost) and keeps the connection up until Close. It fails at once with
// an error wrapping bus.ErrAuth when the broker refuses the credentials, and
// with the dial error when the broker cannot be reached; after a successful
// Open, losses are repaired in the background.
func Open(ctx context.Context, url string, opts bus.Options) (*Bus, error) {
	if !strings.HasPrefix(url, "amqp://") && !strings.HasPrefix(url, "amqps://") {
		return nil, fmt.Errorf("amqp: open %s: %w", redact.URL(url), bus.ErrScheme)
	}
	if opts.ReconnectWait <= 0 {
		opts.ReconnectWait = 100 * time.Millisecond
	}
	if opts.MaxReconnectWait <= 0 {
		opts.MaxReconnectWait = 5 * time.Second
	}
	if opts.MaxReconnectWait < opts.ReconnectWait {
		opts.MaxReconnectWait = opts.ReconnectWait
	}
	if opts.Name == "" {
		opts.Name = "runlet"
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	b := &Bus{
		url:       url,
		opts:      opts,
		log:       log.With("bus", Type, "conn", opts.Name),
		changed:   make(chan struct{}),
		exchanges: map[string]*amqp.Connection{},
		queues:    map[queueID]bus.Queue{},
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	conn, closed, err := b.dial(ctx)
	if err != nil {
		b.cancel()
		return nil, err
	}
	b.setConn(conn)
	b.wg.Add(1)
	go b.supervise(conn, closed)
	return b, nil
}

// State reports the connection's health now.
func (b *Bus) State() bus.State {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state
}

// Close ends every subscription and the connection, and waits for the
// adapter's goroutines, handlers included: do not call it from a handler.
// Closing twice is fine.
func (b *Bus) Close() error {
	b.notifyMu.Lock()
	b.mu.Lock()
	if b.state == bus.Closed {
		b.mu.Unlock()
		b.notifyMu.Unlock()
		return nil
	}
	b.state = bus.Closed
	conn := b.conn
	b.conn = nil
	b.broadcast()
	b.mu.Unlock()
	b.cancel()
	var err error
	if conn != nil && !conn.IsClosed() {
		// A broker that stopped answering must not hold Close up.
		if cerr := conn.CloseDeadline(time.Now().Add(closeTimeout)); cerr != nil && !conn.IsClosed() {
			err = fmt.Errorf("amqp: close connection: %w", cerr)
		}
	}
	if b.opts.OnState != nil {
		b.opts.OnState(bus.Closed)
	}
	b.notifyMu.Unlock()
	b.wg.Wait()
	return err
}

// setState records s and reports it, unless the bus is closed.
func (b *Bus) setState(s bus.State) {
	b.notifyMu.Lock()
	defer b.notifyMu.Unlock()
	b.mu.Lock()
	if b.state == bus.Closed || b.state == s {
		b.mu.Unlock()
		return
	}
	b.state = s
	b.mu.Unlock()
	if b.opts.OnState != nil {
		b.opts.OnState(s)
	}
}

// broadcast wakes everyone waiting for a change of connection. b.mu held.
func (b *Bus) broadcast() {
	close(b.changed)
	b.changed = make(chan struct{})
}
