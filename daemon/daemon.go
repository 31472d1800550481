// Package daemon is the device side of Runlet (`runlet daemon`): it takes
// executions from the device's dispatch queue into the runner, publishes
// their frames and every status transition, obeys input, resize, stop, kill
// and replay requests from any viewer of its workspace, and sends
// heartbeats. It records each run's log encrypted to the workspace's log
// key as it is written, and uploads it when the run ends (logs.go,
// uploads.go). What must survive a crash or a broker outage (unconfirmed
// statuses, the executions it started, the uploads not confirmed) lives
// in the home's state directory.
package daemon

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/internal/lockfile"
	"github.com/runlet/runlet/runner"
	"github.com/runlet/runlet/telemetry/gateway"
	"github.com/runlet/runlet/tlspin"
)

// Config configures a Daemon; zero values pick the defaults.
type Config struct {
	// Home is the device's home directory: logs and state go there.
	Home home.Dir
	// Credentials say who the device is and where its broker is; nil means
	// Home.Credentials().
	Credentials *home.Credentials
	// Bus is the broker connection; nil means Dial Credentials.Broker as
	// BrokerUser. A Bus given here is not closed by Run.
	Bus bus.Bus
	// Dial connects to a broker URL (with credentials), choosing the
	// adapter: cmd/assemble's Dial. Required when Bus is nil.
	Dial func(ctx context.Context, url string, opts bus.Options) (bus.Bus, error)
	// Now is the clock of expiry checks, statuses and heartbeats; nil
	// means time.Now.
	Now func() time.Time
	// Parallel is how many executions run at once; 0 means one per CPU.
	Parallel int
	// HeartbeatInterval is the longest time between heartbeats (one is
	// also sent at once when the executions running or queued change);
	// 0 means DefaultHeartbeatInterval.
	HeartbeatInterval time.Duration
	// StopGrace is how long a stop waits before SIGKILL; 0 means the
	// runner's default.
	StopGrace time.Duration
	// Logger receives the daemon's log; nil discards it.
	Logger *slog.Logger
	// Version is reported in heartbeats.
	Version string
	// RootCAs are the authorities trusted for the broker's certificate
	// besides Credentials.ServerFingerprint; nil means the system's.
	RootCAs *x509.CertPool
	// TelemetryListen is the address of the local readings endpoint
	// (POST /v1/readings, see package telemetry/gateway): "" or ListenOff
	// serves none; ListenAuto (what `runlet daemon` gives by default) is
	// gateway.DefaultListen, or a free loopback port when it is taken.
	TelemetryListen string
	// MQTT is the broker the sensors publish to; no URL means none.
	MQTT gateway.MQTTConfig
	// TelemetrySpoolBytes bounds the telemetry outbox on disk; 0 means
	// the spool's default.
	TelemetrySpoolBytes int64
	// TelemetryBatchTime is how long the gateway gathers readings into
	// a batch; 0 means gateway.DefaultBatchTime.
	TelemetryBatchTime time.Duration
}

// DefaultHeartbeatInterval is Config.HeartbeatInterval when zero: long,
// because a device's presence also comes from its broker connection and
// an idle device must stay within its bandwidth budget (docs/bandwidth.md).
const DefaultHeartbeatInterval = 5 * time.Minute

// Daemon runs one device's executions for its workspace.
type Daemon struct {
	cfg    Config
	creds  *home.Credentials
	log    *slog.Logger
	ws     string
	device string

	bus     bus.Bus
	runner  *runner.Runner
	outbox  *statusOutbox
	records *records

	// ctx ends the goroutines the daemon owns (output followers,
	// replays); wg waits for them.
	ctx     context.Context
	wg      sync.WaitGroup
	replays chan struct{} // one token per replay running
	refused chan struct{} // the broker refused the credentials (revoked.go)
	// beatSoon asks for a heartbeat now (heartbeat.go).
	beatSoon chan struct{}

	mu    sync.Mutex
	execs map[string]*tracked

	typeAhead typeAhead // input that came before its dispatch (input.go)

	sizes windowSizes // each viewer's window size, who acted last (sizes.go)

	gateway *gateway.Gateway // the sensors' gateway, set by Run (telemetry.go)

	apiOnce sync.Once
	apiHTTP *apiclient.Client // the server's API as this device (cancel.go)

	logs *castLogs // the runs' logs, encrypted and uploaded (logs.go)
}

