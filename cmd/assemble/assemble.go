// Package assemble is Runlet's wiring, the one place that knows the
// concrete parts (wtf's cmd/wtfd, litestream's Main): it opens the store,
// the bus and the embedded broker from URLs, builds the services (auth,
// intake, dispatch) and hands them to the HTTP server; and it gives the
// daemon and the CLI their way to dial a broker. It holds no rule of its
// own: every decision it passes on is made in the package it names.
package assemble

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/runlet/runlet/alert"
	"github.com/runlet/runlet/auth"
	blobconnect "github.com/runlet/runlet/blob/connect"
	"github.com/runlet/runlet/bus"
	amqpbus "github.com/runlet/runlet/bus/amqp"
	"github.com/runlet/runlet/bus/amqp/rabbitauth"
	busconnect "github.com/runlet/runlet/bus/connect"
	"github.com/runlet/runlet/bus/nats/embedded"
	"github.com/runlet/runlet/dispatch"
	"github.com/runlet/runlet/intake"
	"github.com/runlet/runlet/internal/lockfile"
	"github.com/runlet/runlet/notify"
	"github.com/runlet/runlet/scheduler"
	"github.com/runlet/runlet/server"
	"github.com/runlet/runlet/store"
	"github.com/runlet/runlet/telemetry/ingest"
	"github.com/runlet/runlet/vault"
)

// DefaultBrokerListen is Config.BrokerListen when empty.
const DefaultBrokerListen = "127.0.0.1:4322"

// Config is a whole server's: the HTTP server's, and the URLs and settings
// of what assemble opens and builds for it. Zero fields take the defaults
// documented.
type Config struct {
	// Server is the HTTP server's configuration; its Store and
	// EmbeddedBroker are set here.
	server.Config
	// DB is the database URL; "" means sqlite:DATA/runlet.db.
	DB string
	// Blobs is the object store's URL, where run logs go (blob/connect:
	// dir:///PATH, a path, or s3://…); "" means DATA/blobs.
	Blobs string
	// LogSweep is how often the run log retention sweep runs
	// (vault.Config.SweepEvery); 0 means its default.
	LogSweep time.Duration
	// Broker is the broker URL with the server's credentials; "" runs the
	// embedded NATS in DATA/nats on BrokerListen.
	Broker string
	// BrokerListen is the embedded broker's address; "" means
	// DefaultBrokerListen, port 0 picks one.
	BrokerListen string
	// BrokerTimeout is how long Start waits for the Broker to answer
	// before it gives up; 0 means DefaultBrokerTimeout.
	BrokerTimeout time.Duration
	// RabbitMQAuthSecret, with an amqp:// Broker, moves the endpoints of
	// RabbitMQ's HTTP auth backend from /rabbitmq/... (loopback callers
	// only) to /rabbitmq/SECRET/... (any caller that knows it).
	RabbitMQAuthSecret string
	// RabbitMQManagement is the management API of an amqp:// Broker, with
	// an administrator's credentials, used to close the connections of
	// revoked devices; "" derives it from Broker (its host and
	// credentials, port 15672).
	RabbitMQManagement string
	// AdminPassword is the first start's admin password; "" generates one.
	AdminPassword string
	// SweepInterval is how often expired executions and device codes are
	// swept and presence re-checked; 0 means intake.DefaultSweep.
	SweepInterval time.Duration
	// TrustedProxies are the reverse proxies (addresses or CIDR prefixes)
	// whose X-Forwarded-For names the client that the limits of sign-in
	// count; none by default.
	TrustedProxies []string
	// SchedulePoll and ScheduleLease are the scheduler's poll interval and
	// lease time (scheduler.Config Poll and LeaseTTL); 0 means its
	// defaults.
	SchedulePoll, ScheduleLease time.Duration
	// PasswordCost is bcrypt's cost for new password hashes; 0 means its
	// default (tests lower it).
	PasswordCost int
	// AlertPoll and AlertLease are the alert service's longest sleep and
	// lease time (alert.Config Poll and LeaseTTL); 0 means its defaults.
	AlertPoll, AlertLease time.Duration
	// NotifyPoll and NotifyClaim are the notification sender's poll
	// interval and claim time (notify.Config Poll and Claim), and
	// NotifyTimeout bounds one attempt; 0 means its defaults.
	NotifyPoll, NotifyClaim, NotifyTimeout time.Duration
	// NoAlerts, for benchmarks only, keeps the alert service off the
	// ingest's path: the pipeline stores readings without telling it
	// (no threshold or silence alerts). The service still runs its
	// leader's device alerts.
	NoAlerts bool
}

