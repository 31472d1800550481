package alert_test

import (
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/alert"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/store"
	"github.com/runlet/runlet/store/postgres"
	"github.com/runlet/runlet/store/sqlite"
)

var quiet = slog.New(slog.DiscardHandler)

// tclock is the simulated time a test's store and services share.
type tclock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *tclock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *tclock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *tclock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// dialect opens connections to one database, as server processes sharing
// it do.
type dialect struct {
	name string
	open func(t testing.TB, now func() time.Time) store.Store
}

func sqliteDialect(t testing.TB) dialect {
	path := "sqlite:" + filepath.Join(t.TempDir(), "runlet.db")
	return dialect{name: "SQLite", open: func(t testing.TB, now func() time.Time) store.Store {
		db, err := sqlite.Open(t.Context(), path, store.Options{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}}
}

func postgresDialect(t testing.TB) dialect {
	url := testenv.Postgres(t)
	return dialect{name: "PostgreSQL", open: func(t testing.TB, now func() time.Time) store.Store {
		db, err := postgres.Open(t.Context(), url, store.Options{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}}
}

var dialects = []struct {
	name string
	make func(t testing.TB) dialect
}{{"SQLite", sqliteDialect}, {"PostgreSQL", postgresDialect}}

// forEachDialect runs f on SQLite, and on PostgreSQL when it is here.
func forEachDialect(t *testing.T, f func(t *testing.T, d dialect)) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) { f(t, d.make(t)) })
	}
}

// stubPresence is the server's presence of devices, as a test sets it.
type stubPresence struct {
	mu   sync.Mutex
	devs map[string]map[string]runlet.DevicePresence
}

func (p *stubPresence) Devices(ws string) []runlet.DevicePresence {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []runlet.DevicePresence
	for _, d := range p.devs[ws] {
		out = append(out, d)
	}
	return out
}

func (p *stubPresence) set(ws string, d runlet.DevicePresence) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.devs == nil {
		p.devs = map[string]map[string]runlet.DevicePresence{}
	}
	if p.devs[ws] == nil {
		p.devs[ws] = map[string]runlet.DevicePresence{}
	}
	p.devs[ws][d.Name] = d
}

// kicks counts the sender's kicks.
type kicks struct {
	mu sync.Mutex
	n  int
}

func (k *kicks) Kick() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.n++
}

// start is 10:00 UTC of the tests' day.
var start = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)

// tenv is a workspace "acme" with its owner ann (ann@example.com, a
// plain member who owns the sensors), an admin bob, each with an e-mail
// channel, and the sensors 12 (Fridge 3, kitchen, 2 to 8 °C, battery
// from 20 %) and 13 (Freezer, cellar, no owner).
type tenv struct {
	t        testing.TB
	d        dialect
	clock    *tclock
	db       store.Store
	ws       string
	ann, bob runlet.User
	annMail  string // ann's channel
	bobMail  string // bob's channel
	presence *stubPresence
	kicks    *kicks
}

func f(v float64) *float64 { return &v }

func newEnv(t testing.TB, d dialect) *tenv {
	t.Helper()
	e := &tenv{t: t, d: d, clock: &tclock{t: start}, presence: &stubPresence{}, kicks: &kicks{}}
	e.db = d.open(t, e.clock.Now)
	ctx := t.Context()
	w := runlet.Workspace{Name: "acme"}
	if err := e.db.CreateWorkspace(ctx, &w); err != nil {
		t.Fatal(err)
	}
	e.ws = w.ID
	for _, u := range []struct {
		u    *runlet.User
		mail string
		role runlet.Role
		ch   *string
	}{{&e.ann, "Ann@Example.com", runlet.RoleMember, &e.annMail}, {&e.bob, "bob@example.com", runlet.RoleAdmin, &e.bobMail}} {
		u.u.Email = u.mail
		if err := e.db.CreateUser(ctx, u.u); err != nil {
			t.Fatal(err)
		}
		if err := e.db.PutMembership(ctx, &runlet.Membership{Workspace: e.ws, User: u.u.ID, Role: u.role}); err != nil {
			t.Fatal(err)
		}
		c := runlet.Channel{Workspace: e.ws, User: u.u.ID, Kind: runlet.ChannelEmail, Target: u.mail}
		if err := e.db.AddChannel(ctx, &c, ""); err != nil {
			t.Fatal(err)
		}
		*u.ch = c.ID
	}
	e.addSensor(runlet.Sensor{ID: 12, Name: "Fridge 3", Location: "kitchen", Owner: "ann@example.com", Contact: "+351 900"})
	e.addSensor(runlet.Sensor{ID: 13, Name: "Freezer", Location: "cellar"})
	s := runlet.AlertSettings{Defaults: runlet.SensorRules{Thresholds: runlet.Thresholds{TempMin: f(2), TempMax: f(8), BattMin: f(20)}}}
	if err := e.db.SetAlertSettings(ctx, e.ws, s); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *tenv) addSensor(sn runlet.Sensor) {
	e.t.Helper()
	sn.Workspace, sn.State = e.ws, runlet.SensorActive
	if err := e.db.AddSensor(e.t.Context(), &sn, "secret"); err != nil {
		e.t.Fatal(err)
	}
}

// service starts an alert service on its own connection to the
// database, as a server process does.
func (e *tenv) service(holder string) *alert.Service {
	e.t.Helper()
	s, err := alert.New(alert.Config{Store: e.d.open(e.t, e.clock.Now), Presence: e.presence, Kicker: e.kicks, Now: e.clock.Now,
		Logger: quiet, Holder: holder})
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// temp is a reading of temperature v by sensor at t, relayed by pi-3.
func temp(sensor int64, t time.Time, v float64) runlet.RawReading {
	r := runlet.RawReading{Device: "pi-3"}
	r.Sensor, r.Time = sensor, t
	r.Set(runlet.MetricTemp, v)
	return r
}

// readings hands the batch to s at the clock's time.
func (e *tenv) readings(s *alert.Service, rs ...runlet.RawReading) {
	e.t.Helper()
	if err := s.Readings(e.t.Context(), e.ws, rs); err != nil {
		e.t.Fatalf("Readings: %v", err)
	}
}

func (e *tenv) step(s *alert.Service) {
	e.t.Helper()
	if err := s.Step(e.t.Context()); err != nil {
		e.t.Fatalf("Step: %v", err)
	}
}

// alerts returns the workspace's alerts, oldest first.
func (e *tenv) alerts() []runlet.Alert {
	e.t.Helper()
	as, err := e.db.ListAlerts(e.t.Context(), e.ws, store.AlertFilter{Limit: store.MaxLimit})
	if err != nil {
		e.t.Fatal(err)
	}
	slices.Reverse(as)
	return as
}

// notes returns the workspace's notifications, oldest first.
func (e *tenv) notes() []runlet.Notification {
	e.t.Helper()
	ns, err := e.db.ListNotifications(e.t.Context(), e.ws, store.NotificationFilter{Limit: store.MaxLimit})
	if err != nil {
		e.t.Fatal(err)
	}
	slices.Reverse(ns)
	return ns
}

// told is what the notifications say: "event:channel" each, oldest
// first.
func (e *tenv) told() []string {
	var out []string
	for _, n := range e.notes() {
		who := n.Channel
		switch n.Channel {
		case e.annMail:
			who = "ann"
		case e.bobMail:
			who = "bob"
		}
		out = append(out, string(n.Event)+":"+who)
	}
	return out
}