// tracked is an execution this daemon process took into its runner.
type tracked struct {
	x      *runner.Execution // set once Enqueue returned
	status runlet.Status
	final  chan struct{} // closed once the final status is in the outbox
}

// New checks cfg; Run does the work.
func New(cfg Config) (*Daemon, error) {
	if cfg.Home == "" {
		return nil, runlet.Errorf(runlet.EINVALID, "daemon: a home directory is required")
	}
	creds := cfg.Credentials
	if creds == nil {
		c, err := cfg.Home.Credentials()
		if err != nil {
			return nil, err
		}
		creds = c
	}
	switch {
	case creds.Workspace == "" || creds.Device == "":
		return nil, runlet.Errorf(runlet.EINVALID, "daemon: the credentials name no workspace or device; sign in again")
	case creds.Server == "":
		// It is asked before every run (cancel.go).
		return nil, runlet.Errorf(runlet.EINVALID, "daemon: the credentials name no server; sign in again")
	case cfg.Bus == nil && creds.Broker == "":
		return nil, runlet.Errorf(runlet.EINVALID, "daemon: the credentials name no broker; sign in again")
	case cfg.Bus == nil && cfg.Dial == nil:
		return nil, runlet.Errorf(runlet.EINVALID, "daemon: no way to reach the broker: give Config.Bus or Config.Dial")
	case cfg.Parallel < 0:
		return nil, runlet.Errorf(runlet.EINVALID, "daemon: parallelism %d is negative; use 0 for one per CPU", cfg.Parallel)
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Daemon{
		refused: make(chan struct{}, 1),
		cfg:     cfg,
		creds:   creds,
		log:     cfg.Logger.With("device", creds.Device),
		ws:      creds.Workspace,
		device:  creds.Device,
		execs:   map[string]*tracked{},
		replays: make(chan struct{}, maxReplays),

		beatSoon: make(chan struct{}, 1),
	}, nil
}

// Run works until ctx ends, then kills the running executions, reports
// their end (waiting up to a few seconds for the broker to confirm), and
// returns. It fails early when another daemon runs on the home (it holds
// the home's lock until it returns), or when the state directory or the
// broker credentials are unusable. Call it once.
func (d *Daemon) Run(ctx context.Context) error {
	lock, err := d.lockHome()
	if err != nil {
		return err
	}
	defer lock.Close()
	if d.records, err = openRecords(d.cfg.Home.Path("state", "executions")); err != nil {
		return err
	}
	if d.outbox, err = openOutbox(d.cfg.Home.Path("state", "outbox"), d.log); err != nil {
		return err
	}
	if err := d.openLogs(); err != nil {
		return err
	}
	if err := d.connect(ctx); err != nil {
		return err
	}
	if d.cfg.Bus == nil {
		defer d.bus.Close()
	}
	d.runner, err = runner.New(runner.Config{
		Parallel:  d.cfg.Parallel,
		LogDir:    d.cfg.Home.LogDir(),
		Logs:      d.logs,
		StopGrace: d.cfg.StopGrace,
		Logger:    d.log,
		OnStatus:  d.onStatus,
	})
	if err != nil {
		return err
	}

	stopTelemetry, err := d.startTelemetry(ctx)
	if err != nil {
		return err
	}
	// Stopped after the heartbeats, which report on it.
	defer stopTelemetry()

	// The outbox sender lives until the very end, so that the statuses of
	// the executions the shutdown ends get their chance to go out.
	sendCtx, stopSending := context.WithCancel(context.WithoutCancel(ctx))
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		d.outbox.run(sendCtx, d.bus, d.ws)
	}()
	defer func() {
		d.outbox.flush(flushWait)
		stopSending()
		<-sent
	}()
	// Closing the runner kills what runs, which ends the output followers.
	defer func() {
		d.runner.Close()
		d.wg.Wait()
	}()

	d.ctx = ctx
	// Listen for input and control before the recovery reports anything:
	// a viewer told of an execution's end may ask for its replay at once.
	subs, err := d.subscribe(ctx)
	if err != nil {
		return err
	}
	defer func() {
		for _, s := range subs {
			_ = s.Close()
		}
	}()
	if err := d.recover(); err != nil {
		return err
	}
	// After recover, which reads the plaintext logs of the runs it ends,
	// and before any new run.
	d.logs.recoverLogs()
	// The log loops end when Run returns, before it waits for them.
	logCtx, stopLogs := context.WithCancel(ctx)
	defer stopLogs()
	d.spawn(func() { d.logs.keys.refresh(logCtx) })
	d.spawn(func() { d.uploader(logCtx) })
	d.spawn(func() { d.sweeper(logCtx) })
	return d.serve(ctx)
}