// Server is a running server and what was opened and built for it, for
// the process (and its tests) to use in-process.
type Server struct {
	*server.Server
	Store    store.Store
	Bus      bus.Bus
	Auth     *auth.Service
	Intake   *intake.Service
	Dispatch *dispatch.Service
	// Scheduler runs the jobs that have a schedule while this server holds
	// the scheduler's lease.
	Scheduler *scheduler.Service
	// Telemetry is the telemetry pipeline, a consumer of the intake.
	Telemetry *ingest.Service
	// Alerts decides the alerts of the readings the pipeline stores, and
	// the silence and device alerts while this server holds their lease.
	Alerts *alert.Service
	// Notify sends the notifications the alerts queue.
	Notify *notify.Service
	// Logs keeps the run logs: keys, uploads in the object store, their
	// retention while this server holds its lease.
	Logs *vault.Service

	dataDir string
	lock    *lockfile.Lock   // of the data directory (LockFile)
	nats    *embedded.Server // nil with an external broker
	closed  sync.Once
}

// Start opens and builds everything, in the order the parts need each
// other, and serves until Close: the data directory's lock, which a second
// server on it finds held; the store; the HTTP server (listening,
// with TLS and its public URL); the auth service; RabbitMQ's auth backend
// (served before the broker connects: RabbitMQ asks it whether the
// server may log in) or the embedded broker (which asks the auth service
// who a device is); the bus; intake, dispatch and the scheduler; the first
// start's records; then the API opens. A failure to start is one sentence (a
// runlet.Error) naming what failed, why, and the setting to check.
func Start(ctx context.Context, cfg Config) (_ *Server, err error) {
	if cfg.DataDir == "" {
		return nil, errors.New("server: no data directory (--data)")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.DB == "" {
		cfg.DB = "sqlite:" + filepath.Join(cfg.DataDir, "runlet.db")
	}
	if cfg.Blobs == "" {
		cfg.Blobs = filepath.Join(cfg.DataDir, "blobs")
	}
	if cfg.Broker == "" && cfg.BrokerListen == "" {
		cfg.BrokerListen = DefaultBrokerListen
	}
	if cfg.BrokerTimeout <= 0 {
		cfg.BrokerTimeout = DefaultBrokerTimeout
	}
	s := &Server{dataDir: cfg.DataDir}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if s.lock, err = lockDataDir(cfg.DataDir); err != nil {
		return nil, err
	}
	if s.Store, err = openStore(ctx, cfg.DB, store.Options{Now: cfg.Now}); err != nil {
		return nil, err
	}
	cfg.Config.Store = s.Store
	if cfg.Broker == "" {
		cfg.EmbeddedBroker = cfg.BrokerListen
	}
	if s.Server, err = server.New(cfg.Config); err != nil {
		return nil, listenError(cfg.Listen, "--listen, RUNLET_LISTEN", err)
	}
	if s.Auth, err = auth.New(auth.Config{
		Store: s.Store, Now: cfg.Now, Logger: cfg.Logger, DataDir: cfg.DataDir, PublicURL: s.URL(),
		TrustedProxies: cfg.TrustedProxies, PasswordCost: cfg.PasswordCost,
	}); err != nil {
		return nil, err
	}
	var brokerAuth server.BrokerAuth
	if rabbitauth.IsBrokerURL(cfg.Broker) {
		backend, err := rabbitauth.ForBroker(cfg.Broker, rabbitauth.Config{
			Secret: cfg.RabbitMQAuthSecret, Directory: s.Auth.Directory(), Logger: cfg.Logger, Now: cfg.Now,
		})
		if err != nil {
			return nil, err
		}
		s.Auth.OnRevoke(backend.Forget)
		brokerAuth = backend
	}
	s.Serve(s.Auth, brokerAuth)

	ready := server.Services{BrokerURL: cfg.BrokerPublicURL}
	opts := bus.Options{Name: "runlet-server", Logger: cfg.Logger}
	if cfg.Broker != "" {
		if s.Bus, err = dialBroker(ctx, cfg.Broker, cfg.BrokerTimeout, opts, cfg.Logger); err != nil {
			return nil, err
		}
		if ready.BrokerURL == "" {
			// Devices get the address, never the server's credentials.
			if ready.BrokerURL, err = bus.WithoutCredentials(cfg.Broker); err != nil {
				return nil, fmt.Errorf("the broker URL for devices: %w", err)
			}
		}
		ready.BrokerStore = "the broker at " + ready.BrokerURL
		if brokerAuth != nil {
			m := cfg.RabbitMQManagement
			if m == "" {
				if m, err = amqpbus.ManagementURL(cfg.Broker); err != nil {
					return nil, err
				}
			}
			s.Auth.SetCutter(amqpbus.Management{URL: m})
		}
	} else {
		dir := filepath.Join(cfg.DataDir, "nats")
		if s.nats, err = embedded.Start(embedded.Config{
			Dir: dir, Addr: cfg.BrokerListen, TLS: s.BrokerTLS(), Authenticator: s.Auth.BrokerUser, Logger: cfg.Logger,
		}); err != nil {
			return nil, listenError(cfg.BrokerListen, "--broker-listen, RUNLET_BROKER_LISTEN", fmt.Errorf("start the embedded broker: %w", err))
		}
		s.Auth.SetCutter(s.nats)
		b, err := s.nats.Bus(ctx, opts)
		if err != nil {
			// b is a nil *Bus: not kept in s.Bus, which Close would close.
			return nil, fmt.Errorf("connect to the embedded broker: %w", err)
		}
		s.Bus = b
		ready.BrokerAddr = s.nats.Addr()
		ready.BrokerStore = "the broker's store at " + dir
	}

	icfg := intake.Config{Store: s.Store, Bus: s.Bus, SweepInterval: cfg.SweepInterval, Now: cfg.Now, Logger: cfg.Logger}
	if s.nats != nil {
		icfg.Connections = s.nats.Daemons // presence from the broker (docs/bandwidth.md)
	}
	if s.Intake, err = intake.New(icfg); err != nil {
		return nil, err
	}
	if s.Notify, err = notify.New(notify.Config{
		Store: s.Store, Now: cfg.Now, Logger: cfg.Logger,
		Poll: cfg.NotifyPoll, Claim: cfg.NotifyClaim, Timeout: cfg.NotifyTimeout,
	}); err != nil {
		return nil, err
	}
	if s.Alerts, err = alert.New(alert.Config{
		Store: s.Store, Presence: s.Intake, Kicker: s.Notify, Now: cfg.Now, Logger: cfg.Logger,
		Poll: cfg.AlertPoll, LeaseTTL: cfg.AlertLease,
	}); err != nil {
		return nil, err
	}
	icfgT := ingest.Config{Store: s.Store, Bus: s.Bus, Alerts: s.Alerts, Now: cfg.Now, Logger: cfg.Logger}
	if cfg.NoAlerts {
		icfgT.Alerts = nil
	}
	if s.Telemetry, err = ingest.New(icfgT); err != nil {
		return nil, err
	}
	s.Intake.Register("telemetry", s.Telemetry.Consumer)
	dcfg := dispatch.Config{
		Store: s.Store, Bus: s.Bus, Events: s.Intake, Workspaces: s.Intake,
		BrokerStore: ready.BrokerStore, Now: cfg.Now, Logger: cfg.Logger,
	}
	if s.nats != nil {
		dcfg.CheckBroker = s.nats.CheckStore
	}
	if s.Dispatch, err = dispatch.New(dcfg); err != nil {
		return nil, err
	}
	if s.Scheduler, err = scheduler.New(scheduler.Config{
		Store: s.Store, Dispatch: s.Dispatch, Now: cfg.Now, Logger: cfg.Logger,
		Poll: cfg.SchedulePoll, LeaseTTL: cfg.ScheduleLease,
	}); err != nil {
		return nil, err
	}
	blobs, err := blobconnect.Open(ctx, cfg.Blobs)
	if err != nil {
		return nil, fmt.Errorf("open the object store for run logs (--blobs, RUNLET_BLOBS): %w", err)
	}
	if s.Logs, err = vault.New(vault.Config{
		Store: s.Store, Blobs: blobs, Presence: s.Intake, Now: cfg.Now, Logger: cfg.Logger, SweepEvery: cfg.LogSweep,
	}); err != nil {
		blobs.Close()
		return nil, err
	}
	boot, err := s.Auth.Bootstrap(ctx, auth.BootstrapConfig{AdminPassword: cfg.AdminPassword, Out: cfg.Out})
	if err != nil {
		return nil, err
	}
	if err := s.Intake.Start(ctx); err != nil {
		return nil, err
	}
	s.Scheduler.Start()
	s.Alerts.Start()
	s.Notify.Start()
	s.Logs.Start()
	ready.Bus, ready.Intake, ready.Dispatch, ready.Workspace = s.Bus, s.Intake, s.Dispatch, boot.Workspace
	ready.Scheduler = s.Scheduler
	ready.Telemetry = s.Telemetry
	ready.Alerts, ready.Notify = s.Alerts, s.Notify
	ready.Logs = s.Logs
	s.Ready(ready)
	return s, nil
}

// Run starts the server and serves until ctx is done, then shuts down.
func Run(ctx context.Context, cfg Config) error {
	s, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	<-ctx.Done()
	return s.Close()
}

// Close stops everything in the order that loses nothing: the scheduler
// first, before the dispatch service and the store it starts runs with (it
// releases its lease, so that another server takes over at once); the
// consumers, while the store can still commit what their handlers hold; the
// auth service's cuts; the HTTP server (after the consumers, as RabbitMQ
// asks it about the server's own operations); then the bus, the broker
// and the store; last, the data directory's lock.
func (s *Server) Close() error {
	s.closed.Do(func() {
		if s.Scheduler != nil {
			s.Scheduler.Close()
		}
		if s.Intake != nil {
			s.Intake.Close()
		}
		if s.Telemetry != nil {
			s.Telemetry.Close() // after the intake, which closes its consumers
		}
		if s.Alerts != nil {
			s.Alerts.Close() // after the pipeline that tells it readings; releases its lease
		}
		if s.Notify != nil {
			s.Notify.Close() // after the alerts that kick it
		}
		if s.Auth != nil {
			s.Auth.Close()
		}
		if s.Server != nil {
			s.Server.Close()
		}
		if s.Logs != nil {
			s.Logs.Close() // after the HTTP server that uploads through it; releases its lease, closes the object store
		}
		if s.Bus != nil {
			s.Bus.Close()
		}
		if s.nats != nil {
			s.nats.Shutdown()
		}
		if s.Store != nil {
			s.Store.Close()
		}
		s.lock.Close()
	})
	return nil
}

// Dial connects to the broker at url, choosing the adapter by its scheme:
// what the daemon and the CLI are handed to reach their broker.
func Dial(ctx context.Context, url string, opts bus.Options) (bus.Bus, error) {
	return busconnect.Open(ctx, url, opts)
}
