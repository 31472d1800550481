// Package intake is what the server takes in from the bus, per workspace:
// execution statuses into the store, heartbeats into presence, and the
// periodic sweeps (queued executions that expired, old device codes,
// devices gone silent). It also publishes the workspace events viewers
// refresh on. Consumers are registered: a later one (telemetry ingest) is
// one more Register call, started for every workspace like the others.
package intake

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/store"
	"github.com/runlet/runlet/wire"
)

// DefaultSweep is Config.SweepInterval when zero.
const DefaultSweep = 5 * time.Second

// Config configures the intake. Store and Bus are required.
type Config struct {
	Store store.Store
	Bus   bus.Bus
	// SweepInterval is how often the sweeps run; 0 means DefaultSweep.
	SweepInterval time.Duration
	// Connections, when set, lists the devices whose daemon is connected
	// to the broker now, per workspace id and device name (the embedded
	// NATS server's Daemons): every sweep asks it, and a device whose
	// daemon it no longer lists is offline without waiting for three
	// missed heartbeats (presence.go). Nil means: the dispatch queues'
	// consumers where the bus counts them (bus.ConsumerCounter, RabbitMQ),
	// else heartbeats alone decide.
	Connections func(ctx context.Context) (map[string]map[string]bool, error)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives the log; nil means slog.Default().
	Logger *slog.Logger
}

// A Consumer starts one consumer of workspace ws on the bus and returns
// its subscription. It lives until ctx ends or the intake closes it.
type Consumer func(ctx context.Context, ws string) (bus.Subscription, error)

// Service runs the consumers of every workspace.
type Service struct {
	cfg      Config
	log      *slog.Logger
	now      func() time.Time
	db       store.Store
	bus      bus.Bus
	presence *presence

	consumers []namedConsumer // registered before Start

	ctx    context.Context // ends at Close: owns every consumer and sweep
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	attached map[string][]bus.Subscription // workspace id → its consumers
	stopping bool                          // Close ran: attach no more
}

type namedConsumer struct {
	name  string
	start Consumer
}