// lockHome keeps a second daemon off this home until Run returns: two
// would take each other's dispatches and write the same state and logs.
func (d *Daemon) lockHome() (*lockfile.Lock, error) {
	if err := os.MkdirAll(string(d.cfg.Home), 0o700); err != nil {
		return nil, fmt.Errorf("daemon: create the home %s: %w", d.cfg.Home, err)
	}
	l, err := lockfile.Acquire(d.cfg.Home.LockFile())
	var held *lockfile.HeldError
	if errors.As(err, &held) {
		return nil, runlet.Errorf(runlet.ECONFLICT, "the home %s is in use by another runlet daemon (%s): stop that one, or give this one another --home", d.cfg.Home, held.Holder())
	}
	if err != nil {
		return nil, fmt.Errorf("daemon: lock the home %s: %w", d.cfg.Home, err)
	}
	return l, nil
}

// flushWait bounds how long a stopping daemon waits for the broker to
// confirm the last statuses; what is left goes out at the next start.
const flushWait = 5 * time.Second

// serve consumes dispatches and sends heartbeats until ctx is done.
func (d *Daemon) serve(parent context.Context) error {
	// Ends the consumer and the heartbeats when serve gives up (revoked).
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	d.wg.Add(2)
	go func() {
		defer d.wg.Done()
		d.consumeDispatch(ctx)
	}()
	go func() {
		defer d.wg.Done()
		d.heartbeat(ctx)
	}()
	d.log.Info("daemon running", "workspace", d.ws, "parallel", d.runner.Parallel())
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-d.refused:
			if d.revoked(ctx) {
				d.log.Error("stopping: the server revoked this device's credentials")
				return errSignedOut
			}
			d.log.Warn("the broker refused this device's credentials, but the server still accepts them; retrying")
		}
	}
}

// connect opens the broker connection unless the Config gave one.
func (d *Daemon) connect(ctx context.Context) error {
	if d.cfg.Bus != nil {
		d.bus = d.cfg.Bus
		return nil
	}
	u, err := bus.WithCredentials(d.creds.Broker, d.creds.BrokerUser, d.creds.BrokerPassword)
	if err != nil {
		return runlet.Errorf(runlet.EINVALID, "daemon: the broker URL in the credentials is not valid (%v); sign in again", err)
	}
	b, err := d.cfg.Dial(ctx, u, bus.Options{
		Name:    "runlet-daemon " + d.creds.Device,
		Logger:  d.log,
		TLS:     tlspin.Config(d.creds.ServerFingerprint, d.cfg.RootCAs),
		Metered: true, // a device's link: docs/bandwidth.md
		OnState: func(s bus.State) {
			d.log.Info("broker connection", "state", s.String())
			d.brokerState(s)
		},
		OnRefused: d.refusedByBroker,
	})
	if errors.Is(err, bus.ErrAuth) {
		return runlet.Errorf(runlet.EUNAUTHORIZED, "the broker %s refused this device's credentials (revoked?); sign in again: %v", d.creds.Broker, err)
	}
	if err != nil {
		return brokerError(d.creds.Broker, err)
	}
	d.bus = b
	return nil
}

// subscribe listens for the input and control requests of every execution
// on this device.
func (d *Daemon) subscribe(ctx context.Context) ([]bus.Subscription, error) {
	in, err := d.bus.Subscribe(ctx, d.ws, bus.InputPatternForDevice(d.device), d.onInput)
	if err != nil {
		return nil, fmt.Errorf("daemon: listen for input: %w", err)
	}
	ctl, err := d.bus.Subscribe(ctx, d.ws, bus.ControlPatternForDevice(d.device), d.onControl)
	if err != nil {
		_ = in.Close()
		return nil, fmt.Errorf("daemon: listen for control requests: %w", err)
	}
	return []bus.Subscription{in, ctl}, nil
}

// spawn runs f on a goroutine the daemon waits for at the end of Run.
func (d *Daemon) spawn(f func()) {
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		f()
	}()
}
