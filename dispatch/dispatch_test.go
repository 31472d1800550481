package dispatch_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/bus/nats/embedded"
	"github.com/runlet/runlet/dispatch"
	"github.com/runlet/runlet/intake"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/jobspec"
	"github.com/runlet/runlet/store"
	"github.com/runlet/runlet/store/sqlite"
	"github.com/runlet/runlet/wire"
)

// patience bounds every wait for the broker or the store: generous, as the
// tests run under -race on a loaded machine, and only reached on failure.
const patience = 30 * time.Second

var quiet = slog.New(slog.DiscardHandler)

const jobsYAML = `hello:
  script: echo hi {{ index .Args 1 }}
  where: all
here:
  script: hostname
  where: local
anywhere:
  script: uptime
  where: any
`

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

// env is a server's parts, real ones: a SQLite store, the embedded NATS
// broker, the server's connection to it, the intake, and the dispatch
// service under test, with a workspace "acme" whose devices are pi and mac
// and whose job set is jobsYAML.
type env struct {
	ctx    context.Context
	clock  *clock
	db     store.Store
	ns     *embedded.Server
	bus    bus.Bus
	intake *intake.Service
	ws     string
	checks atomic.Int32 // calls of Config.CheckBroker
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*patience)
	t.Cleanup(cancel)
	// The clock starts at the wall clock's time: the broker drops a
	// dispatch past its expiry by its own clock.
	e := &env{ctx: ctx, clock: &clock{t: time.Now().UTC().Truncate(time.Millisecond)}}
	db, err := sqlite.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "runlet.db"), store.Options{Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e.db = db
	ns, err := embedded.Start(embedded.Config{
		Dir: t.TempDir(), Addr: "127.0.0.1:0", Logger: quiet,
		// Only the server's in-process connection comes in here; no
		// device signs in.
		Authenticator: func(user, _ string) (bus.Principal, error) {
			return bus.Principal{}, errors.New("no clients in this test")
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	e.ns = ns
	e.bus = e.connect(t)

	w := &runlet.Workspace{Name: "acme"}
	if err := db.CreateWorkspace(ctx, w); err != nil {
		t.Fatal(err)
	}
	e.ws = w.ID
	for _, name := range []string{"pi", "mac"} {
		if err := db.CreateDevice(ctx, &runlet.Device{Workspace: e.ws, Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.PutJobs(ctx, e.ws, []byte(jobsYAML), 0); err != nil {
		t.Fatal(err)
	}

	in, err := intake.New(intake.Config{Store: db, Bus: e.bus, Now: e.clock.Now, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(in.Close)
	e.intake = in
	return e
}

// connect opens a connection of the server's to the broker.
func (e *env) connect(t *testing.T) bus.Bus {
	t.Helper()
	b, err := e.ns.Bus(e.ctx, bus.Options{Name: "runlet-server", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// service is the dispatch service on b, told of events and workspaces by
// the intake as the server wires it.
func (e *env) service(t *testing.T, b bus.Bus) *dispatch.Service {
	t.Helper()
	s, err := dispatch.New(dispatch.Config{
		Store: e.db, Bus: b, Events: e.intake, Workspaces: e.intake,
		BrokerStore: "the test broker", CheckBroker: func() { e.checks.Add(1) },
		Now: e.clock.Now, Logger: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// queued delivers the dispatches that reach device's durable queue, as
// the device's daemon takes them.
func (e *env) queued(t *testing.T, device string) <-chan wire.Dispatch {
	t.Helper()
	ch := make(chan wire.Dispatch, 16)
	sub, err := e.bus.Consume(e.ctx, e.ws, bus.DeviceQueue(device), func(d bus.Delivery) {
		var w wire.Dispatch
		if err := wire.Decode(d.Body, &w); err != nil {
			t.Errorf("dispatch for %s: %v", device, err)
		}
		if d.Key != bus.DispatchKey(device) {
			t.Errorf("dispatch for %s came on %s", device, d.Key)
		}
		_ = d.Ack()
		ch <- w
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
	return ch
}

// events delivers the workspace's events from the moment it returns.
func (e *env) events(t *testing.T) <-chan wire.Event {
	t.Helper()
	ch := make(chan wire.Event, 64)
	sub, err := e.bus.Subscribe(e.ctx, e.ws, bus.EventKey, func(m bus.Message) {
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

// controlMsg is a control request and the key it came on.
type controlMsg struct {
	key bus.Key
	c   wire.Control
}

// controls delivers every control request of the workspace.
func (e *env) controls(t *testing.T) <-chan controlMsg {
	t.Helper()
	ch := make(chan controlMsg, 16)
	sub, err := e.bus.Subscribe(e.ctx, e.ws, bus.AllControl, func(m bus.Message) {
		var c wire.Control
		if err := wire.Decode(m.Body, &c); err != nil {
			t.Errorf("control: %v", err)
		}
		ch <- controlMsg{m.Key, c}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
	return ch
}

// heartbeat publishes a device's presence, as its daemon does.
func (e *env) heartbeat(t *testing.T, hb wire.Heartbeat) {
	t.Helper()
	body, err := wire.Encode(hb)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.bus.Publish(e.ctx, e.ws, bus.Message{Key: bus.HeartbeatKey(hb.Device), Body: body}); err != nil {
		t.Fatal(err)
	}
}

func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(patience):
		t.Fatalf("timed out after %v waiting for %s", patience, what)
		panic("unreachable")
	}
}

// executionEvents waits for one execution event of id per device and
// returns them by device; other events are skipped.
func executionEvents(t *testing.T, ch <-chan wire.Event, id string, devices ...string) map[string]runlet.Execution {
	t.Helper()
	got := map[string]runlet.Execution{}
	for len(got) < len(devices) {
		ev := receive(t, ch, "execution events of "+id+" on "+strings.Join(devices, ", "))
		if ev.Type != wire.EventExecution || ev.Execution == nil || ev.Execution.ID != id {
			continue
		}
		if !slices.Contains(devices, ev.Execution.Device) {
			t.Errorf("event of %s on %s; want only %v", id, ev.Execution.Device, devices)
			continue
		}
		got[ev.Execution.Device] = *ev.Execution
	}
	return got
}

// targets returns the store's records of the execution, by device.
func (e *env) targets(t *testing.T, id string) map[string]runlet.Execution {
	t.Helper()
	ts, err := e.db.ExecutionTargets(e.ctx, e.ws, id)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]runlet.Execution{}
	for _, x := range ts {
		m[x.Device] = x
	}
	return m
}

func devicesOf(ts []runlet.Execution) []string {
	var names []string
	for _, x := range ts {
		names = append(names, x.Device)
	}
	slices.Sort(names)
	return names
}

// wantError fails t unless err has the code and its message holds every
// one of parts.
func wantError(t *testing.T, err error, code string, parts ...string) {
	t.Helper()
	if runlet.ErrorCode(err) != code {
		t.Fatalf("err = %v (code %q), want code %q", err, runlet.ErrorCode(err), code)
	}
	msg := runlet.ErrorMessage(err)
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Errorf("message %q lacks %q", msg, p)
		}
	}
}

// A system actor starts a run with no HTTP request in sight: every target
// is recorded Pending in its name, the rendered dispatch waits on each
// device's durable queue, and the workspace hears of each target.
func TestSystemRunQueuesEveryTarget(t *testing.T) {
	e := newEnv(t)
	s := e.service(t, e.bus)
	events := e.events(t)
	queues := map[string]<-chan wire.Dispatch{"pi": e.queued(t, "pi"), "mac": e.queued(t, "mac")}
	size := &runlet.Size{Cols: 120, Rows: 40}

	run, err := s.Run(e.ctx, dispatch.Request{
		Workspace: e.ws, Client: dispatch.System("scheduler"), Job: "hello", Args: []string{"world"}, Size: size,
	})
	if err != nil {
		t.Fatal(err)
	}
	if run.Execution == "" || run.Job != "hello" {
		t.Fatalf("run = %+v, want an execution of hello", run)
	}
	if got := devicesOf(run.Targets); !slices.Equal(got, []string{"mac", "pi"}) {
		t.Fatalf("run targets %v, want mac and pi (where: all)", got)
	}
	for _, x := range run.Targets {
		if x.ID != run.Execution || x.Status != runlet.StatusPending || x.Client != "scheduler" {
			t.Errorf("returned target %+v, want execution %s Pending by scheduler", x, run.Execution)
		}
	}
	if n := e.checks.Load(); n != 1 {
		t.Errorf("the broker's disk was checked %d times for one run, want 1", n)
	}

	stored := e.targets(t, run.Execution)
	if len(stored) != 2 {
		t.Fatalf("the store has %d targets of %s, want 2: %+v", len(stored), run.Execution, stored)
	}
	for device, x := range stored {
		if x.Status != runlet.StatusPending || x.Client != "scheduler" || x.Job != "hello" {
			t.Errorf("stored target on %s: %+v, want hello Pending by scheduler", device, x)
		}
		if want := e.clock.Now().Add(jobspec.DefaultExpires); !x.Expires.Equal(want) {
			t.Errorf("target on %s expires %v, want %v", device, x.Expires, want)
		}
	}

	for device, q := range queues {
		d := receive(t, q, "the dispatch on "+device+"'s queue")
		if d.Execution != run.Execution || d.Job != "hello" || d.Client != "scheduler" {
			t.Errorf("dispatch on %s: %+v, want execution %s of hello by scheduler", device, d, run.Execution)
		}
		if d.Script != "echo hi world" {
			t.Errorf("dispatch on %s runs %q, want the script rendered with its args, %q", device, d.Script, "echo hi world")
		}
		if d.Size != *size {
			t.Errorf("dispatch on %s has size %+v, want %+v", device, d.Size, *size)
		}
		if !d.Created.Equal(e.clock.Now()) || !d.Expires.Equal(e.clock.Now().Add(jobspec.DefaultExpires)) {
			t.Errorf("dispatch on %s created %v, expires %v; want the clock's time and a day later", device, d.Created, d.Expires)
		}
	}

	for device, x := range executionEvents(t, events, run.Execution, "pi", "mac") {
		if x.Status != runlet.StatusPending || x.Client != "scheduler" {
			t.Errorf("event of the target on %s: %+v, want Pending by scheduler", device, x)
		}
	}
}

// A job that runs "local" runs on the device that starts it; a user or a
// system actor has no device, and is told what to choose instead.
func TestLocalRunsOnTheStartingDevice(t *testing.T) {
	e := newEnv(t)
	s := e.service(t, e.bus)
	pi := e.queued(t, "pi")

	run, err := s.Run(e.ctx, dispatch.Request{Workspace: e.ws, Client: dispatch.Device("pi"), Job: "here"})
	if err != nil {
		t.Fatal(err)
	}
	if got := devicesOf(run.Targets); !slices.Equal(got, []string{"pi"}) {
		t.Fatalf("a local job started by pi targets %v, want pi", got)
	}
	if x := run.Targets[0]; x.Client != "pi" || x.Status != runlet.StatusPending {
		t.Errorf("target %+v, want Pending by pi", x)
	}
	if d := receive(t, pi, "the dispatch on pi's queue"); d.Execution != run.Execution || d.Script != "hostname" {
		t.Errorf("pi got %+v, want execution %s running hostname", d, run.Execution)
	}

	for _, c := range []dispatch.Client{dispatch.User("ann@example.com"), dispatch.System("scheduler")} {
		_, err := s.Run(e.ctx, dispatch.Request{Workspace: e.ws, Client: c, Job: "here"})
		wantError(t, err, runlet.EINVALID, `"here"`, "local", c.Name, "all, any or custom")
	}
	all, err := e.db.ListExecutions(e.ctx, e.ws, store.ExecutionFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all[0].ID != run.Execution {
		t.Errorf("the store has %+v; the refused runs must leave nothing", all)
	}
}

// Runs that cannot start say why, with what the caller needs to fix them.
func TestRefusedRuns(t *testing.T) {
	e := newEnv(t)
	s := e.service(t, e.bus)
	scheduler := dispatch.System("scheduler")
	for _, tc := range []struct {
		name  string
		req   dispatch.Request
		code  string
		parts []string
	}{
		{"unknown job", dispatch.Request{Job: "nope"}, runlet.ENOTFOUND, []string{`"nope"`, "hello, here, anywhere"}},
		{"unknown device", dispatch.Request{Job: "hello", On: []string{"pi,ghost"}}, runlet.EINVALID, []string{"ghost", "mac, pi"}},
		{"unknown device with where", dispatch.Request{Job: "hello", Where: jobspec.WhereCustom, On: []string{"ghost"}}, runlet.EINVALID, []string{"ghost", "mac, pi"}},
		{"any with nobody online", dispatch.Request{Job: "anywhere"}, runlet.EUNAVAILABLE, []string{`"anywhere"`, "none is online"}},
		{"where any overriding the job", dispatch.Request{Job: "hello", Where: jobspec.WhereAny}, runlet.EUNAVAILABLE, []string{"none is online"}},
		{"no client", dispatch.Request{Job: "hello", Client: dispatch.Client{}}, runlet.EINVALID, []string{"client"}},
		{"a pattern that matches nothing", dispatch.Request{Job: "hello", On: []string{"nas-*"}}, runlet.EINVALID, []string{"No device matches nas-*", "mac, pi"}},
		{"a label nobody has", dispatch.Request{Job: "hello", On: []string{"label:gpu"}}, runlet.EINVALID, []string{"No device matches label:gpu"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.Workspace = e.ws
			if tc.name != "no client" {
				tc.req.Client = scheduler
			}
			_, err := s.Run(e.ctx, tc.req)
			wantError(t, err, tc.code, tc.parts...)
		})
	}
	all, err := e.db.ListExecutions(e.ctx, e.ws, store.ExecutionFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 0 {
		t.Errorf("refused runs left executions: %+v", all)
	}
	if err := dispatch.UnknownJob("x", &jobspec.File{}); runlet.ErrorCode(err) != runlet.ENOTFOUND || !strings.Contains(runlet.ErrorMessage(err), "no jobs yet") {
		t.Errorf("UnknownJob in an empty set = %v, want ENOTFOUND saying there are no jobs yet", err)
	}
}

// A job that runs on any device goes to the online one with the least
// work, as its heartbeats tell the intake.
func TestAnyPicksTheLeastLoadedOnlineDevice(t *testing.T) {
	e := newEnv(t)
	s := e.service(t, e.bus)
	e.heartbeat(t, wire.Heartbeat{Device: "pi", Running: 2, Interval: time.Minute})
	e.heartbeat(t, wire.Heartbeat{Device: "mac", Running: 0, Queued: 1, Interval: time.Minute})
	testenv.Eventually(t, "pi and mac online", patience, func() bool {
		_, pi := e.intake.Presence(e.ws, "pi")
		_, mac := e.intake.Presence(e.ws, "mac")
		return pi && mac
	})
	run, err := s.Run(e.ctx, dispatch.Request{Workspace: e.ws, Client: dispatch.User("ann@example.com"), Job: "anywhere"})
	if err != nil {
		t.Fatal(err)
	}
	if got := devicesOf(run.Targets); !slices.Equal(got, []string{"mac"}) {
		t.Errorf("any chose %v, want mac (1 job against pi's 2)", got)
	}
}

// Stop records the stop of every unfinished target and asks its device,
// in the name of who asked; a target already ended is left alone. (A
// target that has not started ends at once: cancel_test.go.)
func TestStopAndKill(t *testing.T) {
	e := newEnv(t)
	s := e.service(t, e.bus)
	controls := e.controls(t)
	ann := dispatch.User("ann@example.com")
	run, err := s.Run(e.ctx, dispatch.Request{Workspace: e.ws, Client: ann, Job: "hello", Args: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	id := run.Execution
	if _, _, err := e.db.UpdateExecutionStatus(e.ctx, e.ws, id, "mac", store.StatusUpdate{Status: runlet.StatusFinished}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.db.UpdateExecutionStatus(e.ctx, e.ws, id, "pi", store.StatusUpdate{Status: runlet.StatusRunning}); err != nil {
		t.Fatal(err)
	}

	if err := s.Stop(e.ctx, e.ws, id, "", ann); err != nil {
		t.Fatal(err)
	}
	m := receive(t, controls, "the stop request")
	if m.key != bus.ControlKey(id, "pi") || m.c.Op != wire.OpStop || m.c.By != ann.Name {
		t.Errorf("control %+v on %s, want stop by %s on %s", m.c, m.key, ann.Name, bus.ControlKey(id, "pi"))
	}
	// The ended target alone: nothing to stop, and the caller hears so.
	wantError(t, s.Stop(e.ctx, e.ws, id, "mac", ann), runlet.ECONFLICT, "already ended", "Finished on mac")
	// The kill follows on the same connection: once it is here, any
	// request for mac would have come before it.
	if err := s.Kill(e.ctx, e.ws, id, "pi", dispatch.System("scheduler")); err != nil {
		t.Fatal(err)
	}
	m = receive(t, controls, "the kill request")
	if m.key != bus.ControlKey(id, "pi") || m.c.Op != wire.OpKill || m.c.By != "scheduler" {
		t.Errorf("control %+v on %s, want kill by scheduler on %s", m.c, m.key, bus.ControlKey(id, "pi"))
	}
	select {
	case m := <-controls:
		t.Errorf("unexpected control %+v on %s: only pi's target was unfinished", m.c, m.key)
	default:
	}

	ts := e.targets(t, id)
	if pi := ts["pi"]; !pi.Killed || pi.Status != runlet.StatusRunning {
		t.Errorf("pi's target %+v, want Running and marked killed", pi)
	}
	if mac := ts["mac"]; mac.Killed || mac.Status != runlet.StatusFinished {
		t.Errorf("mac's target %+v, want Finished and not marked killed", mac)
	}

	_, err = s.Targets(e.ctx, e.ws, "nope", "")
	wantError(t, err, runlet.ENOTFOUND, "nope")
	_, err = s.Targets(e.ctx, e.ws, id, "ghost")
	wantError(t, err, runlet.ENOTFOUND, "ghost", "mac, pi")
	wantError(t, s.Stop(e.ctx, e.ws, "nope", "", ann), runlet.ENOTFOUND, "nope")
	if got, err := s.Targets(e.ctx, e.ws, id, "pi"); err != nil || len(got) != 1 || got[0].Device != "pi" {
		t.Errorf("Targets on pi = %+v, %v; want pi's target", got, err)
	}
}

// A target the broker does not take ends in Error at once, saying why,
// and the run still returns with it.
func TestBrokerRefusalEndsTheTargetInError(t *testing.T) {
	e := newEnv(t)
	events := e.events(t)
	b := e.connect(t)
	s := e.service(t, b)
	b.Close() // the broker's connection is gone when the run is queued

	run, err := s.Run(e.ctx, dispatch.Request{Workspace: e.ws, Client: dispatch.System("scheduler"), Job: "hello", Args: []string{"x"}})
	if err != nil {
		t.Fatalf("a run the broker refused returned %v, want the run with its targets in Error", err)
	}
	if got := devicesOf(run.Targets); !slices.Equal(got, []string{"mac", "pi"}) {
		t.Fatalf("run targets %v, want mac and pi", got)
	}
	check := func(where string, x runlet.Execution) {
		t.Helper()
		if x.Status != runlet.StatusError || x.ExitCode != -1 || !strings.Contains(x.Reason, "the broker did not take the execution") || !strings.Contains(x.Reason, "closed") {
			t.Errorf("%s target on %s: %+v, want Error, exit -1, with the broker's refusal as reason", where, x.Device, x)
		}
	}
	for _, x := range run.Targets {
		check("returned", x)
	}
	for _, x := range e.targets(t, run.Execution) {
		check("stored", x)
	}
	for _, x := range executionEvents(t, events, run.Execution, "pi", "mac") {
		check("announced", x)
	}
}

// A device whose queue the broker lost gets it declared again, and its
// dispatch waits there for it.
func TestLostQueueIsDeclaredAgain(t *testing.T) {
	e := newEnv(t)
	s := e.service(t, e.bus)
	if err := e.bus.DeleteQueue(e.ctx, e.ws, bus.DispatchQueue("pi")); err != nil {
		t.Fatal(err)
	}
	run, err := s.Run(e.ctx, dispatch.Request{Workspace: e.ws, Client: dispatch.System("scheduler"), Job: "hello", Args: []string{"x"}, On: []string{"pi"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Targets) != 1 || run.Targets[0].Device != "pi" || run.Targets[0].Status != runlet.StatusPending {
		t.Fatalf("run targets %+v, want pi Pending", run.Targets)
	}
	if d := receive(t, e.queued(t, "pi"), "the dispatch on pi's queue"); d.Execution != run.Execution {
		t.Errorf("pi's queue holds %+v, want execution %s", d, run.Execution)
	}
}

// A target whose queue the broker will not declare ends in Error alone:
// the other targets of the run are queued. The device's name makes a
// stream name longer than NATS allows; the API refuses such names today,
// so it stands here for any queue the broker refuses to make.
func TestUndeclarableQueueFailsOnlyItsTarget(t *testing.T) {
	e := newEnv(t)
	s := e.service(t, e.bus)
	long := strings.Repeat("x", 300)
	// Added after the workspace was attached, without its queue.
	if err := e.db.CreateDevice(e.ctx, &runlet.Device{Workspace: e.ws, Name: long}); err != nil {
		t.Fatal(err)
	}
	pi := e.queued(t, "pi")

	run, err := s.Run(e.ctx, dispatch.Request{Workspace: e.ws, Client: dispatch.System("scheduler"), Job: "hello", Args: []string{"x"}})
	if err != nil {
		t.Fatalf("Run = %v, want the run with one target in Error", err)
	}
	if len(run.Targets) != 3 {
		t.Fatalf("run has %d targets, want 3", len(run.Targets))
	}
	stored := e.targets(t, run.Execution)
	for _, x := range run.Targets {
		want := runlet.StatusPending
		if x.Device == long {
			want = runlet.StatusError
			if !strings.Contains(x.Reason, "the broker did not take the execution") || !strings.Contains(x.Reason, "declare queue") {
				t.Errorf("the refused target's reason is %q, want the broker's refusal to declare its queue", x.Reason)
			}
		}
		if x.Status != want || stored[x.Device].Status != want {
			t.Errorf("target on %.10s… returned %s, stored %s; want %s", x.Device, x.Status, stored[x.Device].Status, want)
		}
	}
	if d := receive(t, pi, "the dispatch on pi's queue"); d.Execution != run.Execution {
		t.Errorf("pi's queue holds %+v, want execution %s", d, run.Execution)
	}
}

// TestSelectorsPickDevices: --on takes names, patterns and labels
// (runlet.Select), and a revoked device is never picked.
func TestSelectorsPickDevices(t *testing.T) {
	e := newEnv(t)
	s := e.service(t, e.bus)
	pi, err := e.db.DeviceByName(e.ctx, e.ws, "pi")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.UpdateDevice(e.ctx, e.ws, pi.ID, store.DeviceUpdate{Labels: map[string]string{"lab": "", "room": "attic"}}); err != nil {
		t.Fatal(err)
	}
	gone := &runlet.Device{Workspace: e.ws, Name: "pi-old", Labels: map[string]string{"lab": ""}}
	if err := e.db.CreateDevice(e.ctx, gone); err != nil {
		t.Fatal(err)
	}
	if err := e.db.RevokeDevice(e.ctx, e.ws, gone.ID); err != nil {
		t.Fatal(err)
	}
	for on, want := range map[string]string{
		"label:lab":        "pi",
		"label:room=attic": "pi",
		"p*":               "pi",
		"*":                "mac,pi",
		"mac,label:lab":    "mac,pi",
	} {
		run, err := s.Run(e.ctx, dispatch.Request{Workspace: e.ws, Client: dispatch.System("scheduler"), Job: "hello", Args: []string{"x"}, On: []string{on}})
		if err != nil {
			t.Errorf("--on %s: %v", on, err)
			continue
		}
		got := devicesOf(run.Targets)
		slices.Sort(got)
		if strings.Join(got, ",") != want {
			t.Errorf("--on %s picked %v, want %s", on, got, want)
		}
	}
}
