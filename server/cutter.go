package server

import (
	"context"
	"errors"
	"sync"

	"github.com/runlet/runlet/auth"
	amqpbus "github.com/runlet/runlet/bus/amqp"
)

// CutWithin is how soon a revocation ends every terminal WebSocket opened
// with the revoked credentials, on every server replica (auth.CutWithin).
const CutWithin = auth.CutWithin

// brokerCutter is the server's auth.Cutter. The auth service is made
// before the broker starts (the embedded broker asks it who a client is),
// so the broker's own cutter is plugged in by openBus; until then, and
// for a broker that cannot close connections (an external NATS), Cut
// answers errors.ErrUnsupported.
type brokerCutter struct {
	mu sync.Mutex
	c  auth.Cutter
}

func (b *brokerCutter) set(c auth.Cutter) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.c = c
}

func (b *brokerCutter) Cut(ctx context.Context, user string) (int, error) {
	b.mu.Lock()
	c := b.c
	b.mu.Unlock()
	if c == nil {
		return 0, errors.ErrUnsupported
	}
	return c.Cut(ctx, user)
}

// natsCutter kicks clients off the embedded broker.
type natsCutter struct {
	s interface{ Disconnect(string) (int, error) }
}

func (c natsCutter) Cut(_ context.Context, user string) (int, error) { return c.s.Disconnect(user) }

// rabbitCutter closes connections through RabbitMQ's management API.
type rabbitCutter struct{ m amqpbus.Management }

func (c rabbitCutter) Cut(ctx context.Context, user string) (int, error) {
	return -1, c.m.CloseUser(ctx, user, "runlet: the device was signed out or removed")
}
