package intake_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/bus/nats/embedded"
	"github.com/runlet/runlet/intake"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/store"
	"github.com/runlet/runlet/store/sqlite"
	"github.com/runlet/runlet/wire"
)

// patience bounds every wait for the broker or the store: generous, as the
// tests run under -race on a loaded machine, and only reached on failure.
const patience = 30 * time.Second

var quiet = slog.New(slog.DiscardHandler)

// clock is the tests' time: it moves only when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is what an intake takes in: a SQLite store and the server's
// connection to the embedded NATS broker, with a workspace "acme" whose
// devices are pi and mac.
type env struct {
	ctx   context.Context
	clock *clock
	db    store.Store
	bus   bus.Bus
	ws    string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*patience)
	t.Cleanup(cancel)
	e := &env{ctx: ctx, clock: &clock{t: time.Now().UTC().Truncate(time.Millisecond)}}
	db, err := sqlite.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "runlet.db"), store.Options{Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e.db = db
	ns, err := embedded.Start(embedded.Config{
		Dir: t.TempDir(), Addr: "127.0.0.1:0", Logger: quiet,
		// Only the server's in-process connection comes in here; the
		// tests publish what devices would.
		Authenticator: func(user, _ string) (bus.Principal, error) {
			return bus.Principal{}, errors.New("no clients in this test")
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	b, err := ns.Bus(ctx, bus.Options{Name: "runlet-server", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	e.bus = b
	e.ws = e.workspace(t, "acme")
	for _, name := range []string{"pi", "mac"} {
		if err := db.CreateDevice(ctx, &runlet.Device{Workspace: e.ws, Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// workspace creates a workspace in the store, behind any intake's back.
func (e *env) workspace(t *testing.T, name string) string {
	t.Helper()
	w := &runlet.Workspace{Name: name}
	if err := e.db.CreateWorkspace(e.ctx, w); err != nil {
		t.Fatal(err)
	}
	return w.ID
}

// intake returns an intake on the env, not started, closed at the end.
func (e *env) intake(t *testing.T, sweep time.Duration) *intake.Service {
	t.Helper()
	in, err := intake.New(intake.Config{Store: e.db, Bus: e.bus, SweepInterval: sweep, Now: e.clock.Now, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(in.Close)
	return in
}

// probe is a registered consumer that counts its starts and its
// subscriptions' closes per workspace, and tells of each start.
type probe struct {
	b       bus.Bus
	mu      sync.Mutex
	started map[string]int
	closed  map[string]int
	starts  chan string
}

func newProbe(b bus.Bus) *probe {
	return &probe{b: b, started: map[string]int{}, closed: map[string]int{}, starts: make(chan string, 64)}
}

func (p *probe) consumer(ctx context.Context, ws string) (bus.Subscription, error) {
	sub, err := p.b.Subscribe(ctx, ws, bus.EventKey, func(bus.Message) {})
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.started[ws]++
	p.mu.Unlock()
	p.starts <- ws
	return &probeSub{Subscription: sub, p: p, ws: ws}, nil
}

func (p *probe) counts(ws string) (started, closed int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.started[ws], p.closed[ws]
}

type probeSub struct {
	bus.Subscription
	p  *probe
	ws string
}

func (s *probeSub) Close() error {
	s.p.mu.Lock()
	s.p.closed[s.ws]++
	s.p.mu.Unlock()
	return s.Subscription.Close()
}

// awaitStart waits until the probe has started for ws.
func (p *probe) awaitStart(t *testing.T, ws string) {
	t.Helper()
	deadline := time.After(patience)
	for {
		select {
		case got := <-p.starts:
			if got == ws {
				return
			}
		case <-deadline:
			t.Fatalf("timed out after %v waiting for the consumer of workspace %s to start", patience, ws)
		}
	}
}

// events delivers the workspace's events from the moment it returns.
func (e *env) events(t *testing.T, ws string) <-chan wire.Event {
	t.Helper()
	ch := make(chan wire.Event, 64)
	sub, err := e.bus.Subscribe(e.ctx, ws, bus.EventKey, func(m bus.Message) {
		var ev wire.Event
		if err := wire.Decode(m.Body, &ev); err != nil {
			t.Errorf("event: %v", err)
		}
		ch <- ev
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
	return ch
}

// nextEvent waits for the next event that keep accepts, skipping others.
func nextEvent(t *testing.T, ch <-chan wire.Event, what string, keep func(wire.Event) bool) wire.Event {
	t.Helper()
	deadline := time.After(patience)
	for {
		select {
		case ev := <-ch:
			if keep(ev) {
				return ev
			}
		case <-deadline:
			t.Fatalf("timed out after %v waiting for %s", patience, what)
		}
	}
}

func publish(t *testing.T, e *env, durable bool, key bus.Key, v any) {
	t.Helper()
	body, err := wire.Encode(v)
	if err != nil {
		t.Fatal(err)
	}
	m := bus.Message{Key: key, Body: body}
	if durable {
		err = e.bus.PublishDurable(e.ctx, e.ws, m)
	} else {
		err = e.bus.Publish(e.ctx, e.ws, m)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// A registered consumer starts once for each workspace: those in the
// store at Start, one attached later (however often, however
// concurrently), one the sweep finds; Close closes each of them and
// refuses attaching more.
func TestConsumersStartOncePerWorkspace(t *testing.T) {
	e := newEnv(t)
	beta := e.workspace(t, "beta")
	p := newProbe(e.bus)
	// A short sweep, so that its attaching races with the test's.
	in := e.intake(t, 5*time.Millisecond)
	in.Register("probe", p.consumer)
	if err := in.Start(e.ctx); err != nil {
		t.Fatal(err)
	}
	for _, ws := range []string{e.ws, beta} {
		if started, _ := p.counts(ws); started != 1 {
			t.Errorf("after Start the consumer of %s started %d times, want 1", ws, started)
		}
	}

	gamma := e.workspace(t, "gamma")
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if err := in.Attach(e.ctx, gamma); err != nil {
				t.Errorf("Attach: %v", err)
			}
		})
	}
	wg.Wait()
	if err := in.Attach(e.ctx, e.ws); err != nil {
		t.Fatal(err)
	}
	delta := e.workspace(t, "delta")
	p.awaitStart(t, delta) // the sweep attaches it

	in.Close()
	for _, ws := range []string{e.ws, beta, gamma, delta} {
		if started, closed := p.counts(ws); started != 1 || closed != 1 {
			t.Errorf("workspace %s: consumer started %d times and closed %d, want once each", ws, started, closed)
		}
	}
	for _, ws := range []string{e.ws, e.workspace(t, "epsilon")} {
		if err := in.Attach(e.ctx, ws); runlet.ErrorCode(err) != runlet.EUNAVAILABLE {
			t.Errorf("Attach of %s after Close = %v, want EUNAVAILABLE", ws, err)
		}
	}
	if started, _ := p.counts(e.ws); started != 1 {
		t.Errorf("the consumer of %s started %d times, want 1", e.ws, started)
	}
}

// A status moves its execution forward in the store; one whose body
// speaks for another execution or device than its key (the sender the
// broker vouches for) changes nothing.
func TestStatusMovesTheExecution(t *testing.T) {
	e := newEnv(t)
	in := e.intake(t, 0)
	if err := in.Start(e.ctx); err != nil {
		t.Fatal(err)
	}
	events := e.events(t, e.ws)
	id, other := store.NewID(), store.NewID()
	for _, x := range []*runlet.Execution{
		{ID: id, Device: "pi"}, {ID: id, Device: "mac"}, {ID: other, Device: "pi"},
	} {
		x.Job, x.Client, x.Workspace, x.Status = "hello", "scheduler", e.ws, runlet.StatusPending
		if err := e.db.CreateExecution(e.ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	started := e.clock.Now().Add(-time.Second)
	running := func(x runlet.Execution) wire.Status {
		x.Status, x.Started = runlet.StatusRunning, started
		return wire.Status{Execution: x}
	}
	// pi's key, in mac's name or of another execution: dropped.
	publish(t, e, true, bus.StatusKey(id, "pi"), running(runlet.Execution{Device: "mac"}))
	publish(t, e, true, bus.StatusKey(id, "pi"), running(runlet.Execution{ID: other}))
	// Then pi's own, after them on the one status queue.
	publish(t, e, true, bus.StatusKey(id, "pi"), running(runlet.Execution{}))

	testenv.Eventually(t, "pi's target Running", patience, func() bool {
		x, err := e.db.Execution(e.ctx, e.ws, id, "pi")
		if err != nil {
			t.Fatal(err)
		}
		return x.Status == runlet.StatusRunning
	})
	if x, _ := e.db.Execution(e.ctx, e.ws, id, "pi"); !x.Started.Equal(started) {
		t.Errorf("pi's target started %v, want %v, the device's time", x.Started, started)
	}
	// The queue delivers in order, one at a time: the forged statuses
	// were handled before pi's own was applied.
	for _, k := range []struct{ id, device string }{{id, "mac"}, {other, "pi"}} {
		x, err := e.db.Execution(e.ctx, e.ws, k.id, k.device)
		if err != nil {
			t.Fatal(err)
		}
		if x.Status != runlet.StatusPending {
			t.Errorf("execution %s on %s is %s after a status in its name from another sender, want Pending", k.id, k.device, x.Status)
		}
	}
	ev := nextEvent(t, events, "the event of pi's Running", func(ev wire.Event) bool {
		return ev.Type == wire.EventExecution && ev.Execution != nil && ev.Execution.ID == id
	})
	if ev.Execution.Device != "pi" || ev.Execution.Status != runlet.StatusRunning {
		t.Errorf("event %+v, want pi's target Running", *ev.Execution)
	}
}

// A heartbeat puts its device online; three of its intervals without one
// and it is offline, which the sweep announces; DeviceRemoved forgets it.
// Time is the test's clock; the sweep's ticker only sets the pace.
func TestPresence(t *testing.T) {
	e := newEnv(t)
	p := newProbe(e.bus)
	in := e.intake(t, 5*time.Millisecond)
	in.Register("probe", p.consumer)
	if err := in.Start(e.ctx); err != nil {
		t.Fatal(err)
	}
	events := e.events(t, e.ws)
	const interval = time.Second
	isPi := func(online bool) func(wire.Event) bool {
		return func(ev wire.Event) bool {
			return ev.Type == wire.EventDevice && ev.Device == "pi" && ev.Online != nil && *ev.Online == online
		}
	}
	// sweepsPassed returns once a whole sweep ran after it was called: a
	// sweep attached a workspace created after an earlier sweep ended.
	sweepsPassed := func() {
		t.Helper()
		for range 2 {
			p.awaitStart(t, e.workspace(t, testenv.RandomName("probe-")))
		}
	}
	// fence returns once every event published before it has arrived:
	// the intake publishes them on one connection, in order.
	fence := func() {
		t.Helper()
		in.Event(e.ws, wire.Event{Type: wire.EventDevice, Device: "fence"})
		for {
			ev := nextEvent(t, events, "the fence event", func(wire.Event) bool { return true })
			if ev.Device == "fence" {
				return
			}
			if isPi(false)(ev) {
				t.Fatalf("pi reported offline too early, at %v", e.clock.Now())
			}
		}
	}

	if _, online := in.Presence(e.ws, "pi"); online {
		t.Fatal("pi online before any heartbeat")
	}
	// A heartbeat on pi's key in mac's name is refused; mac's own is not.
	publish(t, e, false, bus.HeartbeatKey("pi"), wire.Heartbeat{Device: "mac", Interval: interval})
	publish(t, e, false, bus.HeartbeatKey("mac"), wire.Heartbeat{Interval: interval})
	testenv.Eventually(t, "mac online", patience, func() bool { _, ok := in.Presence(e.ws, "mac"); return ok })
	if _, online := in.Presence(e.ws, "pi"); online {
		t.Error("pi online after a heartbeat in mac's name")
	}

	seen := e.clock.Now()
	publish(t, e, false, bus.HeartbeatKey("pi"), wire.Heartbeat{OS: "linux", Arch: "arm64", Version: "1.2.3", Running: 1, Interval: interval})
	testenv.Eventually(t, "pi online", patience, func() bool { _, ok := in.Presence(e.ws, "pi"); return ok })
	if hb, _ := in.Presence(e.ws, "pi"); hb.Device != "pi" || hb.Running != 1 {
		t.Errorf("pi's presence %+v, want its heartbeat", hb)
	}
	if got := in.LastSeen(e.ws, "pi"); !got.Equal(seen) {
		t.Errorf("pi last seen %v, want %v", got, seen)
	}
	// The record is refreshed before the device shows online.
	if d, err := e.db.DeviceByName(e.ctx, e.ws, "pi"); err != nil || !d.LastSeen.Equal(seen) || d.OS != "linux" || d.Arch != "arm64" || d.Version != "1.2.3" {
		t.Errorf("pi's record %+v (%v), want seen %v on linux/arm64 1.2.3", d, err, seen)
	}
	nextEvent(t, events, "pi online", isPi(true))

	// Just short of three intervals, pi is online, and no sweep says
	// otherwise.
	e.clock.Add(3*interval - time.Millisecond)
	if _, online := in.Presence(e.ws, "pi"); !online {
		t.Error("pi offline before three intervals passed")
	}
	sweepsPassed()
	fence()

	e.clock.Add(time.Millisecond)
	if _, online := in.Presence(e.ws, "pi"); online {
		t.Error("pi online three intervals after its last heartbeat")
	}
	nextEvent(t, events, "the sweep to report pi offline", isPi(false))

	// Back again, then signed out: forgotten, and its queue gone.
	publish(t, e, false, bus.HeartbeatKey("pi"), wire.Heartbeat{Interval: interval})
	nextEvent(t, events, "pi online again", isPi(true))
	in.DeviceRemoved(e.ctx, e.ws, "pi")
	if _, online := in.Presence(e.ws, "pi"); online {
		t.Error("pi online after DeviceRemoved")
	}
	if got := in.LastSeen(e.ws, "pi"); !got.IsZero() {
		t.Errorf("pi last seen %v after DeviceRemoved, want never", got)
	}
	err := e.bus.PublishDurable(e.ctx, e.ws, bus.Message{Key: bus.DispatchKey("pi"), Body: []byte("{}")})
	if !errors.Is(err, bus.ErrNoQueue) {
		t.Errorf("a dispatch to pi after DeviceRemoved: %v, want ErrNoQueue (its queue deleted)", err)
	}
}

// TestLeavingHeartbeat: a daemon that stops says so in its last
// heartbeat, and the device is offline at once, with its event, without
// the clock moving; its next heartbeat brings it back.
func TestLeavingHeartbeat(t *testing.T) {
	e := newEnv(t)
	in := e.intake(t, time.Hour) // no sweep: only the heartbeat can say it
	if err := in.Start(e.ctx); err != nil {
		t.Fatal(err)
	}
	events := e.events(t, e.ws)
	isPi := func(online bool) func(wire.Event) bool {
		return func(ev wire.Event) bool {
			return ev.Type == wire.EventDevice && ev.Device == "pi" && ev.Online != nil && *ev.Online == online
		}
	}
	publish(t, e, false, bus.HeartbeatKey("pi"), wire.Heartbeat{Interval: time.Minute})
	nextEvent(t, events, "pi online", isPi(true))
	publish(t, e, false, bus.HeartbeatKey("pi"), wire.Heartbeat{Interval: time.Minute, Leaving: true})
	nextEvent(t, events, "pi offline at its leaving heartbeat", isPi(false))
	if _, online := in.Presence(e.ws, "pi"); online {
		t.Error("pi online after its leaving heartbeat")
	}
	if in.LastSeen(e.ws, "pi").IsZero() {
		t.Error("the leaving heartbeat forgot when pi was last seen")
	}
	publish(t, e, false, bus.HeartbeatKey("pi"), wire.Heartbeat{Interval: time.Minute})
	nextEvent(t, events, "pi online again", isPi(true))
}
