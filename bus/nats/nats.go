// Package nats is the bus adapter for NATS: core subjects "ws.<workspace>.<key>"
// for transient fan-out, and one JetStream stream with one shared durable pull
// consumer per durable queue. It talks to an external NATS server or cluster by
// URL, or in-process to the server of package bus/nats/embedded.
package nats

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	neturl "net/url"
	"strings"
	"sync"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/internal/redact"
)

// Type names the adapter in URLs and logs.
const Type = "nats"

var _ bus.Bus = (*Bus)(nil)

// Bus is a connection to NATS on behalf of one principal.
//
// What "refused" means here: NATS answers a permission violation with an
// asynchronous -ERR and leaves the connection open. The Bus turns it into
// a synchronous error wrapping bus.ErrForbidden for all six operations:
// Subscribe and the first Publish to a workspace flush and look for the
// -ERR; PublishDurable and the JetStream calls behind DeclareQueue,
// Consume and DeleteQueue are cancelled by it. Isolation between
// workspaces is the server's subject permissions (see bus/nats/embedded
// Permissions); a server without users, like a stock nats-server, has none.
type Bus struct {
	nc  *natsgo.Conn
	js  jetstream.JetStream
	log *slog.Logger

	onState func(bus.State)
	metered bool                            // bus.Options.Metered: long pulls (fetcher.go)
	wait    func(attempt int) time.Duration // reconnection backoff
	// stop ends the goroutines the Bus owns (topology re-declaration).
	stop context.Context
	halt context.CancelFunc
	wg   sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	state    bus.State
	allowed  map[string]bool           // workspaces a publish was accepted in
	declared map[string]declaredQueue  // by stream name, re-declared on reconnect
	pending  map[*pendingCall]struct{} // calls a permission violation cancels
	subs     map[closer]struct{}       // running subscriptions and consumers
	certErr  string                    // the last refused certificate logged (tls.go)
}

type closer interface{ Close() error }

type declaredQueue struct {
	ws string
	q  bus.Queue
}

// Open connects to the NATS server at url ("nats://user:password@host:4222",
// several servers separated by commas). It retries until ctx is done while
// the server is unreachable, and fails at once with bus.ErrAuth when the
// server refuses the credentials. Extra nats.go options (TLS, in-process
// connection) follow the adapter's own.
func Open(ctx context.Context, url string, opts bus.Options, extra ...natsgo.Option) (*Bus, error) {
	b := &Bus{
		log:      opts.Logger,
		onState:  opts.OnState,
		metered:  opts.Metered,
		allowed:  map[string]bool{},
		declared: map[string]declaredQueue{},
		pending:  map[*pendingCall]struct{}{},
		subs:     map[closer]struct{}{},
		wait:     reconnectWait(opts),
	}
	if b.log == nil {
		b.log = slog.Default()
	}
	b.log = b.log.With("bus", Type)
	b.stop, b.halt = context.WithCancel(context.Background())
	b.setState(bus.Connecting)
	nopts := append(b.natsOptions(opts), natsgo.CustomInboxPrefix(InboxPrefix(urlUser(url))))
	nopts = append(nopts, extra...)
	nc, err := connect(ctx, url, nopts, opts)
	if err != nil {
		b.halt()
		b.setState(bus.Closed)
		return nil, err
	}
	b.nc = nc
	b.js, err = jetstream.New(nc)
	if err != nil {
		nc.Close()
		b.halt()
		return nil, fmt.Errorf("bus: nats: JetStream context: %w", err)
	}
	b.setState(bus.Connected)
	return b, nil
}

