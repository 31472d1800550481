package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/runlet/runlet"
)

// What a revocation cuts (issue 11, item 7): a device signed out, a member
// removed, a token or session revoked. Within CutWithin of the revocation
// the device's broker connections are closed and every terminal WebSocket
// opened with a revoked token ends. The replica that revokes cuts at once
// and wakes its own sockets (Revocations); the others' sockets see it when
// they next re-check (StillValid), every CutWithin.

// CutWithin is how often a long-lived connection (a terminal WebSocket)
// re-checks its credentials, so that a revocation made by another server
// replica ends it in time.
const CutWithin = 2 * time.Second

// Cutter closes the broker connections of one broker user (a device ID).
// Cut says how many it closed (-1: unknown); errors.ErrUnsupported means
// the broker cannot close them, and they last until the device next
// reconnects, when its credentials are refused.
type Cutter interface {
	Cut(ctx context.Context, user string) (int, error)
}

// ErrRevoked says that the credentials of a caller were revoked.
var ErrRevoked = errors.New("auth: the credentials were revoked")

// OnRevoke registers f to be told the ID of every device RevokedDevice is
// told of, before its connections are cut: a broker auth backend that
// caches principals forgets the device.
func (s *Service) OnRevoke(f func(deviceID string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onRevoke = append(s.onRevoke, f)
}

// RevokedDevice cuts a device whose credentials were just revoked (in the
// store): it tells the OnRevoke hooks, wakes the waiters of Revocations
// and closes the device's broker connections in the background.
func (s *Service) RevokedDevice(d runlet.Device) {
	s.mu.Lock()
	hooks := slices.Clone(s.onRevoke)
	s.mu.Unlock()
	for _, f := range hooks {
		f(d.ID)
	}
	s.Revoked()
	s.mu.Lock()
	if s.closing || s.cutter == nil {
		s.mu.Unlock()
		return
	}
	s.cuts.Add(1)
	c := s.cutter
	s.mu.Unlock()
	go func() {
		defer s.cuts.Done()
		s.cut(c, d)
	}()
}

// SetCutter sets what closes a revoked device's broker connections: the
// broker starts after the service (the embedded one asks it who a client
// is), so its cutter comes later than Config.
func (s *Service) SetCutter(c Cutter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cutter = c
}

// cut closes d's broker connections with c.
func (s *Service) cut(c Cutter, d runlet.Device) {
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	start := time.Now()
	n, err := c.Cut(ctx, d.ID)
	switch {
	case errors.Is(err, errors.ErrUnsupported):
		s.log.Debug("the broker cannot close the connections of a revoked device; it keeps them until it next reconnects", "device", d.Name)
	case err != nil:
		s.log.Error("could not close the broker connections of a revoked device; it keeps them until it next reconnects", "device", d.Name, "err", err)
	default:
		s.log.Info("closed the broker connections of a revoked device", "device", d.Name, "connections", n, "took", time.Since(start))
	}
}

// Revoked tells the service that credentials were just revoked in the
// store (a token, a session, a member): every waiter of Revocations
// re-checks its own.
func (s *Service) Revoked() {
	s.mu.Lock()
	close(s.revCh)
	s.revCh = make(chan struct{})
	s.mu.Unlock()
}

// Revocations returns a channel closed at the next revocation in this
// process. Take it before checking, so that no revocation slips between.
func (s *Service) Revocations() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.revCh
}

// StillValid returns ErrRevoked (wrapped) when c's token, or its device,
// has been revoked or has expired since c authenticated. It returns nil
// when it cannot tell (the store is away, ctx or the service ended): the
// caller keeps its connection and checks again.
func (s *Service) StillValid(ctx context.Context, c *Caller) error {
	t, err := s.db.TokenByHash(ctx, c.Token.Hash)
	switch {
	case err != nil && s.ctx.Err() == nil && ctx.Err() == nil && runlet.ErrorCode(err) == runlet.ENOTFOUND:
		return ErrRevoked
	case err != nil:
		return nil // the database is away: keep the socket, check again
	case t.Revoked || !t.Active(s.now()):
		return ErrRevoked
	}
	if c.Device != nil {
		d, err := s.db.Device(ctx, c.Workspace.ID, c.Device.ID)
		if err == nil && d.Revoked {
			return fmt.Errorf("%w: the device was signed out", ErrRevoked)
		}
	}
	return nil
}
