// Package lease is the leader lease that lets one server process of
// several sharing a database do a piece of work alone: the scheduler's
// ticks, and the alert service's silence and device alerts (R-TEL-4). A
// Leader takes or renews a named lease in the store, renews it when half
// of it is spent, logs each change of leader, and releases it on Close so
// that another process takes over at once; a process killed without
// releasing loses it when it expires.
package lease

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/runlet/runlet/store"
)

// ErrLost ends the work of a leader whose lease went to another process:
// not a failure, the other leads now.
var ErrLost = errors.New("the lease went to another server")

// Config configures a Leader. Store and Name are required.
type Config struct {
	Store store.Leases
	// Name is the lease's name: processes that share a piece of work use
	// the same.
	Name string
	// Holder names this process in the lease; "" means DefaultHolder().
	Holder string
	// TTL is how long the lease lasts unless renewed; 0 means DefaultTTL.
	TTL time.Duration
	// Now is the clock, the store's (store.Options.Now), since the store
	// times the lease; nil means time.Now.
	Now func() time.Time
	// Logger receives the changes of leader; nil means slog.Default().
	Logger *slog.Logger
	// Work says what the lease is for in the log ("schedules the jobs");
	// "" means "holds the lease NAME".
	Work string
}

// DefaultTTL is the lease's default length: a leader killed without
// releasing it is replaced within about this much.
const DefaultTTL = 15 * time.Second

// Leader takes, keeps and releases one named lease for one holder. Its
// methods may be called from several goroutines.
type Leader struct {
	cfg Config
	log *slog.Logger

	mu   sync.Mutex
	held *store.Lease // as last acquired; nil when not leading
}

// New returns the leader, not leading yet.
func New(cfg Config) *Leader {
	if cfg.Holder == "" {
		cfg.Holder = DefaultHolder()
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Work == "" {
		cfg.Work = "holds the lease " + cfg.Name
	}
	return &Leader{cfg: cfg, log: cfg.Logger}
}

// DefaultHolder names this process: its host, its PID and a random part,
// so that a restarted server is a new holder.
func DefaultHolder() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "runlet"
	}
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), strings.ToLower(rand.Text()[:6]))
}

// Holder is the name this leader holds the lease by.
func (l *Leader) Holder() string { return l.cfg.Holder }

// TTL is the lease's length.
func (l *Leader) TTL() time.Duration { return l.cfg.TTL }

// Lead takes or renews the lease and reports whether it is held. An
// error (the store is down) counts as not leading.
func (l *Leader) Lead(ctx context.Context) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lead(ctx)
}

// lead is Lead. Held: l.mu.
func (l *Leader) lead(ctx context.Context) (bool, error) {
	got, held, err := l.cfg.Store.AcquireLease(ctx, l.cfg.Name, l.cfg.Holder, l.cfg.TTL)
	switch {
	case err != nil:
		l.held = nil
		return false, fmt.Errorf("take the lease %s: %w", l.cfg.Name, err)
	case held && l.held == nil:
		l.log.Info("this server "+l.cfg.Work+" now", "lease", l.cfg.Name, "holder", l.cfg.Holder)
	case !held && l.held != nil:
		l.log.Info("another server "+l.cfg.Work+" now", "lease", l.cfg.Name, "holder", l.cfg.Holder, "leader", got.Holder)
	}
	l.held = nil
	if held {
		l.held = &got
	}
	return held, nil
}

// Leading renews the lease when half of it is spent and returns nil while
// it is held, ErrLost when it went to another: call it before each piece
// of work of a long pass, so that a pass keeps its lease and a pass whose
// lease went to another stops.
func (l *Leader) Leading(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held != nil && l.cfg.Now().Before(l.held.Expires.Add(-l.cfg.TTL/2)) {
		return nil
	}
	held, err := l.lead(ctx)
	if err != nil {
		return err
	}
	if !held {
		return ErrLost
	}
	return nil
}

// Held reports whether the lease was held when last taken or renewed.
func (l *Leader) Held() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.held != nil
}

// Release frees the lease when this leader holds it, so that another
// process takes over at once; a failure is logged.
func (l *Leader) Release(ctx context.Context) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held == nil {
		return
	}
	if err := l.cfg.Store.ReleaseLease(ctx, l.cfg.Name, l.cfg.Holder); err != nil {
		l.log.Warn("could not release the lease; another server takes it when it expires", "lease", l.cfg.Name, "err", err)
	}
	l.held = nil
}
