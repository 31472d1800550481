package server_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/cmd/assemble"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/server"
	"github.com/runlet/runlet/store"
	"github.com/runlet/runlet/wire"
)

const jobsYAML = `# fleet jobs
hello:
  script: echo hello {{ index .Args 1 }}
  where: custom
  whereCustom: [pi-1]
everywhere:
  script: uptime
  where: all
one:
  script: date
  where: any
here:
  script: pwd
`

func TestJobs(t *testing.T) {
	s := startServer(t, nil)
	ctx := ctxT(t)
	c := apiclient.New(s.URL(), s.enroll(t, "pi-1").Token)

	_, err := c.PutJobs(ctx, []byte("ok:\n  script: echo\nbad:\n  script: [\n"), apiclient.NoVersion)
	var ve *apiclient.ValidationError
	if !errors.As(err, &ve) || runlet.ErrorCode(err) != runlet.EINVALID || len(ve.Details) == 0 || ve.Details[0].Line == 0 {
		t.Fatalf("invalid YAML: %v (%+v)", err, ve)
	}
	_, err = c.PutJobs(ctx, []byte("a:\n  script: x\n  wher: all\nb:\n  scrpt: y\n"), apiclient.NoVersion)
	if !errors.As(err, &ve) || len(ve.Details) != 3 || ve.Details[2].Line != 5 || ve.Details[2].Job != "b" || ve.Details[2].Field != "scrpt" {
		t.Fatalf("two bad fields: %v (%+v)", err, ve)
	}

	put, err := c.PutJobs(ctx, []byte(jobsYAML), 0)
	if err != nil || put.Version != 1 || len(put.Jobs) != 4 {
		t.Fatalf("put: %+v, %v", put, err)
	}
	_, err = c.PutJobs(ctx, []byte(jobsYAML), 0)
	if runlet.ErrorCode(err) != runlet.ECONFLICT {
		t.Errorf("stale If-Match: %v", err)
	}
	got, err := c.Jobs(ctx)
	if err != nil || got.Version != 1 || got.Source != jobsYAML || got.Jobs[0].Name != "hello" {
		t.Fatalf("get: %+v, %v", got, err)
	}
	v, err := c.DeleteJob(ctx, "one")
	if err != nil || v != 2 {
		t.Fatalf("delete: %d, %v", v, err)
	}
	got, _ = c.Jobs(ctx)
	if len(got.Jobs) != 3 || strings.Contains(got.Source, "one:") || !strings.Contains(got.Source, "# fleet jobs") {
		t.Errorf("after delete:\n%s", got.Source)
	}
	if _, err := c.DeleteJob(ctx, "one"); runlet.ErrorCode(err) != runlet.ENOTFOUND {
		t.Errorf("delete twice: %v", err)
	}
}

