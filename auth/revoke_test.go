package auth

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/runlet/runlet"
)

// blockingCutter records the users it is asked to cut, and holds each cut
// until its context ends.
type blockingCutter struct {
	mu    sync.Mutex
	users []string
	began chan struct{}
}

func (c *blockingCutter) Cut(ctx context.Context, user string) (int, error) {
	c.mu.Lock()
	c.users = append(c.users, user)
	c.mu.Unlock()
	c.began <- struct{}{}
	<-ctx.Done()
	return 0, ctx.Err()
}

func (c *blockingCutter) cut() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.users...)
}

// TestRevokedDevice: a revoked device is forgotten by the OnRevoke hooks,
// wakes the waiters of Revocations and has its broker connections cut in
// the background; Close ends the cut in flight, and no cut starts after.
func TestRevokedDevice(t *testing.T) {
	cutter := &blockingCutter{began: make(chan struct{}, 4)}
	a := newTestAuth(t, func(c *Config) { c.Cutter = cutter })
	var forgot []string
	a.OnRevoke(func(id string) { forgot = append(forgot, id) })

	rev := a.Revocations()
	pi := runlet.Device{ID: "dev1", Name: "pi"}
	a.RevokedDevice(pi)
	select {
	case <-rev:
	default:
		t.Error("Revocations not closed by the revocation")
	}
	if next := a.Revocations(); next == rev {
		t.Error("Revocations did not renew")
	}
	if len(forgot) != 1 || forgot[0] != "dev1" {
		t.Errorf("hooks told of %q, want dev1", forgot)
	}
	select {
	case <-cutter.began:
	case <-time.After(10 * time.Second):
		t.Fatal("no cut began")
	}

	closed := make(chan struct{})
	go func() {
		a.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not end the cut in flight")
	}
	a.RevokedDevice(runlet.Device{ID: "dev2", Name: "late"})
	if got := cutter.cut(); len(got) != 1 || got[0] != "dev1" {
		t.Errorf("cut %q, want only dev1 (none after Close)", got)
	}
}

// TestRevokedDeviceUnsupported: a broker that cannot cut is no error.
func TestRevokedDeviceUnsupported(t *testing.T) {
	a := newTestAuth(t, func(c *Config) {
		c.Cutter = cutterFunc(func(context.Context, string) (int, error) { return 0, errors.ErrUnsupported })
	})
	a.RevokedDevice(runlet.Device{ID: "dev1", Name: "pi"})
	a.Close()
}

type cutterFunc func(context.Context, string) (int, error)

func (f cutterFunc) Cut(ctx context.Context, user string) (int, error) { return f(ctx, user) }

// TestStillValid: a caller stays valid until its token is revoked or
// expires, or its device is signed out; when the answer cannot be known
// (the check's context ended) it is kept.
func TestStillValid(t *testing.T) {
	a := newTestAuth(t, nil)
	ws := a.workspace(t, "default")
	ann := a.user(t, ws, "ann@example.com", "right")
	ctx := t.Context()

	_, tok, err := a.NewSession(ctx, ann, ws)
	if err != nil {
		t.Fatal(err)
	}
	session := &Caller{Workspace: ws, Token: tok, User: &ann}
	if err := a.StillValid(ctx, session); err != nil {
		t.Fatalf("a fresh session: %v", err)
	}
	a.clock.Advance(SessionTTL)
	if err := a.StillValid(ctx, session); !errors.Is(err, ErrRevoked) {
		t.Errorf("an expired session: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := a.StillValid(cancelled, session); err != nil {
		t.Errorf("checked with an ended context: %v, want nil (keep and check again)", err)
	}

	pi, secret := a.device(t, ws, "pi")
	dt, err := a.db.TokenByHash(ctx, hashOf(secret))
	if err != nil {
		t.Fatal(err)
	}
	device := &Caller{Workspace: ws, Token: dt, Device: &pi}
	if err := a.StillValid(ctx, device); err != nil {
		t.Fatalf("a device: %v", err)
	}
	if err := a.db.RevokeDevice(ctx, ws.ID, pi.ID); err != nil {
		t.Fatal(err)
	}
	if err := a.StillValid(ctx, device); !errors.Is(err, ErrRevoked) {
		t.Errorf("a signed-out device: %v", err)
	}

	api := a.token(t, ws, runlet.TokenAPI, ann.ID)
	at, err := a.db.TokenByHash(ctx, hashOf(api))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.db.RevokeToken(ctx, ws.ID, at.ID); err != nil {
		t.Fatal(err)
	}
	if err := a.StillValid(ctx, &Caller{Workspace: ws, Token: at, User: &ann}); !errors.Is(err, ErrRevoked) {
		t.Errorf("a revoked token: %v", err)
	}
}