// connect dials until it succeeds, ctx is done, or the server refuses the
// credentials.
func connect(ctx context.Context, url string, nopts []natsgo.Option, opts bus.Options) (*natsgo.Conn, error) {
	wait := reconnectWait(opts)
	for attempt := 1; ; attempt++ {
		nc, err := natsgo.Connect(url, nopts...)
		if err == nil {
			return nc, nil
		}
		if authError(err) {
			return nil, fmt.Errorf("%w: nats at %s: %v", bus.ErrAuth, redact.URL(url), err)
		}
		if certError(err) {
			return nil, fmt.Errorf("bus: nats: %s: %w", redact.URL(url), err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("bus: nats: cannot connect to %s: %w (gave up: %v)", redact.URL(url), err, ctx.Err())
		case <-time.After(wait(attempt)):
		}
	}
}

func authError(err error) bool {
	return errors.Is(err, natsgo.ErrAuthorization) || errors.Is(err, natsgo.ErrAuthExpired) ||
		errors.Is(err, natsgo.ErrAuthRevoked) || errors.Is(err, natsgo.ErrAccountAuthExpired)
}

// reconnectWait returns the backoff of Options: doubling from ReconnectWait
// up to MaxReconnectWait.
func reconnectWait(opts bus.Options) func(attempt int) time.Duration {
	first, most := opts.ReconnectWait, opts.MaxReconnectWait
	if first <= 0 {
		first = 100 * time.Millisecond
	}
	if most <= 0 {
		most = 5 * time.Second
	}
	return func(attempt int) time.Duration {
		d := first
		for i := 1; i < attempt && d < most; i++ {
			d *= 2
		}
		return min(d, most)
	}
}

func (b *Bus) natsOptions(opts bus.Options) []natsgo.Option {
	wait := reconnectWait(opts)
	return []natsgo.Option{
		natsgo.Name(opts.Name),
		natsgo.MaxReconnects(-1),
		natsgo.CustomReconnectDelay(wait),
		natsgo.IgnoreAuthErrorAbort(),
		natsgo.PermissionErrOnSubscribe(true),
		natsgo.ReconnectBufSize(64 << 20),
		natsgo.DisconnectErrHandler(func(nc *natsgo.Conn, err error) {
			if nc.IsClosed() || b.isClosed() {
				return // our own Close, not an outage
			}
			b.log.Warn("disconnected from NATS; reconnecting", "err", err)
			b.setState(bus.Reconnecting)
		}),
		natsgo.ReconnectHandler(func(nc *natsgo.Conn) {
			b.log.Info("reconnected to NATS", "server", redact.URL(nc.ConnectedUrl()))
			b.setState(bus.Connected)
			b.redeclare()
		}),
		natsgo.ClosedHandler(func(*natsgo.Conn) { b.setState(bus.Closed) }),
		natsgo.ErrorHandler(func(nc *natsgo.Conn, sub *natsgo.Subscription, err error) {
			if authError(err) && opts.OnRefused != nil {
				opts.OnRefused(fmt.Errorf("%w: nats: %v", bus.ErrAuth, err))
				return
			}
			b.asyncError(nc, sub, err)
		}),
		natsgo.ReconnectErrHandler(func(nc *natsgo.Conn, err error) {
			if authError(err) && opts.OnRefused != nil {
				opts.OnRefused(fmt.Errorf("%w: nats: %v", bus.ErrAuth, err))
			}
			b.reconnectFailed(nc, err)
		}),
		tlsConfig(opts.TLS),
	}
}

func (b *Bus) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

func (b *Bus) setState(s bus.State) {
	b.mu.Lock()
	if b.state == s || (b.closed && s != bus.Closed) {
		b.mu.Unlock()
		return
	}
	b.state = s
	b.mu.Unlock()
	if b.onState != nil {
		b.onState(s)
	}
}

// State reports the connection's health now.
func (b *Bus) State() bus.State {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state
}

// live returns ErrClosed once Close has begun.
func (b *Bus) live() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return bus.ErrClosed
	}
	return nil
}

// track records a running subscription until it closes.
func (b *Bus) track(s closer) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return bus.ErrClosed
	}
	b.subs[s] = struct{}{}
	return nil
}

func (b *Bus) untrack(s closer) {
	b.mu.Lock()
	delete(b.subs, s)
	b.mu.Unlock()
}

// Close ends every subscription and consumer (unsettled deliveries go back
// to their queues) and the connection. It must not be called from a
// handler of this Bus.
func (b *Bus) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	subs := make([]closer, 0, len(b.subs))
	for s := range b.subs {
		subs = append(subs, s)
	}
	b.mu.Unlock()
	for _, s := range subs {
		_ = s.Close()
	}
	b.halt()
	b.wg.Wait()
	// Flush sends the last acks and naks before the connection goes.
	if b.nc.IsConnected() {
		_ = b.nc.FlushTimeout(2 * time.Second)
	}
	b.nc.Close()
	b.mu.Lock()
	b.state = bus.Closed
	b.mu.Unlock()
	return nil
}

// nakOnClose reports whether a closing consumer should nak its unsettled
// deliveries. NATS servers before 2.10 (2.9.10 is Debian's) redeliver a
// message nacked while no pull request waits without counting the
// delivery, so it would arrive with Redelivered false; there the adapter
// lets AckWait hand such deliveries back instead.
func (b *Bus) nakOnClose() bool {
	var major, minor int
	if _, err := fmt.Sscanf(b.nc.ConnectedServerVersion(), "%d.%d", &major, &minor); err != nil {
		return true
	}
	return major > 2 || major == 2 && minor >= 10
}

// mapErr turns nats.go errors into the bus errors callers test for.
func (b *Bus) mapErr(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, bus.ErrForbidden), errors.Is(err, bus.ErrClosed), errors.Is(err, bus.ErrNoQueue),
		errors.Is(err, bus.ErrTooLarge), errors.Is(err, bus.ErrFull):
		return err
	case errors.Is(err, natsgo.ErrConnectionClosed) && b.live() != nil:
		return fmt.Errorf("bus: nats: %s: %w", op, bus.ErrClosed)
	case errors.Is(err, natsgo.ErrMaxPayload):
		return fmt.Errorf("%w: nats: %s: %v", bus.ErrTooLarge, op, err)
	case errors.Is(err, natsgo.ErrPermissionViolation):
		return fmt.Errorf("%w: nats: %s: %v", bus.ErrForbidden, op, err)
	case storeFull(err):
		return fmt.Errorf("%w: nats: %s: %v", bus.ErrFull, op, err)
	case authError(err):
		return fmt.Errorf("%w: nats: %s: %v", bus.ErrAuth, op, err)
	}
	return fmt.Errorf("bus: nats: %s: %w", op, err)
}

// urlUser is the user of the first server of url ("" without one).
func urlUser(url string) string {
	first, _, _ := strings.Cut(url, ",")
	start, at := strings.Index(first, "://"), strings.LastIndex(first, "@")
	if start < 0 || at < start {
		return ""
	}
	user, _, _ := strings.Cut(first[start+3:at], ":")
	if u, err := neturl.PathUnescape(user); err == nil {
		return u
	}
	return user
}
