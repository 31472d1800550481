// Package viewer follows one execution on one device over the bus, the way
// every Runlet viewer (attach, run, the web) does: it subscribes to the live
// output and to its own replay key, asks the device to replay from the first
// frame, and delivers frames strictly in sequence, without gaps or
// duplicates, until the end marker; and it sends keystrokes, window sizes,
// stop and kill to the device.
package viewer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/wire"
)

// DefaultSilence is how long a viewer waits without hearing anything
// before it asks the device for a replay again: the device may have been
// away, or the end marker lost.
const DefaultSilence = 5 * time.Second

// ErrLogEncrypted is what Follow returns (wrapped) when the device
// answers a replay with the frames the viewer still lacks only in the
// run's encrypted log (R-LOG-1: once a run has ended and its encrypted log
// is complete, the device keeps no plaintext): the frames delivered so far
// are all this viewer will get, and the caller switches to reading the
// encrypted log (the CLI's `runlet logs`, the web's log panel), from
// the last sequence number Follow returned + 1.
var ErrLogEncrypted = errors.New("the rest of this run's output is in its encrypted log only")

// Config names the execution a Viewer follows.
type Config struct {
	Workspace string // the workspace's id
	Execution string
	Device    string // the name of the device the execution runs on
	// ID names this viewer: the device sends its replays to
	// bus.ReplayKey(..., ID) and input carries it. Empty means a random
	// one; two viewers must not share one.
	ID string
	// From is the first frame sequence number wanted: frames before it are
	// never delivered and the first replay starts there. Zero means 1, the
	// whole output; a viewer that reconnects passes its last seq + 1.
	From uint64
	// Silence is how long to wait for any message before asking for a
	// replay again. Zero means DefaultSilence.
	Silence time.Duration
	Logger  *slog.Logger
}

// Viewer follows one execution on one device. Follow may run once; Input,
// Resize, Stop and Kill may be called from any goroutine, before, during or
// after it.
type Viewer struct {
	bus       bus.Bus
	cfg       Config
	log       *slog.Logger
	inputSeq  atomic.Uint64
	following atomic.Bool
}

