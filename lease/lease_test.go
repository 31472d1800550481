package lease_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/runlet/runlet/lease"
	"github.com/runlet/runlet/store"
	"github.com/runlet/runlet/store/sqlite"
)

var quiet = slog.New(slog.DiscardHandler)

// clock is the simulated time the store and the leaders share.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func open(t *testing.T) (store.Store, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}
	db, err := sqlite.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "runlet.db"), store.Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, c
}

func leader(db store.Store, c *clock, holder string) *lease.Leader {
	return lease.New(lease.Config{Store: db, Name: "work", Holder: holder, TTL: 10 * time.Second, Now: c.Now, Logger: quiet})
}

// TestOneOfTwoLeads: of two holders trying at once, exactly one leads,
// and keeps leading while it renews.
func TestOneOfTwoLeads(t *testing.T) {
	db, c := open(t)
	ctx := t.Context()
	a, b := leader(db, c, "a"), leader(db, c, "b")
	var wg sync.WaitGroup
	held := make([]bool, 2)
	for i, l := range []*lease.Leader{a, b} {
		wg.Go(func() {
			ok, err := l.Lead(ctx)
			if err != nil {
				t.Error(err)
			}
			held[i] = ok
		})
	}
	wg.Wait()
	if held[0] == held[1] {
		t.Fatalf("a leads %v, b leads %v: want exactly one", held[0], held[1])
	}
	first, second := a, b
	if held[1] {
		first, second = b, a
	}
	for range 5 {
		c.Advance(6 * time.Second) // past half the lease: renewed
		if err := first.Leading(ctx); err != nil {
			t.Fatalf("the leader lost its lease while renewing it: %v", err)
		}
		if ok, err := second.Lead(ctx); ok || err != nil {
			t.Fatalf("the other took a lease being renewed: %v, %v", ok, err)
		}
	}
	if err := second.Leading(ctx); !errors.Is(err, lease.ErrLost) {
		t.Errorf("Leading of the one not holding: %v, want ErrLost", err)
	}
}

// TestExpiryTakeover: a leader that stops without releasing (killed) is
// replaced once its lease expires, and finds out that it lost it.
func TestExpiryTakeover(t *testing.T) {
	db, c := open(t)
	ctx := t.Context()
	a, b := leader(db, c, "a"), leader(db, c, "b")
	if ok, err := a.Lead(ctx); !ok || err != nil {
		t.Fatalf("a: %v, %v", ok, err)
	}
	c.Advance(9 * time.Second)
	if ok, _ := b.Lead(ctx); ok {
		t.Fatal("b took the lease before it expired")
	}
	c.Advance(time.Second)
	if ok, err := b.Lead(ctx); !ok || err != nil {
		t.Fatalf("b did not take the expired lease: %v, %v", ok, err)
	}
	if err := a.Leading(ctx); !errors.Is(err, lease.ErrLost) {
		t.Errorf("a, back after expiry: %v, want ErrLost", err)
	}
	if a.Held() {
		t.Error("a still believes it holds the lease")
	}
}

// TestReleaseHandsOver: a released lease is taken at once, without
// waiting for it to expire.
func TestReleaseHandsOver(t *testing.T) {
	db, c := open(t)
	ctx := t.Context()
	a, b := leader(db, c, "a"), leader(db, c, "b")
	if ok, err := a.Lead(ctx); !ok || err != nil {
		t.Fatalf("a: %v, %v", ok, err)
	}
	a.Release(context.Background())
	if ok, err := b.Lead(ctx); !ok || err != nil {
		t.Fatalf("b did not take the released lease at once: %v, %v", ok, err)
	}
	l, err := db.Lease(ctx, "work")
	if err != nil || l.Holder != "b" {
		t.Errorf("the lease: %+v, %v; want it held by b", l, err)
	}
	a.Release(ctx) // not holding: nothing
	if l, err := db.Lease(ctx, "work"); err != nil || l.Holder != "b" {
		t.Errorf("a release by one not holding changed the lease: %+v, %v", l, err)
	}
}

func TestDefaultHolder(t *testing.T) {
	if a, b := lease.DefaultHolder(), lease.DefaultHolder(); a == b || a == "" {
		t.Errorf("DefaultHolder gave %q and %q: want two different names", a, b)
	}
}
