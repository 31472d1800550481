//go:build !windows

// Package devicesim simulates many Runlet devices in one process for the
// fan-out benchmark. Each simulated device has its own broker connection
// with its own credentials, as a real daemon does, and speaks the daemon's
// protocol (daemon/): heartbeats, the durable dispatch queue consumed and
// acked, the Running status, numbered output frames, the end marker and the
// Finished status, and replays for viewers that ask. It runs no process and
// keeps no state on disk: it measures the server and the broker, not the
// device.
package devicesim

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/wire"
)

// Config configures a simulated device; zero values pick the defaults.
type Config struct {
	// HeartbeatInterval is the time between heartbeats; 0 means the
	// daemon's default, 5s.
	HeartbeatInterval time.Duration
	// Output is what every execution prints; nil means "hello from NAME\n".
	Output func(device string) []byte
}

// DefaultHeartbeatInterval is the daemon's default.
const DefaultHeartbeatInterval = 5 * time.Second

// Opener connects to the broker as the device of c.
type Opener func(ctx context.Context, c *home.Credentials) (bus.Bus, error)

// Device is one simulated device, connected and working until Close.
type Device struct {
	Creds *home.Credentials
	cfg   Config
	bus   bus.Bus
	ws    string
	name  string

	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup
	subs []bus.Subscription

	mu    sync.Mutex
	execs map[string]*execution
	times Times
}

// Times are when the device's last execution reached each step.
type Times struct {
	Taken            time.Time // the dispatch came and was acked
	RunningConfirmed time.Time // the broker confirmed the Running status
	Finished         time.Time // the broker confirmed the Finished status
}

// Times returns when the device's last execution reached each step.
func (d *Device) Times() Times {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.times
}

// execution is what a device keeps of a run to answer replays.
type execution struct {
	frames []wire.Frame
	ended  bool
}

