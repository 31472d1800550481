// Package alert is the alert service (R-TEL-3, R-TEL-4, and the device
// and system alerts of seed table 3.2): it decides when an alert opens,
// reminds and resolves, and queues the notifications each decision owes
// people, in the decision's own transaction (store.Alerts.ChangeAlert).
//
// Thresholds are decided by whichever server process stores the
// readings, after its commit and before its ack (Readings). Silence,
// device and system alerts are decided by one server process at a time,
// the holder of a lease in the store: it sleeps until the next sensor's
// due time (store.Alerts.NextDue) or Poll, whichever is first, and takes
// what fell due. Every decision re-reads the key's state in its
// transaction, so that neither a restart, a redelivery nor a second
// server process tells anyone twice.
package alert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/lease"
	"github.com/runlet/runlet/store"
)

// Defaults of Config.
const (
	DefaultPoll     = 2 * time.Second
	DefaultLeaseTTL = 15 * time.Second
	DefaultCacheTTL = 2 * time.Second
	// DefaultLease is the lease's name: the server processes of one
	// database must use the same.
	DefaultLease = "alerts"
)

// dueBatch bounds the marks one pass of the leader takes at once.
const dueBatch = 500

// Store is what the service needs of the store.
type Store interface {
	store.Workspaces
	store.Users
	store.Memberships
	store.Devices
	store.Sensors
	store.Alerts
	store.Leases
}

// Presence is the server's presence of devices: intake.Service.Devices.
type Presence interface {
	Devices(ws string) []runlet.DevicePresence
}

// Kicker is told that notifications were queued, so that the sender
// sends them now rather than at its next poll: notify.Service.Kick.
type Kicker interface {
	Kick()
}

// Config configures the service. Store is required.
type Config struct {
	Store Store
	// Presence gives the devices' presence for the offline and outbox
	// alerts; nil: no such alerts.
	Presence Presence
	// Kicker is told when notifications were queued; nil: none.
	Kicker Kicker
	// Now is the clock, the store's (store.Options.Now); nil means
	// time.Now.
	Now func() time.Time
	// Logger receives the log; nil means slog.Default().
	Logger *slog.Logger
	// Holder names this process in the lease; "" means
	// lease.DefaultHolder().
	Holder string
	// Lease is the lease's name; "" means DefaultLease.
	Lease string
	// Poll is the leader's longest sleep, and how often another process
	// tries for the lease; 0 means DefaultPoll.
	Poll time.Duration
	// LeaseTTL is how long the lease lasts unless renewed; 0 means
	// DefaultLeaseTTL. It must be more than twice Poll.
	LeaseTTL time.Duration
	// CacheTTL is how long a workspace's settings, sensors, members and
	// channels are remembered; 0 means DefaultCacheTTL. A change made
	// through another server process takes effect within it (the issue
	// asks for 5 s); Forget makes one take effect at once.
	CacheTTL time.Duration
}

// Service is the alert service of one server process.
type Service struct {
	cfg    Config
	db     Store
	log    *slog.Logger
	now    func() time.Time
	leader *lease.Leader

	cache cache
	heard heardCache // the silence marks this process wrote

	refusedMu sync.Mutex
	refused   map[deviceRef]*refusals

	step   sync.Mutex // one leader pass at a time
	ctx    context.Context
	cancel context.CancelFunc
	stop   chan struct{}
	wg     sync.WaitGroup
	start  sync.Once
	once   sync.Once
}