// New returns a Viewer of the execution in cfg on b.
func New(b bus.Bus, cfg Config) *Viewer {
	if cfg.ID == "" {
		cfg.ID = RandomID("viewer")
	}
	if cfg.Silence <= 0 {
		cfg.Silence = DefaultSilence
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("execution", cfg.Execution, "device", cfg.Device, "viewer", cfg.ID)
	return &Viewer{bus: b, cfg: cfg, log: log}
}

// Follow is New(b, ...).Follow(ctx, out) for a viewer that only watches.
func Follow(ctx context.Context, b bus.Bus, workspace, exec, device, viewerID string, out func(wire.Frame) error) (last uint64, err error) {
	v := New(b, Config{Workspace: workspace, Execution: exec, Device: device, ID: viewerID})
	return v.Follow(ctx, out)
}

// RandomID is prefix followed by a random suffix: a viewer id that no
// other viewer has.
func RandomID(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// ID is the viewer's id.
func (v *Viewer) ID() string { return v.cfg.ID }

// event is a message from one of the two subscriptions.
type event struct {
	msg    bus.Message
	replay bool
}

// Follow calls out with every frame of the execution's output, in order,
// from Config.From, and returns the last sequence number once the end marker's
// frame was delivered. It returns early with out's error, or ctx's.
func (v *Viewer) Follow(ctx context.Context, out func(wire.Frame) error) (last uint64, err error) {
	if v.following.Swap(true) {
		return 0, errors.New("viewer: Follow called twice on one viewer")
	}
	ctx, cancel := context.WithCancel(ctx)
	events := make(chan event, 256)
	handler := func(replay bool) bus.Handler {
		return func(m bus.Message) {
			select {
			case events <- event{msg: m, replay: replay}:
			case <-ctx.Done():
			}
		}
	}
	c := v.cfg
	keys := []struct {
		key    bus.Key
		replay bool
	}{
		{bus.OutputKey(c.Execution, c.Device), false},
		{bus.ReplayKey(c.Execution, c.Device, c.ID), true},
	}
	// Both subscriptions at once: on AMQP each is several round trips, and
	// the replay is asked for only once both are in place.
	subs := make([]bus.Subscription, len(keys))
	errs := make([]error, len(keys))
	var wg sync.WaitGroup
	for i, k := range keys {
		wg.Go(func() { subs[i], errs[i] = v.bus.Subscribe(ctx, c.Workspace, k.key, handler(k.replay)) })
	}
	wg.Wait()
	// cancel before Close: a handler blocked on events must be let go.
	defer func() {
		cancel()
		for _, s := range subs {
			if s != nil {
				_ = s.Close()
			}
		}
	}()
	if err := errors.Join(errs...); err != nil {
		return 0, fmt.Errorf("follow execution %s on %s: %w", c.Execution, c.Device, err)
	}
	seq := newSequencer()
	if c.From > 1 {
		seq.next = c.From
	}
	f := &follower{v: v, seq: seq, out: out}
	return f.run(ctx, events)
}

// follower is the state of one Follow.
type follower struct {
	v         *Viewer
	seq       *sequencer
	out       func(wire.Frame) error
	replaying bool // a replay was asked for and has not ended yet
}

func (f *follower) run(ctx context.Context, events <-chan event) (uint64, error) {
	silence := time.NewTimer(f.v.cfg.Silence)
	defer silence.Stop()
	if err := f.askReplay(ctx); err != nil {
		return 0, err
	}
	for {
		select {
		case <-ctx.Done():
			return f.seq.delivered(), ctx.Err()
		case <-silence.C:
			f.v.log.Debug("no output for a while; asking for a replay", "from", f.seq.next)
			if err := f.askReplay(ctx); err != nil {
				return f.seq.delivered(), err
			}
		case ev := <-events:
			if err := f.handle(ctx, ev); err != nil {
				return f.seq.delivered(), err
			}
		}
		if f.seq.done() {
			return f.seq.last, nil
		}
		silence.Reset(f.v.cfg.Silence)
	}
}

// handle applies one message and asks for a replay when it shows a gap
// that no running replay will fill.
func (f *follower) handle(ctx context.Context, ev event) error {
	if last, ok := wire.ParseReplayed(ev.msg); ok {
		f.replaying = false
		// Frames up to last were sent; any still missing were lost.
		if f.seq.gap() || last >= f.seq.next {
			return f.askReplay(ctx)
		}
		return nil
	}
	fr, end, last, err := wire.ParseOutput(ev.msg)
	if err != nil {
		f.v.log.Warn("ignoring a malformed output message", "err", err)
		return nil
	}
	if end {
		f.seq.end(last)
		if ev.replay {
			f.replaying = false
		}
		if wire.LogEncrypted(ev.msg) && !f.seq.done() {
			return fmt.Errorf("follow execution %s on %s after frame %d: %w",
				f.v.cfg.Execution, f.v.cfg.Device, f.seq.delivered(), ErrLogEncrypted)
		}
	} else {
		for _, g := range f.seq.add(fr) {
			if err := f.out(g); err != nil {
				return err
			}
		}
	}
	if f.seq.gap() && !f.replaying {
		return f.askReplay(ctx)
	}
	return nil
}

// askReplay asks the device to resend every frame from the next one missing.
func (f *follower) askReplay(ctx context.Context) error {
	f.replaying = true
	return f.v.control(ctx, wire.Control{Op: wire.OpReplay, From: f.seq.next, Viewer: f.v.cfg.ID})
}

// Input sends keystrokes to the execution, numbered per viewer.
func (v *Viewer) Input(ctx context.Context, data []byte) error {
	c := v.cfg
	m := wire.InputMessage(bus.InputKey(c.Execution, c.Device), c.ID, v.inputSeq.Add(1), data)
	if err := v.bus.Publish(ctx, c.Workspace, m); err != nil {
		return fmt.Errorf("send input to %s: %w", c.Device, err)
	}
	return nil
}

// Resize tells the device the viewer's window size, when it opens and
// each time it changes. The job takes the size of the viewer that acted
// most recently (wire.Control): this one's at once if it did, else once it
// types or activates.
func (v *Viewer) Resize(ctx context.Context, size runlet.Size) error {
	return v.control(ctx, wire.Control{Op: wire.OpResize, Size: size, Viewer: v.cfg.ID})
}

// Activate tells the device the viewer's window size and that its person
// acts now, as typing does: the job takes that size at once, and a
// full-screen program redraws for it. A CLI attaching to type does it; a
// viewer that only watches does not.
func (v *Viewer) Activate(ctx context.Context, size runlet.Size) error {
	return v.control(ctx, wire.Control{Op: wire.OpResize, Size: size, Viewer: v.cfg.ID, Active: true})
}

// Stop asks the device to stop the execution (SIGTERM, then SIGKILL).
func (v *Viewer) Stop(ctx context.Context) error {
	return v.control(ctx, wire.Control{Op: wire.OpStop})
}

// Kill asks the device to kill the execution now.
func (v *Viewer) Kill(ctx context.Context) error {
	return v.control(ctx, wire.Control{Op: wire.OpKill})
}

func (v *Viewer) control(ctx context.Context, c wire.Control) error {
	if c.By == "" {
		c.By = v.cfg.ID
	}
	m, err := wire.ControlMessage(bus.ControlKey(v.cfg.Execution, v.cfg.Device), c)
	if err != nil {
		return err
	}
	if err := v.bus.Publish(ctx, v.cfg.Workspace, m); err != nil {
		return fmt.Errorf("send %s to %s: %w", c.Op, v.cfg.Device, err)
	}
	return nil
}
