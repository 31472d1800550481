// Package bus is the contract every message broker adapter fulfils: how
// Runlet's devices, viewers and servers talk (R-SRV-3, R-SRV-4). It defines
// the messages, the routing keys and the three delivery kinds; the adapters
// (bus/nats, bus/amqp) implement Bus and pass the one contract suite in
// bus/bustest.
//
// Everything is scoped to a workspace: on AMQP two durable topic exchanges
// per workspace (transient and durable), on NATS the subject prefixes
// "ws.<workspace>." and "wsd.<workspace>.". Keys and patterns
// are written the AMQP way: dot-separated words, "*" matches one word, "#"
// (only as the last word) matches one or more words.
package bus

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"time"
)

// Message is what travels on the bus: headers plus a byte body.
type Message struct {
	// ID identifies the message for deduplication on redelivery. Publish
	// fills it with a random id when empty.
	ID  string
	Key Key
	// Header carries small string metadata (content type, sequence numbers).
	Header map[string]string
	Body   []byte
	// ExpiresAt, when set on a durable message, is the time after which it is
	// no longer delivered: a consumer that comes back later gets the message
	// reported through Queue.OnExpired instead of its handler.
	ExpiresAt time.Time
	// Time is when the message was published; set by Publish when zero.
	Time time.Time
}

// Delivery is a durable message handed to a consumer. The consumer must call
// Ack once the message's effect is committed, or Nack to have it delivered
// again (to this or another consumer). A delivery neither acked nor nacked
// is redelivered when its consumer goes away or its ack wait runs out.
type Delivery struct {
	Message
	// Redelivered is true when the broker delivered this message before.
	Redelivered bool
	// Acker settles the delivery; set by the adapter.
	Acker Acknowledger
}

// Acknowledger settles one delivery with the broker.
type Acknowledger interface {
	Ack() error
	Nack() error
}

// Ack tells the broker the message is done with.
func (d Delivery) Ack() error { return d.Acker.Ack() }

// Nack asks the broker to deliver the message again.
func (d Delivery) Nack() error { return d.Acker.Nack() }

// Handler receives transient messages. Calls for one subscription are made
// one at a time, in publish order per publisher; a slow handler delays only
// its own subscription.
type Handler func(Message)

// DeliveryHandler receives durable deliveries of one consumer, one at a time.
// It may return before settling a delivery (to batch acks); up to
// Queue.Prefetch deliveries are then outstanding.
type DeliveryHandler func(Delivery)

// Queue describes a durable queue: a name within the workspace and the
// pattern of keys it collects. Messages published durably to a matching key
// wait in the queue until a consumer acks them. Several consumers of the same
// queue compete: each message goes to one of them.
//
// Patterns of different queues in one workspace must not overlap.
type Queue struct {
	// Name is unique within the workspace: "device.pi-1", "status".
	Name    string
	Pattern Key
	// MaxAge bounds how long any message is kept, whatever its ExpiresAt:
	// a backstop against a consumer that never comes back. Zero means
	// DefaultMaxAge.
	MaxAge time.Duration
	// Prefetch is the number of unsettled deliveries one consumer may hold.
	// Zero means the adapter's default.
	Prefetch int
	// AckWait is how long a delivery may stay unsettled before the broker
	// gives it to another consumer, where the broker supports it (NATS).
	// Zero means DefaultAckWait. AMQP redelivers when the consumer's
	// connection goes away instead.
	AckWait time.Duration
	// OnExpired, when set, is told about each message a consumer of this
	// queue found past its ExpiresAt; such a message is acked and dropped
	// without reaching the DeliveryHandler.
	OnExpired func(Message)
}

// Defaults of Queue.
const (
	DefaultMaxAge  = 7 * 24 * time.Hour
	DefaultAckWait = 30 * time.Second
)

// State is the health of an adapter's connection to its broker.
type State int

const (
	Connecting State = iota
	Connected
	Reconnecting
	Closed
)

func (s State) String() string {
	switch s {
	case Connecting:
		return "connecting"
	case Connected:
		return "connected"
	case Reconnecting:
		return "reconnecting"
	case Closed:
		return "closed"
	}
	return "unknown"
}

