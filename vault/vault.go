// Package vault is the server's side of run logs (issue 15, R-LOG-1 to
// R-LOG-3): it keeps each workspace's log key generations (public
// recipients and passphrase-sealed identities it cannot open), takes the
// encrypted logs devices upload into the object store (blob.Store) with
// their records in the store, hands them back to members and devices
// whole or by byte range, says for each target of a run whether its log
// is there and why not, and deletes what the workspace's retention has
// passed, in one server process at a time (a lease). It never sees a log
// in clear.
package vault

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/blob"
	"github.com/runlet/runlet/lease"
	"github.com/runlet/runlet/store"
)

// Defaults of Config.
const (
	// DefaultSweepEvery is how often the retention sweep runs.
	DefaultSweepEvery = time.Hour
	// DefaultLease is the sweep's lease: the server processes of one
	// database must use the same.
	DefaultLease = "logs"
	// DefaultOrphanAge is how old an object without a record must be
	// before the sweep deletes it.
	DefaultOrphanAge = 24 * time.Hour
)

// sweepBatch bounds the records one query of the sweep returns.
const sweepBatch = 200

// Store is what the service needs of the store.
type Store interface {
	store.Workspaces
	store.Devices
	store.Executions
	store.Leases
	store.Logs
}

// Presence is the server's presence of devices (intake.Service.Devices):
// whether a device is online, and since when it is online or offline.
type Presence interface {
	Devices(ws string) []runlet.DevicePresence
}

// Config configures the service. Store and Blobs are required.
type Config struct {
	Store Store
	// Blobs is the object store the logs go to; the service closes it.
	Blobs blob.Store
	// Presence says which devices are online, for the pending logs;
	// nil: the store's last seen times only.
	Presence Presence
	// Now is the clock, the store's (store.Options.Now); nil means
	// time.Now.
	Now func() time.Time
	// Logger receives the log; nil means slog.Default().
	Logger *slog.Logger
	// SweepEvery is how often the retention sweep runs (and once at
	// Start); 0 means DefaultSweepEvery.
	SweepEvery time.Duration
	// Holder names this process in the lease; "" means
	// lease.DefaultHolder().
	Holder string
	// Lease is the sweep's lease name; "" means DefaultLease.
	Lease string
	// LeaseTTL is how long the lease lasts unless renewed; 0 means two
	// sweeps, so that the holder keeps it from one sweep to the next and
	// another process takes over within two sweeps of its death.
	LeaseTTL time.Duration
	// OrphanAge is how old (by its modification time) an object without a
	// record must be for the sweep to delete it; 0 means
	// DefaultOrphanAge.
	OrphanAge time.Duration
}

// Service is the log service of one server process.
type Service struct {
	cfg    Config
	db     Store
	blobs  blob.Store
	log    *slog.Logger
	now    func() time.Time
	leader *lease.Leader

	sweepMu sync.Mutex          // one sweep at a time
	orphans map[string]struct{} // keys without a record at the last sweep

	stop  chan struct{}
	wg    sync.WaitGroup
	start sync.Once
	once  sync.Once
}

// New checks cfg and returns the service, its sweep not started.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("vault: a store is required")
	}
	if cfg.Blobs == nil {
		return nil, errors.New("vault: an object store is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.SweepEvery <= 0 {
		cfg.SweepEvery = DefaultSweepEvery
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 2 * cfg.SweepEvery
	}
	if cfg.OrphanAge <= 0 {
		cfg.OrphanAge = DefaultOrphanAge
	}
	if cfg.Holder == "" {
		cfg.Holder = lease.DefaultHolder()
	}
	if cfg.Lease == "" {
		cfg.Lease = DefaultLease
	}
	s := &Service{cfg: cfg, db: cfg.Store, blobs: cfg.Blobs, log: cfg.Logger, now: cfg.Now,
		orphans: map[string]struct{}{}, stop: make(chan struct{})}
	s.leader = lease.New(lease.Config{Store: cfg.Store, Name: cfg.Lease, Holder: cfg.Holder, TTL: cfg.LeaseTTL,
		Now: cfg.Now, Logger: cfg.Logger, Work: "sweeps the expired run logs"})
	return s, nil
}

// ObjectKey is where the object store keeps the log of execution exec on
// the device of id deviceID in workspace ws: the one place the layout is
// spelled (R-LOG-2). Every element is an id the server made, which
// blob.CheckKey accepts.
func ObjectKey(ws, exec, deviceID string) string {
	return workspacePrefix(ws) + exec + "/" + deviceID + ".rcast"
}

// workspacePrefix is the prefix of every log object of workspace ws.
func workspacePrefix(ws string) string { return "ws/" + ws + "/logs/" }

// parseObjectKey is ObjectKey's inverse under the workspace's prefix: the
// execution and device id, ok false for a key that is not a log's.
func parseObjectKey(ws, key string) (exec, deviceID string, ok bool) {
	rest, ok := strings.CutPrefix(key, workspacePrefix(ws))
	if !ok {
		return "", "", false
	}
	exec, file, ok := strings.Cut(rest, "/")
	if !ok || exec == "" || strings.Contains(file, "/") {
		return "", "", false
	}
	deviceID, ok = strings.CutSuffix(file, ".rcast")
	return exec, deviceID, ok && deviceID != ""
}

// Start runs the retention sweep in the background until Close: at once,
// then every SweepEvery.
func (s *Service) Start() {
	s.start.Do(func() { s.wg.Go(s.loop) })
}

func (s *Service) loop() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-s.stop
		cancel()
	}()
	for {
		if err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("log retention sweep failed; tried again at the next", "err", err, "every", s.cfg.SweepEvery)
		}
		t := time.NewTimer(s.cfg.SweepEvery)
		select {
		case <-s.stop:
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// Close stops the sweep (a sweep under way stops between two deletions),
// releases the lease so that another server sweeps next, and closes the
// object store.
func (s *Service) Close() error {
	var err error
	s.once.Do(func() {
		close(s.stop)
		s.wg.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.sweepMu.Lock()
		s.leader.Release(ctx)
		s.sweepMu.Unlock()
		if cerr := s.blobs.Close(); cerr != nil {
			err = fmt.Errorf("close the object store: %w", cerr)
		}
	})
	return err
}

// Blobs is the object store the service keeps logs in.
func (s *Service) Blobs() blob.Store { return s.blobs }

// checkUploadMeta reports, with EINVALID, what an upload says of its log
// that cannot be.
func checkUploadMeta(m api.LogUpload) error {
	if err := runlet.CheckSHA256(m.SHA256); err != nil {
		return err
	}
	switch {
	case m.State != runlet.LogUploaded && m.State != runlet.LogInterrupted:
		return runlet.Errorf(runlet.EINVALID, "The log state %q is not one of %q and %q.", m.State, runlet.LogUploaded, runlet.LogInterrupted)
	case m.Modified.IsZero():
		return runlet.Errorf(runlet.EINVALID, "The log's modification time is missing.")
	case m.Generation < 1:
		return runlet.Errorf(runlet.EINVALID, "The log key generation %d is not one: generations count from 1.", m.Generation)
	case m.Segments < 0:
		return runlet.Errorf(runlet.EINVALID, "A log cannot hold %d segments.", m.Segments)
	}
	return nil
}
