package notify_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/notify"
	"github.com/runlet/runlet/store"
	"github.com/runlet/runlet/store/postgres"
	"github.com/runlet/runlet/store/sqlite"
)

// patience bounds every wait: reached only on failure.
const patience = 30 * time.Second

var quiet = slog.New(slog.DiscardHandler)

// clock is the simulated time a test's store and services share.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().UTC().Truncate(time.Second)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is one test's store, workspace and clock.
type env struct {
	t   *testing.T
	db  store.Store
	ws  string
	clk *clock
}

type backend struct {
	name string
	open func(t *testing.T, now func() time.Time) store.Store
}

func sqliteBackend() backend {
	return backend{"sqlite", func(t *testing.T, now func() time.Time) store.Store {
		db, err := sqlite.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "runlet.db"), store.Options{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}}
}

func postgresBackend() backend {
	return backend{"postgres", func(t *testing.T, now func() time.Time) store.Store {
		db, err := postgres.Open(t.Context(), testenv.Postgres(t), store.Options{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}}
}

// eachBackend runs f against SQLite and PostgreSQL.
func eachBackend(t *testing.T, f func(t *testing.T, e *env)) {
	for _, b := range []backend{sqliteBackend(), postgresBackend()} {
		t.Run(b.name, func(t *testing.T) { f(t, newEnvOn(t, b)) })
	}
}

// newEnv is a test's environment on SQLite.
func newEnv(t *testing.T) *env { return newEnvOn(t, sqliteBackend()) }

func newEnvOn(t *testing.T, b backend) *env {
	clk := newClock()
	db := b.open(t, clk.Now)
	w := runlet.Workspace{Name: testenv.RandomName("notify-")}
	if err := db.CreateWorkspace(t.Context(), &w); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, db: db, ws: w.ID, clk: clk}
}

// service returns a notify service on the env's store and clock, with
// the test's changes to its config.
func (e *env) service(change func(*notify.Config)) *notify.Service {
	e.t.Helper()
	cfg := notify.Config{Store: e.db, Now: e.clk.Now, Logger: quiet, Holder: testenv.RandomName("holder-"), Timeout: 5 * time.Second}
	if change != nil {
		change(&cfg)
	}
	s, err := notify.New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(s.Close)
	return s
}

func (e *env) channel(kind runlet.ChannelKind, target, secret string) runlet.Channel {
	e.t.Helper()
	c := runlet.Channel{Workspace: e.ws, Kind: kind, Target: target}
	if err := e.db.AddChannel(e.t.Context(), &c, secret); err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) settings(s store.NotifySettings) {
	e.t.Helper()
	if err := e.db.SetNotifySettings(e.t.Context(), e.ws, s); err != nil {
		e.t.Fatal(err)
	}
}

var alertSeq atomic.Int64

// queue opens an alert of a key of its own, telling it through each of
// chs, as the alert service does, and returns the notifications queued.
func (e *env) queue(chs ...runlet.Channel) []runlet.Notification {
	e.t.Helper()
	sensor := alertSeq.Add(1)
	key := runlet.ThresholdKey(sensor, runlet.MetricTemp)
	a := &runlet.Alert{Kind: runlet.AlertThreshold, Sensor: sensor, Metric: runlet.MetricTemp, Bound: runlet.BoundMax,
		Value: 9.5, Limit: 8, At: e.clk.Now(), Summary: fmt.Sprintf("Fridge %d (kitchen): 9.5 °C is above 8 °C", sensor)}
	var ns []runlet.Notification
	for _, ch := range chs {
		ns = append(ns, runlet.Notification{Event: runlet.EventOpened, Channel: ch.ID, Kind: ch.Kind, Target: ch.Target,
			Subject: "[runlet] " + a.Summary, Body: a.Summary + "\nOwner: ana@example.com\nLocation: kitchen",
			Payload: fmt.Sprintf(`{"event":"opened","kind":"threshold","value":9.5,"limit":8,"summary":%q}`, a.Summary)})
	}
	c, err := e.db.ChangeAlert(e.t.Context(), e.ws, key, func(store.AlertMark) (store.AlertChange, error) {
		return store.AlertChange{Open: a, Notify: ns, Notified: true}, nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return c.Notify
}

// get returns notification id as stored.
func (e *env) get(id int64) runlet.Notification {
	e.t.Helper()
	ns, err := e.db.ListNotifications(context.WithoutCancel(e.t.Context()), e.ws, store.NotificationFilter{Limit: store.MaxLimit})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, n := range ns {
		if n.ID == id {
			return n
		}
	}
	e.t.Fatalf("notification %d not found", id)
	return runlet.Notification{}
}

// step runs one pass of s.
func (e *env) step(s *notify.Service) {
	e.t.Helper()
	if err := s.Step(e.t.Context()); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) wantState(id int64, state runlet.NotificationState, attempts int) runlet.Notification {
	e.t.Helper()
	n := e.get(id)
	if n.State != state || n.Attempts != attempts {
		e.t.Fatalf("notification %d: state %s after %d attempts (error %q), want %s after %d", id, n.State, n.Attempts, n.Error, state, attempts)
	}
	return n
}
