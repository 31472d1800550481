package scheduler_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/bus/nats/embedded"
	"github.com/runlet/runlet/dispatch"
	"github.com/runlet/runlet/intake"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/scheduler"
	"github.com/runlet/runlet/store"
	"github.com/runlet/runlet/store/postgres"
	"github.com/runlet/runlet/store/sqlite"
)

// patience bounds every wait on the broker or the store: reached only on
// failure.
const patience = 30 * time.Second

// The schedulers' settings in these tests, in simulated time.
const (
	poll = time.Second
	ttl  = 15 * time.Second
)

var quiet = slog.New(slog.DiscardHandler)

// clock is the simulated time every part of a test shares: the stores,
// the dispatch services and the schedulers. It moves only when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *clock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// backend opens connections to one database, as servers sharing it do.
type backend struct {
	name string
	open func(t *testing.T, now func() time.Time) store.Store
}

func sqliteFile(t *testing.T) backend {
	path := "sqlite:" + filepath.Join(t.TempDir(), "runlet.db")
	return backend{name: "sqlite", open: func(t *testing.T, now func() time.Time) store.Store {
		db, err := sqlite.Open(t.Context(), path, store.Options{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}}
}

func postgresDB(t *testing.T) backend {
	url := testenv.Postgres(t)
	return backend{name: "postgres", open: func(t *testing.T, now func() time.Time) store.Store {
		db, err := postgres.Open(t.Context(), url, store.Options{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() }) // before testenv drops the database
		return db
	}}
}

// backends are the dialects the tests of several servers run on.
var backends = []struct {
	name string
	make func(t *testing.T) backend
}{{"SQLite", sqliteFile}, {"PostgreSQL", postgresDB}}

// env is a database shared by the servers of a test, the embedded NATS
// broker, and a workspace "acme" with the devices pi and mac.
type env struct {
	ctx   context.Context
	clock *clock
	back  backend
	db    store.Store // the test's own connection, to look
	ns    *embedded.Server
	ws    string
}

// newEnv starts at start with the job set jobs, saved then. The simulated
// clock must not be behind the wall clock: the broker drops a dispatch
// past its expiry by its own.
func newEnv(t *testing.T, back backend, start time.Time, jobs string) *env {
	t.Helper()
	e := &env{ctx: t.Context(), clock: &clock{t: start}, back: back}
	e.db = back.open(t, e.clock.Now)
	ns, err := embedded.Start(embedded.Config{
		Dir: t.TempDir(), Addr: "127.0.0.1:0", Logger: quiet,
		Authenticator: func(user, _ string) (bus.Principal, error) {
			return bus.Principal{}, errors.New("no clients in this test")
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	e.ns = ns
	w := &runlet.Workspace{Name: "acme"}
	if err := e.db.CreateWorkspace(e.ctx, w); err != nil {
		t.Fatal(err)
	}
	e.ws = w.ID
	for _, name := range []string{"pi", "mac"} {
		if err := e.db.CreateDevice(e.ctx, &runlet.Device{Workspace: e.ws, Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	e.save(t, jobs)
	return e
}

// save makes jobs the workspace's job set, at the clock's time.
func (e *env) save(t *testing.T, jobs string) {
	t.Helper()
	if _, err := e.db.PutJobs(e.ctx, e.ws, []byte(jobs), store.AnyVersion); err != nil {
		t.Fatal(err)
	}
}

// server is one Runlet server's scheduling parts: its own connection to
// the database and to the broker, its intake, dispatch and scheduler.
type server struct {
	db    store.Store
	sched *scheduler.Service
	ctx   context.Context // what its passes run with; kill ends it
	kill  context.CancelFunc
}

// server starts a server whose scheduler has cfg (Store, Dispatch, Now
// and Logger set here); wrap, when set, stands between the scheduler and
// the dispatch service.
func (e *env) server(t *testing.T, cfg scheduler.Config, wrap func(scheduler.Dispatch) scheduler.Dispatch) *server {
	t.Helper()
	db := e.back.open(t, e.clock.Now)
	b, err := e.ns.Bus(e.ctx, bus.Options{Name: "runlet-server", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	in, err := intake.New(intake.Config{Store: db, Bus: b, Now: e.clock.Now, Logger: quiet, SweepInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Start(e.ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(in.Close)
	d, err := dispatch.New(dispatch.Config{Store: db, Bus: b, Events: in, Workspaces: in, Now: e.clock.Now, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store, cfg.Dispatch, cfg.Now, cfg.Logger = db, d, e.clock.Now, quiet
	if wrap != nil {
		cfg.Dispatch = wrap(d)
	}
	if cfg.Poll == 0 {
		cfg.Poll, cfg.LeaseTTL = poll, ttl
	}
	s, err := scheduler.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	srv := &server{db: db, sched: s}
	srv.ctx, srv.kill = context.WithCancel(e.ctx)
	return srv
}

// step runs one pass of each server at once, as servers sharing a
// database do, and returns their errors.
func step(servers ...*server) []error {
	errs := make([]error, len(servers))
	var wg sync.WaitGroup
	for i, s := range servers {
		wg.Go(func() { errs[i] = s.sched.Step(s.ctx) })
	}
	wg.Wait()
	return errs
}

// mustStep is step failing t on any error.
func mustStep(t *testing.T, servers ...*server) {
	t.Helper()
	for _, err := range step(servers...) {
		if err != nil {
			t.Fatalf("a pass failed: %v", err)
		}
	}
}

// run is one execution: its targets, as the store records them.
type run struct {
	id        string
	scheduled time.Time
	created   time.Time
	devices   []string
}

// runs returns the runs of job the store recorded, oldest first, checking
// that each was started by the scheduler.
func (e *env) runs(t *testing.T, job string) []run {
	t.Helper()
	es, err := e.db.ListExecutions(e.ctx, e.ws, store.ExecutionFilter{Job: job, Limit: store.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]*run{}
	var out []*run
	for _, x := range es {
		if x.Client != scheduler.Client {
			t.Errorf("execution %s of %s has client %q, want %q", x.ID, job, x.Client, scheduler.Client)
		}
		r := byID[x.ID]
		if r == nil {
			r = &run{id: x.ID, scheduled: x.Scheduled, created: x.Created}
			byID[x.ID] = r
			out = append(out, r)
		}
		r.devices = append(r.devices, x.Device)
	}
	runs := make([]run, len(out))
	for i, r := range out {
		slices.Sort(r.devices)
		runs[len(out)-1-i] = *r
	}
	return runs
}

// scheduledAt is when each run was scheduled for.
func scheduledAt(runs []run) []time.Time {
	out := make([]time.Time, len(runs))
	for i, r := range runs {
		out[i] = r.scheduled
	}
	return out
}

// lastTick returns the latest tick of job.
func (e *env) lastTick(t *testing.T, job string) runlet.Tick {
	t.Helper()
	ts, err := e.db.LastTicks(e.ctx, e.ws)
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range ts {
		if tk.Job == job {
			return tk
		}
	}
	t.Fatalf("job %s has no tick", job)
	return runlet.Tick{}
}

// nextMonday is a Monday 00:00 local after the wall clock's next day, so
// that a simulated week stays ahead of the broker's clock.
func nextMonday() time.Time {
	d := time.Now().Add(24 * time.Hour)
	d = time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.Local)
	for d.Weekday() != time.Monday {
		d = d.AddDate(0, 0, 1)
	}
	return d
}