// New checks cfg and returns the service, not started.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("alert: a store is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = DefaultLeaseTTL
	}
	if cfg.LeaseTTL <= 2*cfg.Poll {
		return nil, fmt.Errorf("alert: the lease (%v) must last more than two polls (%v each), or the leader loses it between them", cfg.LeaseTTL, cfg.Poll)
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = DefaultCacheTTL
	}
	if cfg.Holder == "" {
		cfg.Holder = lease.DefaultHolder()
	}
	if cfg.Lease == "" {
		cfg.Lease = DefaultLease
	}
	s := &Service{cfg: cfg, db: cfg.Store, log: cfg.Logger, now: cfg.Now,
		refused: map[deviceRef]*refusals{}, stop: make(chan struct{})}
	s.leader = lease.New(lease.Config{Store: cfg.Store, Name: cfg.Lease, Holder: cfg.Holder, TTL: cfg.LeaseTTL,
		Now: cfg.Now, Logger: cfg.Logger, Work: "decides the silence and device alerts"})
	s.cache = cache{db: cfg.Store, now: cfg.Now, ttl: cfg.CacheTTL, ws: map[string]*wsCache{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Holder is the name this service holds the lease by.
func (s *Service) Holder() string { return s.cfg.Holder }

// Forget drops what the service remembers of the workspace (settings,
// sensors, members, channels), so that a change made through this
// process takes effect at once.
func (s *Service) Forget(ws string) { s.cache.forget(ws) }

// Start runs the service in the background until Close: the refusals
// counted are written, and the leader's passes run, at once and then
// whenever the next sensor falls due, at least every Poll.
func (s *Service) Start() {
	s.start.Do(func() { s.wg.Go(s.loop) })
}

func (s *Service) loop() {
	last := "" // the last failure logged: one that repeats is logged once
	for {
		err := s.Step(s.ctx)
		switch {
		case err != nil && s.ctx.Err() == nil && err.Error() != last:
			s.log.Warn("alert pass failed; tried again every poll", "err", err)
			last = err.Error()
		case err == nil && last != "":
			s.log.Info("alert pass succeeded again")
			last = ""
		}
		wait := s.cfg.Poll // a pass that failed is not retried at once
		if err == nil {
			wait = s.sleep(s.ctx)
		}
		t := time.NewTimer(wait)
		select {
		case <-s.stop:
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// sleep is how long the loop waits: until the next sensor falls due when
// this process leads, at most Poll (other processes move the due times).
func (s *Service) sleep(ctx context.Context) time.Duration {
	if !s.leader.Held() {
		return s.cfg.Poll
	}
	due, ok, err := s.db.NextDue(ctx)
	if err != nil || !ok {
		return s.cfg.Poll
	}
	return min(max(due.Sub(s.now()), 10*time.Millisecond), s.cfg.Poll)
}

// Close stops the service, letting a pass under way finish, writes the
// refusals counted, and releases the lease so that another server takes
// over at once.
func (s *Service) Close() {
	s.once.Do(func() {
		close(s.stop)
		done := make(chan struct{})
		go func() { s.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(s.cfg.LeaseTTL):
			s.cancel()
			<-done
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.flushRefused(ctx); err != nil {
			s.log.Warn("refused readings not recorded for alerting", "err", err)
		}
		s.step.Lock()
		s.leader.Release(ctx)
		s.step.Unlock()
		s.cancel()
	})
}

// Step is one pass: the refusals counted since the last are written (in
// every process), then, when this process holds the lease (taken or
// renewed here), the due silence alerts and the device alerts of every
// workspace are decided. Tests that drive the clock call it.
func (s *Service) Step(ctx context.Context) error {
	s.step.Lock()
	defer s.step.Unlock()
	errs := []error{s.flushRefused(ctx)}
	lead, err := s.leader.Lead(ctx)
	if !lead {
		return errors.Join(append(errs, err)...)
	}
	now := s.now()
	err = s.silences(ctx, now)
	if errors.Is(err, lease.ErrLost) {
		return errors.Join(errs...)
	}
	errs = append(errs, err)
	err = s.devices(ctx, now)
	if errors.Is(err, lease.ErrLost) {
		return errors.Join(errs...)
	}
	return errors.Join(append(errs, err)...)
}

// change runs one decision through the store and kicks the sender when
// it queued notifications.
func (s *Service) change(ctx context.Context, ws, key string, decide func(m store.AlertMark) (store.AlertChange, error)) (store.AlertChange, error) {
	ch, err := s.db.ChangeAlert(ctx, ws, key, func(m store.AlertMark) (store.AlertChange, error) {
		c, err := decide(m)
		if len(c.Notify) > 0 && c.Render == nil {
			c.Render = rerender
		}
		return c, err
	})
	if err != nil {
		return ch, fmt.Errorf("decide alert %s of workspace %s: %w", key, ws, err)
	}
	if len(ch.Notify) > 0 && s.cfg.Kicker != nil {
		s.cfg.Kicker.Kick()
	}
	return ch, nil
}

// due reports whether people may be told of the key of m at now: never
// told, or a period since (the once-per-period rule).
func due(m store.AlertMark, now time.Time, period time.Duration) bool {
	return m.Notified.IsZero() || now.Sub(m.Notified) >= period
}
