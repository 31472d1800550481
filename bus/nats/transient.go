package nats

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/runlet/runlet/bus"
)

// Publish sends a transient message on core NATS.
func (b *Bus) Publish(ctx context.Context, ws string, m bus.Message) error {
	if err := b.live(); err != nil {
		return err
	}
	if err := m.Key.Validate(false); err != nil {
		return err
	}
	fill(&m)
	nm := encode(Subject(ws, m.Key), m)
	if err := b.nc.PublishMsg(nm); err != nil {
		return b.mapErr("publish to "+nm.Subject, err)
	}
	return b.checkPublish(ctx, ws, nm.Subject)
}

// Subscribe starts a core NATS subscription. Its handler runs on a
// goroutine of its own, so a slow handler delays only this subscription.
func (b *Bus) Subscribe(ctx context.Context, ws string, pattern bus.Key, h bus.Handler) (bus.Subscription, error) {
	if err := b.live(); err != nil {
		return nil, err
	}
	if err := pattern.Validate(true); err != nil {
		return nil, err
	}
	subject := Subject(ws, pattern)
	ns, err := b.nc.SubscribeSync(subject)
	if err != nil {
		return nil, b.mapErr("subscribe to "+subject, err)
	}
	// Unlimited pending: the handler's own pace bounds memory, as a
	// dropped frame would otherwise need a replay.
	_ = ns.SetPendingLimits(-1, -1)
	first, err := b.confirmSubscription(ctx, ns)
	if err != nil {
		_ = ns.Unsubscribe()
		return nil, b.mapErr("subscribe to "+subject, err)
	}
	s := &subscription{b: b, ns: ns, ws: ws, h: h, done: make(chan struct{})}
	if err := b.track(s); err != nil {
		_ = ns.Unsubscribe()
		return nil, err
	}
	s.mu.Lock()
	s.stopCtx = context.AfterFunc(ctx, func() { _ = s.Close() })
	s.mu.Unlock()
	go s.run(first)
	return s, nil
}

// confirmSubscription waits until the server has the subscription: after
// the flush, a refusal is recorded on the subscription, and NextMsg
// reports it. A message already there is handed back.
func (b *Bus) confirmSubscription(ctx context.Context, ns *natsgo.Subscription) (*natsgo.Msg, error) {
	if err := b.flush(ctx); err != nil {
		if b.nc.IsReconnecting() {
			// The subscription is resent on reconnect.
			return nil, nil
		}
		return nil, err
	}
	m, err := ns.NextMsg(time.Microsecond)
	if errors.Is(err, natsgo.ErrTimeout) {
		return nil, nil
	}
	return m, err
}

type subscription struct {
	b       *Bus
	ns      *natsgo.Subscription
	ws      string
	h       bus.Handler
	done    chan struct{}
	stopCtx func() bool

	mu     sync.Mutex
	closed bool
}

func (s *subscription) run(first *natsgo.Msg) {
	defer close(s.done)
	if first != nil && !s.deliver(first) {
		return
	}
	for {
		m, err := s.ns.NextMsgWithContext(context.Background())
		if err != nil {
			if errors.Is(err, natsgo.ErrSlowConsumer) {
				s.b.log.Warn("transient subscriber too slow; messages dropped", "subject", s.ns.Subject)
				continue
			}
			if !s.isClosed() && !errors.Is(err, natsgo.ErrBadSubscription) && !errors.Is(err, natsgo.ErrConnectionClosed) {
				s.b.log.Error("subscription ended", "subject", s.ns.Subject, "err", err)
			}
			return
		}
		if !s.deliver(m) {
			return
		}
	}
}

// deliver hands m to the handler unless the subscription closed.
func (s *subscription) deliver(m *natsgo.Msg) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.h(decode(s.ws, m.Subject, m.Header, m.Data))
	return true
}

func (s *subscription) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Close unsubscribes and waits for a running handler call to return. It
// must not be called from the handler.
func (s *subscription) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	stop := s.stopCtx
	s.mu.Unlock()
	if stop != nil {
		stop()
	}
	err := s.ns.Unsubscribe()
	<-s.done
	s.b.untrack(s)
	if err != nil && !errors.Is(err, natsgo.ErrConnectionClosed) && !errors.Is(err, natsgo.ErrBadSubscription) {
		return fmt.Errorf("bus: nats: unsubscribe %s: %w", s.ns.Subject, err)
	}
	return nil
}
