// Package ingest is the server's telemetry pipeline: one consumer per
// workspace of the durable telemetry queue, which authenticates the device
// (from the message's key, never its body) and each reading's sensor (id
// and secret, cached), stores the authenticated readings (raw archive and
// series, in one transaction for several deliveries), publishes them on
// bus.ReadingsKey for any later consumer, and acks only after the commit.
// It also replays a sensor's archive and prunes readings past each
// workspace's retention.
package ingest

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/store"
)

// Defaults of Config.
const (
	// DefaultCacheTTL is Config.CacheTTL when zero.
	DefaultCacheTTL = time.Minute
	// DefaultMaxBatch is Config.MaxBatch when zero: readings per
	// transaction.
	DefaultMaxBatch = 20_000
	// DefaultRetentionEvery is Config.RetentionEvery when zero.
	DefaultRetentionEvery = time.Hour
	// Prefetch is how many deliveries one workspace's consumer holds
	// unsettled: enough to fill the next transaction while one commits
	// (BenchmarkIngest commits 15 to 20 batches of 1,000 at a time), and
	// few enough that the last of them is committed well within the
	// broker's ack wait (bus.DefaultAckWait) even when the store takes
	// only 10,000 readings a second: past it, NATS would deliver them
	// again (harmless, but counted as duplicates and done twice).
	Prefetch = 128
)

// negativeTTL bounds how long a refusal (unknown device or sensor) is
// remembered, so that a device or sensor registered just now is taken
// within seconds rather than a whole CacheTTL.
const negativeTTL = 5 * time.Second

// Config configures the pipeline. Store and Bus are required.
type Config struct {
	Store store.Store
	Bus   bus.Bus
	// Now is the clock (retention); nil means time.Now.
	Now func() time.Time
	// Logger receives the log; nil means slog.Default().
	Logger *slog.Logger
	// CacheTTL is how long a device's or a sensor's authentication is
	// remembered; 0 means DefaultCacheTTL. A sensor's changed secret or
	// state, a revoked device, a changed auto-registration setting take
	// effect within it: until then the old answer holds. Refusals are
	// remembered at most 5 s, so a newly registered sensor is taken soon.
	CacheTTL time.Duration
	// MaxBatch bounds the readings of one transaction; 0 means
	// DefaultMaxBatch. A delivery is never split, so a transaction may
	// exceed it by one delivery.
	MaxBatch int
	// RetentionEvery is how often readings past each workspace's
	// retention are pruned; 0 means DefaultRetentionEvery. Pruning is
	// idempotent, so every server process runs it; only one needs to.
	RetentionEvery time.Duration
	// Alerts decides the alerts of the readings each transaction stored,
	// after the commit and before the ack (an error gives them back for
	// redelivery), and counts the readings refused for bad credentials;
	// nil: none. The alert service (alert.Service) is it.
	Alerts Alerts
}

// Alerts is what the pipeline tells the alert service (R-TEL-3, R-TEL-4).
type Alerts interface {
	Readings(ctx context.Context, ws string, rs []runlet.RawReading) error
	Refused(ws, device, reason string, n int64)
}

// Service is the pipeline of every workspace of one server process.
type Service struct {
	cfg Config
	log *slog.Logger
	now func() time.Time
	db  store.Store
	bus bus.Bus

	auth  *authCache
	stats *counters

	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	workers map[*worker]struct{}
	closed  bool
}

// New returns the pipeline and starts its retention loop; Consumer starts
// the consumer of a workspace, and Close stops everything.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Bus == nil {
		return nil, errors.New("ingest: a store and a bus are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = DefaultCacheTTL
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = DefaultMaxBatch
	}
	if cfg.RetentionEvery <= 0 {
		cfg.RetentionEvery = DefaultRetentionEvery
	}
	s := &Service{
		cfg: cfg, log: cfg.Logger, now: cfg.Now, db: cfg.Store, bus: cfg.Bus,
		auth:    newAuthCache(cfg.CacheTTL),
		workers: map[*worker]struct{}{},
	}
	s.stats = newCounters(s.log)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.wg.Go(s.retain)
	return s, nil
}

// Close stops the retention loop and any consumer still running; a
// transaction under way finishes first, so that what it holds is either
// committed and acked or left unacked for redelivery. Close the intake
// first: it closes the consumers it started.
func (s *Service) Close() {
	s.mu.Lock()
	s.closed = true
	ws := make([]*worker, 0, len(s.workers))
	for w := range s.workers {
		ws = append(ws, w)
	}
	s.mu.Unlock()
	for _, w := range ws {
		w.close()
	}
	s.cancel()
	s.wg.Wait()
}