func TestBodyLimit(t *testing.T) {
	s := startServer(t, nil)
	cred := s.enroll(t, "pi-1")
	big := strings.Repeat("# padding\n", server.MaxBody/10+1)
	req, _ := http.NewRequest(http.MethodPut, s.URL()+"/api/v1/jobs", strings.NewReader(big))
	req.Header.Set("Authorization", "Bearer "+cred.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if r := read(t, resp); r.status != http.StatusRequestEntityTooLarge || !strings.Contains(r.body, "larger than") {
		t.Errorf("oversized body: %d %s", r.status, r.body)
	}
	// Without a Content-Length the limit applies while reading.
	req, _ = http.NewRequest(http.MethodPut, s.URL()+"/api/v1/jobs", struct{ *strings.Reader }{strings.NewReader(big)})
	req.Header.Set("Authorization", "Bearer "+cred.Token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if r := read(t, resp); r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized chunked body: %d %s", r.status, r.body)
	}
}

// fakeDevice is a device's bus connection, standing in for its daemon.
type fakeDevice struct {
	cred *home.Credentials
	bus  bus.Bus
	api  *apiclient.Client
}

func newFakeDevice(t testing.TB, s *testServer, name string) *fakeDevice {
	t.Helper()
	cred := s.enroll(t, name)
	b, err := deviceBus(ctxT(t), cred)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return &fakeDevice{cred: cred, bus: b, api: apiclient.New(s.URL(), cred.Token)}
}

func (d *fakeDevice) heartbeat(t testing.TB, running int, interval time.Duration) {
	t.Helper()
	body, _ := wire.Encode(wire.Heartbeat{Device: d.cred.Device, OS: "linux", Arch: "arm64", Version: "test", CPU: 12.5, Running: running, Time: time.Now(), Interval: interval})
	if err := d.bus.Publish(ctxT(t), d.cred.Workspace, bus.Message{Key: bus.HeartbeatKey(d.cred.Device), Body: body}); err != nil {
		t.Fatal(err)
	}
}

// takeDispatch consumes the device's queue until one dispatch arrives.
func (d *fakeDevice) takeDispatch(t testing.TB) wire.Dispatch {
	t.Helper()
	got := make(chan wire.Dispatch, 1)
	q := bus.Queue{Name: bus.DispatchQueue(d.cred.Device), Pattern: bus.DispatchKey(d.cred.Device)}
	sub, err := d.bus.Consume(ctxT(t), d.cred.Workspace, q, func(del bus.Delivery) {
		var w wire.Dispatch
		if err := wire.Decode(del.Body, &w); err != nil {
			t.Error(err)
		}
		_ = del.Ack()
		select {
		case got <- w:
		default:
		}
	})
	if err != nil {
		t.Fatalf("consume the dispatch queue: %v", err)
	}
	defer sub.Close()
	select {
	case w := <-got:
		return w
	case <-time.After(30 * time.Second):
		t.Fatal("no dispatch")
	}
	return wire.Dispatch{}
}

func (d *fakeDevice) status(t testing.TB, exec string, st runlet.Status, code int) {
	t.Helper()
	e := runlet.Execution{ID: exec, Device: d.cred.Device, Status: st, ExitCode: code}
	if st == runlet.StatusRunning {
		e.Started = time.Now()
	} else {
		e.Finished = time.Now()
	}
	d.publishStatus(t, exec, wire.Status{Execution: e})
}

// publishStatus sends st on the key of exec on this device.
func (d *fakeDevice) publishStatus(t testing.TB, exec string, st wire.Status) {
	t.Helper()
	body, _ := wire.Encode(st)
	m := bus.Message{ID: exec + "/" + d.cred.Device + "/" + string(st.Status), Key: bus.StatusKey(exec, d.cred.Device), Body: body}
	if err := d.bus.PublishDurable(ctxT(t), d.cred.Workspace, m); err != nil {
		t.Fatalf("publish status: %v", err)
	}
}

func waitStatus(t testing.TB, c *apiclient.Client, exec, device string, want runlet.Status) runlet.Execution {
	t.Helper()
	var last runlet.Execution
	testenv.Eventually(t, "execution "+exec+" on "+device+" to be "+string(want), patience, func() bool {
		ts, err := c.Execution(context.Background(), exec)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ts {
			if e.Device == device {
				last = e
				return e.Status == want
			}
		}
		return false
	})
	return last
}

func TestRunDispatchAndStatus(t *testing.T) {
	testRunDispatchAndStatus(t, nil)
}

func TestRunDispatchAndStatusPostgres(t *testing.T) {
	db := testenv.Postgres(t)
	testRunDispatchAndStatus(t, func(c *assemble.Config) { c.DB = db })
}

func testRunDispatchAndStatus(t testing.TB, edit func(*assemble.Config)) {
	s := startServer(t, edit)
	ctx := ctxT(t)
	pi1 := newFakeDevice(t, s, "pi-1")
	mac := newFakeDevice(t, s, "mac")
	if _, err := mac.api.PutJobs(ctx, []byte(jobsYAML), 0); err != nil {
		t.Fatal(err)
	}
	run, err := mac.api.Run(ctx, api.RunRequest{Job: "hello", Args: []string{"world"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Targets) != 1 || run.Targets[0].Device != "pi-1" || run.Targets[0].Status != "Pending" {
		t.Fatalf("run: %+v", run)
	}
	d := pi1.takeDispatch(t)
	if d.Execution != run.Execution || d.Script != "echo hello world" || d.Client != "mac" || d.Expires.Before(time.Now().Add(23*time.Hour)) {
		t.Errorf("dispatch %+v", d)
	}
	pi1.status(t, d.Execution, runlet.StatusRunning, 0)
	waitStatus(t, mac.api, d.Execution, "pi-1", runlet.StatusRunning)
	pi1.status(t, d.Execution, runlet.StatusRunning, 0) // a replay changes nothing
	// The key says which execution and device a status without ids is of.
	pi1.publishStatus(t, d.Execution, wire.Status{Execution: runlet.Execution{Status: runlet.StatusFinished, ExitCode: 3, Finished: time.Now()}})
	e := waitStatus(t, mac.api, d.Execution, "pi-1", runlet.StatusFinished)
	if e.ExitCode != 3 || e.Started.IsZero() || e.Finished.IsZero() || e.Job != "hello" {
		t.Errorf("finished execution %+v", e)
	}
	list, err := mac.api.Executions(ctx, api.ExecutionFilter{Device: "pi-1"})
	if err != nil || len(list) != 1 || list[0].ID != run.Execution {
		t.Errorf("executions: %+v, %v", list, err)
	}

	// local runs on the caller; all fans out with one execution id.
	local, err := mac.api.Run(ctx, api.RunRequest{Job: "here"})
	if err != nil || len(local.Targets) != 1 || local.Targets[0].Device != "mac" {
		t.Fatalf("local: %+v, %v", local, err)
	}
	all, err := mac.api.Run(ctx, api.RunRequest{Job: "everywhere"})
	if err != nil || len(all.Targets) != 2 {
		t.Fatalf("all: %+v, %v", all, err)
	}
	if d := mac.takeDispatch(t); d.Execution != local.Execution {
		t.Errorf("mac got %s first, want the local run %s", d.Execution, local.Execution)
	}
}

func TestStopAndKill(t *testing.T) {
	s := startServer(t, nil)
	ctx := ctxT(t)
	pi1 := newFakeDevice(t, s, "pi-1")
	viewer := newFakeDevice(t, s, "mac")
	viewer.api.PutJobs(ctx, []byte(jobsYAML), 0)
	run, err := viewer.api.Run(ctx, api.RunRequest{Job: "hello", Args: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan wire.Control, 1)
	sub, err := pi1.bus.Subscribe(ctx, pi1.cred.Workspace, bus.ControlKey(run.Execution, "pi-1"), func(m bus.Message) {
		var c wire.Control
		_ = wire.Decode(m.Body, &c)
		got <- c
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if err := viewer.api.Kill(ctx, run.Execution, "pi-1"); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-got:
		if c.Op != wire.OpKill || c.By != "mac" {
			t.Errorf("control %+v", c)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no control message")
	}
	// pi-1 had not started it: the kill ended it at once.
	if e := waitStatus(t, viewer.api, run.Execution, "pi-1", runlet.StatusError); !e.Killed ||
		e.Reason != runlet.ReasonKilledBeforeStart || e.Outcome() != runlet.OutcomeKilled {
		t.Errorf("the kill of a run that had not started: %+v, want it ended at once, Killed before it started", e)
	}
	// A device reads its own target before it starts a run.
	if e, err := pi1.api.Target(ctx, run.Execution, "pi-1"); err != nil || e.Device != "pi-1" || e.Outcome() != runlet.OutcomeKilled {
		t.Errorf("pi-1's target as pi-1 reads it: %+v, %v", e, err)
	}
	if _, err := pi1.api.Target(ctx, run.Execution, "pi-9"); runlet.ErrorCode(err) != runlet.ENOTFOUND || !strings.Contains(runlet.ErrorMessage(err), "does not run on pi-9") {
		t.Errorf("a target on a device that is none: %v, want not found", err)
	}
	if err := viewer.api.Stop(ctx, run.Execution, "mac"); runlet.ErrorCode(err) != runlet.ENOTFOUND {
		t.Errorf("stop on a device that is no target: %v", err)
	}
	if err := viewer.api.Stop(ctx, "nosuchexecution", ""); runlet.ErrorCode(err) != runlet.ENOTFOUND {
		t.Errorf("stop of an unknown execution: %v", err)
	}
}

func TestRunTargeting(t *testing.T) {
	s := startServer(t, func(c *assemble.Config) { c.AdminPassword = "pw" })
	ctx := ctxT(t)
	pi1 := newFakeDevice(t, s, "pi-1")
	pi2 := newFakeDevice(t, s, "pi-2")
	mac := newFakeDevice(t, s, "mac")
	src := jobsYAML + "settings:\n  daemons:\n    pi-2:\n      enabled: false\n"
	if _, err := mac.api.PutJobs(ctx, []byte(src), 0); err != nil {
		t.Fatal(err)
	}

	_, err := mac.api.Run(ctx, api.RunRequest{Job: "hello", On: []string{"pi-1", "nas", "tv"}})
	if runlet.ErrorCode(err) != runlet.EINVALID || !strings.Contains(runlet.ErrorMessage(err), "nas, tv") ||
		!strings.Contains(runlet.ErrorMessage(err), "mac, pi-1, pi-2") {
		t.Errorf("unknown devices: %v", err)
	}
	_, err = mac.api.Run(ctx, api.RunRequest{Job: "hello", On: []string{"pi-2"}})
	if runlet.ErrorCode(err) != runlet.EINVALID || !strings.Contains(runlet.ErrorMessage(err), "switched off") {
		t.Errorf("switched-off device: %v", err)
	}
	all, err := mac.api.Run(ctx, api.RunRequest{Job: "everywhere"})
	if err != nil || len(all.Targets) != 2 {
		t.Errorf("all without the switched-off pi-2: %+v, %v", all, err)
	}
	_, err = mac.api.Run(ctx, api.RunRequest{Job: "nope"})
	if runlet.ErrorCode(err) != runlet.ENOTFOUND || !strings.Contains(runlet.ErrorMessage(err), "hello, everywhere") {
		t.Errorf("unknown job: %v", err)
	}
	_, err = mac.api.Run(ctx, api.RunRequest{Job: "hello"})
	if runlet.ErrorCode(err) != runlet.EINVALID || !strings.Contains(runlet.ErrorMessage(err), "@run hello") {
		t.Errorf("missing argument: %v", err)
	}
	_, err = s.adminClient(t).Run(ctx, api.RunRequest{Job: "here"})
	if runlet.ErrorCode(err) != runlet.EINVALID || !strings.Contains(runlet.ErrorMessage(err), "local") {
		t.Errorf("local from a user: %v", err)
	}

	_, err = mac.api.Run(ctx, api.RunRequest{Job: "one"})
	if runlet.ErrorCode(err) != runlet.EUNAVAILABLE {
		t.Errorf("any with nobody online: %v", err)
	}
	pi1.heartbeat(t, 3, time.Minute)
	pi2.heartbeat(t, 0, time.Minute) // idle but switched off
	mac.heartbeat(t, 1, time.Minute)
	testenv.Eventually(t, "three devices online", patience, func() bool {
		ds, _ := mac.api.Devices(ctx)
		n := 0
		for _, d := range ds {
			if d.Online {
				n++
			}
		}
		return n == 3
	})
	anyRun, err := mac.api.Run(ctx, api.RunRequest{Job: "one"})
	if err != nil || len(anyRun.Targets) != 1 || anyRun.Targets[0].Device != "mac" {
		t.Errorf("any: %+v, %v (want mac, the least busy enabled device)", anyRun, err)
	}
}

func TestPresence(t *testing.T) {
	s := startServer(t, nil)
	ctx := ctxT(t)
	pi1 := newFakeDevice(t, s, "pi-1")
	device := func() api.Device {
		ds, err := pi1.api.Devices(ctx)
		if err != nil || len(ds) != 1 {
			t.Fatalf("devices: %+v, %v", ds, err)
		}
		return ds[0]
	}
	if device().Online {
		t.Fatal("online before any heartbeat")
	}
	events := make(chan wire.Event, 10)
	sub, err := pi1.bus.Subscribe(ctx, pi1.cred.Workspace, bus.EventKey, func(m bus.Message) {
		var ev wire.Event
		if wire.Decode(m.Body, &ev) == nil && ev.Type == wire.EventDevice {
			events <- ev
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	pi1.heartbeat(t, 2, time.Minute)
	testenv.Eventually(t, "pi-1 online", patience, func() bool { return device().Online })
	d := device()
	if d.CPU != 12.5 || d.Running != 2 || d.LastSeen.IsZero() || d.Version != "test" {
		t.Errorf("device %+v", d)
	}
	// The store's record is refreshed only every minute; the device list
	// still shows the last heartbeat.
	first := d.LastSeen
	s.clock.Advance(10 * time.Second)
	pi1.heartbeat(t, 2, time.Minute)
	testenv.Eventually(t, "pi-1 seen again", patience, func() bool { return device().LastSeen.After(first) })
	s.clock.Advance(3*time.Minute + time.Second) // three intervals of silence
	testenv.Eventually(t, "pi-1 offline", patience, func() bool { return !device().Online })
	for _, want := range []bool{true, false} {
		select {
		case ev := <-events:
			if ev.Device != "pi-1" || ev.Online == nil || *ev.Online != want {
				t.Errorf("event %+v, want online=%v", ev, want)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("no device event online=%v", want)
		}
	}
}

func TestExpiry(t *testing.T) {
	s := startServer(t, nil)
	ctx := ctxT(t)
	mac := newFakeDevice(t, s, "mac")
	newFakeDevice(t, s, "pi-1")
	mac.api.PutJobs(ctx, []byte("short:\n  script: echo\n  where: custom\n  whereCustom: [pi-1]\n  expires: 1h\n"), 0)
	run, err := mac.api.Run(ctx, api.RunRequest{Job: "short"})
	if err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(2 * time.Hour)
	e := waitStatus(t, mac.api, run.Execution, "pi-1", runlet.StatusError)
	if e.Reason == "" {
		t.Errorf("expired without a reason: %+v", e)
	}
}

func TestWorkspaceIsolation(t *testing.T) {
	s := startServer(t, nil)
	ctx := ctxT(t)
	a := newFakeDevice(t, s, "pi-1")
	a.api.PutJobs(ctx, []byte(jobsYAML), 0)
	run, err := a.api.Run(ctx, api.RunRequest{Job: "here"})
	if err != nil {
		t.Fatal(err)
	}

	// Workspace B with one device, made in the store directly.
	db := s.Store
	wsB := runlet.Workspace{Name: "other"}
	if err := db.CreateWorkspace(ctx, &wsB); err != nil {
		t.Fatal(err)
	}
	devB := runlet.Device{Workspace: wsB.ID, Name: "pi-1"}
	if err := db.CreateDevice(ctx, &devB); err != nil {
		t.Fatal(err)
	}
	secret := "rlt_workspaceb-device-token"
	if err := db.CreateToken(ctx, &runlet.Token{Workspace: wsB.ID, Kind: runlet.TokenDevice, Hash: store.HashSecret(secret), Subject: devB.ID}); err != nil {
		t.Fatal(err)
	}
	b := apiclient.New(s.URL(), secret)
	who, err := b.Whoami(ctx)
	if err != nil || who.Workspace != wsB.ID {
		t.Fatalf("whoami B: %+v, %v", who, err)
	}
	if _, err := b.Execution(ctx, run.Execution); runlet.ErrorCode(err) != runlet.ENOTFOUND {
		t.Errorf("B reads A's execution: %v", err)
	}
	if err := b.Kill(ctx, run.Execution, ""); runlet.ErrorCode(err) != runlet.ENOTFOUND {
		t.Errorf("B kills A's execution: %v", err)
	}
	if list, _ := b.Executions(ctx, api.ExecutionFilter{}); len(list) != 0 {
		t.Errorf("B lists A's executions: %+v", list)
	}
	if ds, _ := b.Devices(ctx); len(ds) != 1 || ds[0].ID != devB.ID {
		t.Errorf("B's devices: %+v", ds)
	}
	if jobs, _ := b.Jobs(ctx); len(jobs.Jobs) != 0 {
		t.Errorf("B sees A's jobs: %+v", jobs)
	}

	// On the broker, B's device may not touch A's workspace.
	credB := *a.cred
	credB.Workspace, credB.Device, credB.BrokerUser, credB.BrokerPassword = wsB.ID, "pi-1", devB.ID, secret
	busB, err := deviceBus(ctx, &credB)
	if err != nil {
		t.Fatalf("B's broker credentials: %v", err)
	}
	defer busB.Close()
	err = busB.Publish(ctx, a.cred.Workspace, bus.Message{Key: bus.ControlKey(run.Execution, "pi-1"), Body: []byte(`{"op":"kill"}`)})
	if !errors.Is(err, bus.ErrForbidden) {
		t.Errorf("B publishes into A: %v, want %v", err, bus.ErrForbidden)
	}
	if _, err := busB.Subscribe(ctx, a.cred.Workspace, bus.AllHeartbeats, func(bus.Message) {}); !errors.Is(err, bus.ErrForbidden) {
		t.Errorf("B subscribes to A: %v, want %v", err, bus.ErrForbidden)
	}
}

// TestExternalBroker runs the main flow with the machine's NATS instead of
// the embedded one (it lets every client in, so the devices' credentials
// are not checked there), removing the workspace's queues afterwards.
func TestExternalBroker(t *testing.T) {
	url := testenv.NATS(t)
	s := startServer(t, func(c *assemble.Config) { c.Broker = url })
	if s.BrokerURL() != url {
		t.Errorf("broker URL for devices %q, want %q", s.BrokerURL(), url)
	}
	ctx := ctxT(t)
	pi1 := newFakeDevice(t, s, "pi-1")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, q := range []string{bus.StatusQueue, bus.TelemetryQueue, bus.DispatchQueue("pi-1")} {
			if err := s.Bus.DeleteQueue(ctx, pi1.cred.Workspace, q); err != nil {
				t.Errorf("remove queue %s: %v", q, err)
			}
		}
	})
	if _, err := pi1.api.PutJobs(ctx, []byte(jobsYAML), 0); err != nil {
		t.Fatal(err)
	}
	run, err := pi1.api.Run(ctx, api.RunRequest{Job: "here"})
	if err != nil {
		t.Fatal(err)
	}
	d := pi1.takeDispatch(t)
	if d.Execution != run.Execution {
		t.Fatalf("dispatch %+v", d)
	}
	pi1.status(t, d.Execution, runlet.StatusFinished, 0)
	waitStatus(t, pi1.api, d.Execution, "pi-1", runlet.StatusFinished)
}

// TestRunDeclaresALostQueue: a run to a device whose dispatch queue the
// broker lost declares it again and queues the dispatch, as the
// dispatch publishes first and declares only when no queue takes it.
func TestRunDeclaresALostQueue(t *testing.T) {
	s := startServer(t, nil)
	ctx := ctxT(t)
	pi1 := newFakeDevice(t, s, "pi-1")
	if _, err := pi1.api.PutJobs(ctx, []byte(jobsYAML), 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Bus.DeleteQueue(ctx, pi1.cred.Workspace, bus.DispatchQueue("pi-1")); err != nil {
		t.Fatal(err)
	}
	run, err := pi1.api.Run(ctx, api.RunRequest{Job: "here"})
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Targets) != 1 || run.Targets[0].Status != string(runlet.StatusPending) {
		t.Fatalf("run: %+v", run)
	}
	if d := pi1.takeDispatch(t); d.Execution != run.Execution {
		t.Errorf("dispatch of %s, want %s", d.Execution, run.Execution)
	}
}

// TestDeviceOutboxInList: a device whose outbox of sensor readings is
// full says so in its heartbeat, and the device list (CLI, web UI) shows
// it; an idle device's heartbeat carries nothing about telemetry.
func TestDeviceOutboxInList(t *testing.T) {
	s := startServer(t, nil)
	ctx := ctxT(t)
	pi1 := newFakeDevice(t, s, "pi-1")
	pi1.heartbeat(t, 0, time.Minute)
	device := func() api.Device {
		ds, err := pi1.api.Devices(ctx)
		if err != nil || len(ds) != 1 {
			t.Fatalf("devices: %+v, %v", ds, err)
		}
		return ds[0]
	}
	testenv.Eventually(t, "pi-1 online", patience, func() bool { return device().Online })
	if d := device(); d.Telemetry != nil {
		t.Errorf("an idle device has telemetry %+v", d.Telemetry)
	}
	body, _ := wire.Encode(wire.Heartbeat{Device: "pi-1", Time: time.Now(), Interval: time.Minute,
		Telemetry: &wire.TelemetryStats{Accepted: 900, Pending: 400, Dropped: 17, Full: true}})
	if err := pi1.bus.Publish(ctx, pi1.cred.Workspace, bus.Message{Key: bus.HeartbeatKey("pi-1"), Body: body}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the full outbox in the list", patience, func() bool {
		tl := device().Telemetry
		return tl != nil && tl.Full && tl.Dropped == 17 && tl.Pending == 400 && tl.Accepted == 900
	})
}
