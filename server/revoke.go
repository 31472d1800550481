package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/runlet/runlet"
	amqpbus "github.com/runlet/runlet/bus/amqp"
)

// What a revocation cuts (issue 11, item 7): a device signed out, a member
// removed, a token or session revoked. Within CutWithin of the revocation
// the device's broker connections are closed and every terminal WebSocket
// opened with a revoked token ends. The replica that revokes cuts at once;
// the others' WebSockets see it on their next recheck.

// CutWithin is how often a terminal WebSocket re-checks its credentials,
// so that a revocation made by another server replica ends it in time.
const CutWithin = 2 * time.Second

// brokerCutter closes the broker connections of one broker user, and says
// how many (-1: unknown).
type brokerCutter interface {
	cut(ctx context.Context, user string) (int, error)
}

// natsCutter kicks clients off the embedded broker.
type natsCutter struct {
	s interface{ Disconnect(string) (int, error) }
}

func (c natsCutter) cut(_ context.Context, user string) (int, error) { return c.s.Disconnect(user) }

// rabbitCutter closes connections through RabbitMQ's management API.
type rabbitCutter struct{ m amqpbus.Management }

func (c rabbitCutter) cut(ctx context.Context, user string) (int, error) {
	return -1, c.m.CloseUser(ctx, user, "runlet: the device was signed out or removed")
}

// revokedDevice cuts a device whose credentials were just revoked: its
// broker connections, and its WebSockets.
func (s *Server) revokedDevice(d runlet.Device) {
	if s.rabbit != nil {
		s.rabbit.backend.Forget(d.ID)
	}
	s.revoked()
	if s.cutter == nil {
		return
	}
	// Owned by the server like its other goroutines; none starts once
	// Close has begun (detachAll set stopping under wsMu).
	s.wsMu.Lock()
	if s.stopping {
		s.wsMu.Unlock()
		return
	}
	s.wg.Add(1)
	s.wsMu.Unlock()
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
		defer cancel()
		start := time.Now()
		n, err := s.cutter.cut(ctx, d.ID)
		if err != nil {
			s.log.Error("could not close the broker connections of a revoked device; it keeps them until it next reconnects", "device", d.Name, "err", err)
			return
		}
		s.log.Info("closed the broker connections of a revoked device", "device", d.Name, "connections", n, "took", time.Since(start))
	}()
}

// revoked wakes every terminal WebSocket of this process to re-check its
// credentials now.
func (s *Server) revoked() {
	s.revMu.Lock()
	close(s.revCh)
	s.revCh = make(chan struct{})
	s.revMu.Unlock()
}

// revocations returns a channel closed at the next revocation.
func (s *Server) revocations() <-chan struct{} {
	s.revMu.Lock()
	defer s.revMu.Unlock()
	return s.revCh
}

var errRevoked = errors.New("the credentials of this terminal were revoked")

// stillValid reports whether c's token (and device) are still good.
func (s *Server) stillValid(ctx context.Context, c *caller) error {
	t, err := s.db.TokenByHash(ctx, c.Token.Hash)
	switch {
	case err != nil && s.ctx.Err() == nil && ctx.Err() == nil && runlet.ErrorCode(err) == runlet.ENOTFOUND:
		return errRevoked
	case err != nil:
		return nil // the database is away: keep the socket, check again
	case t.Revoked || !t.Active(s.now()):
		return errRevoked
	}
	if c.Device != nil {
		d, err := s.db.Device(ctx, c.Workspace.ID, c.Device.ID)
		if err == nil && d.Revoked {
			return fmt.Errorf("%w: the device was signed out", errRevoked)
		}
	}
	return nil
}