// New returns the intake with the status consumer and the heartbeat
// subscription registered; Start starts them.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Bus == nil {
		return nil, errors.New("intake: a store and a bus are required")
	}
	if cfg.SweepInterval <= 0 {
		cfg.SweepInterval = DefaultSweep
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Service{
		cfg: cfg, log: cfg.Logger, now: cfg.Now, db: cfg.Store, bus: cfg.Bus,
		presence: newPresence(), attached: map[string][]bus.Subscription{},
	}
	if s.cfg.Connections == nil {
		if cc, ok := cfg.Bus.(bus.ConsumerCounter); ok {
			s.cfg.Connections = s.queueConnections(cc)
		}
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.Register("status", func(ctx context.Context, ws string) (bus.Subscription, error) {
		return s.bus.Consume(ctx, ws, statusQueue, func(d bus.Delivery) { s.applyStatus(ws, d) })
	})
	s.Register("heartbeat", func(ctx context.Context, ws string) (bus.Subscription, error) {
		return s.bus.Subscribe(ctx, ws, bus.AllHeartbeats, func(m bus.Message) { s.heartbeat(ws, m) })
	})
	return s, nil
}

// Register adds a consumer started for every workspace. Call it before
// Start.
func (s *Service) Register(name string, c Consumer) {
	s.consumers = append(s.consumers, namedConsumer{name: name, start: c})
}

// Start attaches every workspace in the store and starts the sweeps.
func (s *Service) Start(ctx context.Context) error {
	if err := s.attachAll(ctx); err != nil {
		return err
	}
	s.wg.Go(s.sweep)
	return nil
}

// Close stops every consumer and the sweeps. Handlers running finish
// first, so that what they hold is committed or left unacked.
func (s *Service) Close() {
	s.mu.Lock()
	s.stopping = true
	for ws, subs := range s.attached {
		for _, sub := range subs {
			sub.Close()
		}
		delete(s.attached, ws)
	}
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
}

// attachAll attaches every workspace in the store.
func (s *Service) attachAll(ctx context.Context) error {
	wss, err := s.db.ListWorkspaces(ctx)
	if err != nil {
		return fmt.Errorf("list workspaces: %w", err)
	}
	for _, ws := range wss {
		if err := s.Attach(ctx, ws.ID); err != nil {
			return err
		}
	}
	return nil
}

// Attach starts, once per workspace, its registered consumers, and
// declares the queues devices publish to (they may not create them).
// Workspaces made after Start are attached by the sweep, or at once by a
// service that is about to use one (dispatch, a device signing in).
func (s *Service) Attach(ctx context.Context, ws string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.attached[ws]; ok {
		return nil
	}
	if s.stopping {
		return runlet.Errorf(runlet.EUNAVAILABLE, "The server is shutting down.")
	}
	if err := s.bus.DeclareQueue(ctx, ws, bus.Queue{Name: bus.TelemetryQueue, Pattern: bus.AllTelemetry}); err != nil {
		return runlet.Errorf(runlet.EUNAVAILABLE, "The broker did not create the telemetry queue: %v.", err)
	}
	if err := s.declareDeviceQueues(ctx, ws); err != nil {
		return err
	}
	var subs []bus.Subscription
	for _, c := range s.consumers {
		// The subscriptions live as long as the intake, not the request
		// that happened to attach the workspace.
		sub, err := c.start(s.ctx, ws)
		if err != nil {
			for _, sub := range subs {
				sub.Close()
			}
			return runlet.Errorf(runlet.EUNAVAILABLE, "The broker did not start the %s consumer: %v.", c.name, err)
		}
		subs = append(subs, sub)
	}
	s.attached[ws] = subs
	return nil
}

// declareDeviceQueues makes sure every device's dispatch queue exists, as
// a device may consume its queue but not create it (a broker that lost its
// store, a new external broker).
func (s *Service) declareDeviceQueues(ctx context.Context, ws string) error {
	devices, err := s.db.ListDevices(ctx, ws)
	if err != nil {
		return fmt.Errorf("list devices: %w", err)
	}
	s.presence.seed(ws, devices, s.now())
	for _, d := range devices {
		if d.Revoked {
			continue
		}
		if err := s.bus.DeclareQueue(ctx, ws, bus.DeviceQueue(d.Name)); err != nil {
			return runlet.Errorf(runlet.EUNAVAILABLE, "The broker did not create the queue of device %s: %v.", d.Name, err)
		}
	}
	return nil
}

// DeviceAdded attaches the device's workspace and declares its dispatch
// queue, before the device learns its credentials.
func (s *Service) DeviceAdded(ctx context.Context, ws, device string) error {
	if err := s.Attach(ctx, ws); err != nil {
		return err
	}
	if err := s.bus.DeclareQueue(ctx, ws, bus.DeviceQueue(device)); err != nil {
		return runlet.Errorf(runlet.EUNAVAILABLE, "The broker did not create the device's queue: %v.", err)
	}
	return nil
}

// DeviceRemoved deletes a signed-out device's queue and forgets its
// presence. A queue the broker keeps is only logged: nothing publishes to
// it any more.
func (s *Service) DeviceRemoved(ctx context.Context, ws, device string) {
	if err := s.bus.DeleteQueue(ctx, ws, bus.DispatchQueue(device)); err != nil {
		s.log.Warn("could not delete a signed-out device's queue", "device", device, "err", err)
	}
	s.presence.forget(ws, device)
}

// Event tells the workspace's viewers; an event is a hint to refresh, so
// a lost one is only logged.
func (s *Service) Event(ws string, ev wire.Event) {
	if ev.Time.IsZero() {
		ev.Time = s.now()
	}
	body, err := wire.Encode(ev)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
	defer cancel()
	if err := s.bus.Publish(ctx, ws, bus.Message{Key: bus.EventKey, Body: body}); err != nil {
		s.log.Debug("event not published", "workspace", ws, "type", ev.Type, "err", err)
	}
}

// Presence returns the device's last heartbeat and whether it is online.
func (s *Service) Presence(ws, device string) (wire.Heartbeat, bool) {
	return s.presence.get(ws, device, s.now())
}

// LastSeen is when the device's last heartbeat came, zero if none came
// since the intake started. The store's record is refreshed less often.
func (s *Service) LastSeen(ws, device string) time.Time {
	return s.presence.lastSeen(ws, device)
}