// Bus is a connection to a broker on behalf of one principal (a device, a
// server). A principal may only use the workspaces its broker credentials
// allow; the broker refuses anything else, and the adapter returns
// ErrForbidden.
//
// An adapter reconnects by itself when the broker goes away: it re-declares
// its topology, resumes its subscriptions and consumers, and reports each
// change of State to Options.OnState.
type Bus interface {
	// Publish sends a transient message to every current subscriber of a
	// matching pattern, and to no durable queue. Nobody listening is not an
	// error. Messages published while the broker is away may be lost.
	Publish(ctx context.Context, workspace string, m Message) error

	// Subscribe delivers transient messages whose key matches pattern until
	// the subscription is closed or ctx is done. The subscription is
	// exclusive and goes away with its owner. Subscribe returns once the
	// broker has the subscription: a message published after it returns
	// reaches h.
	Subscribe(ctx context.Context, workspace string, pattern Key, h Handler) (Subscription, error)

	// DeclareQueue creates the durable queue if it does not exist. It is
	// idempotent. Publishers declare the queues they publish to, so that
	// messages wait for consumers that have never connected.
	DeclareQueue(ctx context.Context, workspace string, q Queue) error

	// PublishDurable stores a message in the queue whose pattern matches its
	// key and returns once the broker has confirmed it; the current
	// subscribers of a matching pattern then receive it too, as if it were
	// published transiently once stored. It returns ErrNoQueue when no
	// declared queue matches, even if a subscription does, ErrFull when the broker
	// has no space left to store it, and an error the caller can retry
	// when the broker is away or does not confirm before ctx is done; it
	// never drops a message silently.
	PublishDurable(ctx context.Context, workspace string, m Message) error

	// Consume declares q and delivers its messages to h until the
	// subscription is closed or ctx is done. It returns once the broker
	// has the consumer.
	Consume(ctx context.Context, workspace string, q Queue, h DeliveryHandler) (Subscription, error)

	// DeleteQueue removes a durable queue and the messages in it. Deleting
	// a queue that does not exist is not an error.
	DeleteQueue(ctx context.Context, workspace string, name string) error

	// State reports the connection's health now.
	State() State

	// Close ends every subscription and the connection.
	Close() error
}

// ConsumerCounter is implemented by adapters that can say how many
// consumers a durable queue has now (AMQP, by a passive declare). Where
// the broker cannot list its connections otherwise, the server's
// presence asks it about each online device's dispatch queue: a daemon
// consumes its queue while it is connected.
type ConsumerCounter interface {
	Consumers(ctx context.Context, workspace, queue string) (int, error)
}

// Subscription is a running Subscribe or Consume.
type Subscription interface {
	// Close stops deliveries: once it returns, the handler is not called
	// again. For a consumer, unsettled deliveries go back to the queue.
	Close() error
}

// Options configure an adapter at Open.
type Options struct {
	// Name identifies the connection in the broker's management views.
	Name string
	// OnState, when set, is called on every change of State, from the
	// adapter's own goroutine; it must not block.
	OnState func(State)
	// OnRefused, when set, is called when the broker refuses the
	// connection's credentials while it reconnects (the principal was
	// revoked, or the broker cannot check credentials now). The adapter
	// keeps trying; the caller decides whether to give up. It must not
	// block.
	OnRefused func(error)
	// ReconnectWait is the first delay between reconnection attempts; it
	// doubles up to MaxReconnectWait. Zero means 100ms and 5s.
	ReconnectWait    time.Duration
	MaxReconnectWait time.Duration
	// Logger receives the adapter's own log lines (reconnections, fallbacks).
	// Nil means slog.Default().
	Logger *slog.Logger
	// Metered says the connection runs over a link paid by the byte (a
	// device's): the adapter trades pull throughput and how soon a dead
	// connection is noticed for fewer bytes when idle (longer AMQP
	// heartbeats, long JetStream pulls; docs/bandwidth.md).
	Metered bool
	// TLS configures the client side of TLS when the broker uses it
	// (tls:// and amqps:// URLs, or a NATS server that requires it); nil
	// means Go's defaults. It does not by itself turn TLS on. A failed
	// certificate check (*tls.CertificateVerificationError) fails Open at
	// once: trying again would not help.
	TLS *tls.Config
}

// Errors every adapter returns for the same situations.
var (
	ErrClosed    = errors.New("bus: connection closed")
	ErrNoQueue   = errors.New("bus: no durable queue matches the key")
	ErrForbidden = errors.New("bus: the broker refused: not allowed for these credentials")
	ErrAuth      = errors.New("bus: the broker refused the credentials")
	ErrScheme    = errors.New("bus: unknown broker URL scheme (want nats://, amqp:// or amqps://)")
	ErrTooLarge  = errors.New("bus: message body larger than the broker accepts")
	// ErrFull: the broker refused to store a message or declare a queue
	// for lack of disk space; it takes them again once space is freed.
	ErrFull = errors.New("bus: the broker's disk is full")
)