// Start connects device c through open and starts its work: the input and
// control subscriptions, the dispatch consumer and the heartbeats, in the
// daemon's order. It returns once the broker has the subscriptions and the
// consumer, and the first heartbeat is sent.
func Start(ctx context.Context, c *home.Credentials, open Opener, cfg Config) (_ *Device, err error) {
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if cfg.Output == nil {
		cfg.Output = func(device string) []byte { return []byte("hello from " + device + "\n") }
	}
	b, err := open(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("device %s: connect to the broker: %w", c.Device, err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	d := &Device{
		Creds: c, cfg: cfg, bus: b, ws: c.Workspace, name: c.Device,
		ctx: runCtx, stop: stop, execs: map[string]*execution{},
	}
	defer func() {
		if err != nil {
			_ = d.Close()
		}
	}()
	// The subscriptions live until Close, not as long as ctx; ctx only
	// bounds the start.
	stopStart := context.AfterFunc(ctx, stop)
	defer stopStart()
	for _, s := range []struct {
		pattern bus.Key
		h       bus.Handler
	}{
		{bus.InputPatternForDevice(d.name), func(bus.Message) {}}, // nothing runs long enough to type into
		{bus.ControlPatternForDevice(d.name), d.onControl},
	} {
		sub, err := b.Subscribe(runCtx, d.ws, s.pattern, s.h)
		if err != nil {
			return nil, fmt.Errorf("device %s: subscribe to %s: %w", d.name, s.pattern, err)
		}
		d.subs = append(d.subs, sub)
	}
	q := bus.DeviceQueue(d.name)
	sub, err := b.Consume(runCtx, d.ws, q, d.onDispatch)
	if err != nil {
		return nil, fmt.Errorf("device %s: consume the dispatch queue: %w", d.name, err)
	}
	d.subs = append(d.subs, sub)
	if err := d.beat(ctx); err != nil {
		return nil, fmt.Errorf("device %s: first heartbeat: %w", d.name, err)
	}
	d.wg.Go(d.heartbeats)
	return d, nil
}

// Name is the device's name.
func (d *Device) Name() string { return d.name }

// Close stops the device's work and disconnects.
func (d *Device) Close() error {
	d.stop()
	var errs []error
	for _, s := range d.subs {
		errs = append(errs, s.Close())
	}
	d.wg.Wait()
	errs = append(errs, d.bus.Close())
	return errors.Join(errs...)
}

func (d *Device) heartbeats() {
	t := time.NewTicker(d.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-d.ctx.Done():
			return
		case <-t.C:
		}
		_ = d.beat(d.ctx) // a lost heartbeat is made up for by the next
	}
}

func (d *Device) beat(ctx context.Context) error {
	d.mu.Lock()
	running := 0
	for _, x := range d.execs {
		if !x.ended {
			running++
		}
	}
	d.mu.Unlock()
	body, err := wire.Encode(wire.Heartbeat{
		Device: d.name, OS: runtime.GOOS, Arch: runtime.GOARCH, Version: "bench",
		Running: running, Time: time.Now(), Interval: d.cfg.HeartbeatInterval,
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return d.bus.Publish(ctx, d.ws, bus.Message{Key: bus.HeartbeatKey(d.name), Body: body})
}

// onDispatch acks a dispatch once it is taken, as the daemon acks once the
// execution is recorded and queued, and runs it on a goroutine.
func (d *Device) onDispatch(dl bus.Delivery) {
	var disp wire.Dispatch
	err := wire.Decode(dl.Body, &disp)
	if err == nil {
		err = disp.Validate()
	}
	if err != nil {
		_ = dl.Ack() // the daemon drops what can never run
		return
	}
	d.mu.Lock()
	_, known := d.execs[disp.Execution]
	if !known {
		d.execs[disp.Execution] = &execution{}
	}
	d.mu.Unlock()
	_ = dl.Ack() // a failed ack brings it again, and known drops it then
	if !known {
		d.mu.Lock()
		d.times = Times{Taken: time.Now()}
		d.mu.Unlock()
	}
	if !known {
		d.wg.Go(func() { d.run(disp) })
	}
}

// run reports the execution Running, publishes its one output frame and
// the end marker, and reports it Finished: what the daemon sends for a job
// that prints one line.
func (d *Device) run(disp wire.Dispatch) {
	e := runlet.Execution{
		ID: disp.Execution, Job: disp.Job, Client: disp.Client, Device: d.name,
		Status: runlet.StatusRunning, Created: disp.Created, Scheduled: disp.Scheduled, Started: time.Now(),
	}
	if !d.report(e, 0) {
		return
	}
	d.mu.Lock()
	d.times.RunningConfirmed = time.Now()
	d.mu.Unlock()
	key := bus.OutputKey(disp.Execution, d.name)
	fr := wire.Frame{Seq: 1, Time: time.Now(), Data: d.cfg.Output(d.name)}
	d.mu.Lock()
	x := d.execs[disp.Execution]
	x.frames = append(x.frames, fr)
	d.mu.Unlock()
	d.publish(wire.FrameMessage(key, fr))
	d.mu.Lock()
	x.ended = true
	d.mu.Unlock()
	d.publish(wire.EndMessage(key, fr.Seq))
	e.Status, e.Finished = runlet.StatusFinished, time.Now()
	if d.report(e, fr.Seq) {
		d.mu.Lock()
		d.times.Finished = time.Now()
		d.mu.Unlock()
	}
}

// report publishes a status durably, retrying until the broker confirms
// as the daemon's outbox does (which also keeps it on disk meanwhile). It
// reports false when the device is closing.
func (d *Device) report(e runlet.Execution, last uint64) bool {
	body, err := wire.Encode(wire.Status{Execution: e, LastSeq: last})
	if err != nil {
		return false
	}
	m := bus.Message{
		// The daemon's statusMessageID: the broker and the server drop a
		// status sent twice.
		ID:  e.ID + "/" + e.Device + "/" + string(e.Status),
		Key: bus.StatusKey(e.ID, e.Device),
	}
	wait := 100 * time.Millisecond
	for {
		m.Body = body
		ctx, cancel := context.WithTimeout(d.ctx, 10*time.Second)
		err := d.bus.PublishDurable(ctx, d.ws, m)
		cancel()
		if err == nil {
			return true
		}
		select {
		case <-d.ctx.Done():
			return false
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// publish sends a transient message; viewers recover a lost one by replay.
func (d *Device) publish(m bus.Message) {
	ctx, cancel := context.WithTimeout(d.ctx, 5*time.Second)
	defer cancel()
	_ = d.bus.Publish(ctx, d.ws, m)
}

// onControl answers replay requests; stop, kill and resize have nothing
// to act on, as every execution ends at once.
func (d *Device) onControl(m bus.Message) {
	exec := execOfKey(m.Key)
	var c wire.Control
	if err := wire.Decode(m.Body, &c); err != nil || c.Validate() != nil || exec == "" || c.Op != wire.OpReplay {
		return
	}
	d.mu.Lock()
	x := d.execs[exec]
	var frames []wire.Frame
	ended := false
	if x != nil {
		frames, ended = append(frames, x.frames...), x.ended
	}
	d.mu.Unlock()
	if x == nil {
		return // not taken yet: the viewer gets the live output
	}
	d.wg.Go(func() {
		key := bus.ReplayKey(exec, d.name, c.Viewer)
		var last uint64
		for _, fr := range frames {
			last = fr.Seq
			if fr.Seq >= c.From {
				d.publish(wire.FrameMessage(key, fr))
			}
		}
		if ended {
			d.publish(wire.EndMessage(key, last))
		} else {
			d.publish(wire.ReplayedMessage(key, last))
		}
	})
}

// execOfKey is the execution of a job key, as the daemon reads it.
func execOfKey(k bus.Key) string {
	j, ok := bus.ParseJobKey(k)
	if !ok || strings.ContainsAny(j.Exec, "/\\") {
		return ""
	}
	return j.Exec
}
