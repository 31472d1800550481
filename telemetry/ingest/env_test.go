package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus"
	amqpbus "github.com/runlet/runlet/bus/amqp"
	"github.com/runlet/runlet/bus/nats/embedded"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/store"
	"github.com/runlet/runlet/store/postgres"
	"github.com/runlet/runlet/store/sqlite"
	"github.com/runlet/runlet/telemetry/batch"
	"github.com/runlet/runlet/telemetry/ingest"
)

// patience bounds every wait for the broker or the store: generous, as
// the tests run under -race on a loaded machine, and only reached on
// failure.
const patience = 60 * time.Second

var quiet = slog.New(slog.DiscardHandler)

// base is the sensors' time in the tests: readings are at base + seconds.
var base = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

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

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// env is a server's pipeline on a real store and broker: workspace acme
// with devices pi and mac, workspace other, and the pipeline's consumer of
// acme started by start.
type env struct {
	ctx   context.Context
	clock *clock
	db    store.Store
	bus   bus.Bus
	svc   *ingest.Service
	ws    string // acme
	other string
}

// stack opens a store and the server's bus for a test.
type stack func(t testing.TB, ctx context.Context, now func() time.Time) (store.Store, bus.Bus)

// sqliteNATS is the one-node stack: SQLite and the embedded NATS broker.
func sqliteNATS(t testing.TB, ctx context.Context, now func() time.Time) (store.Store, bus.Bus) {
	db, err := sqlite.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "runlet.db"), store.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ns, err := embedded.Start(embedded.Config{
		Dir: t.TempDir(), Addr: "127.0.0.1:0", Logger: quiet,
		// Only the server's in-process connection comes in; the tests
		// publish what devices would.
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
	return db, b
}

// postgresRabbitMQ is the other stack: the machine's PostgreSQL and
// RabbitMQ, each on a fresh database or vhost.
func postgresRabbitMQ(t testing.TB, ctx context.Context, now func() time.Time) (store.Store, bus.Bus) {
	db, err := postgres.Open(ctx, testenv.Postgres(t), store.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	b, err := amqpbus.Open(ctx, testenv.RabbitMQ(t), bus.Options{Name: "runlet-server", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return db, b
}

// option changes the pipeline's configuration once the store and the bus
// are open: a wrapper of either, a cache TTL.
type option func(e *env, cfg *ingest.Config)

func newEnv(t testing.TB, open stack, opts ...option) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*patience)
	t.Cleanup(cancel)
	e := &env{ctx: ctx, clock: &clock{t: base.Add(time.Hour)}}
	e.db, e.bus = open(t, ctx, e.clock.Now)
	cfg := ingest.Config{Store: e.db, Bus: e.bus, Now: e.clock.Now, Logger: quiet}
	for _, o := range opts {
		o(e, &cfg)
	}
	svc, err := ingest.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	e.svc = svc
	e.ws = e.workspace(t, "acme")
	e.other = e.workspace(t, "other")
	for _, name := range []string{"pi", "mac"} {
		if err := e.db.CreateDevice(ctx, &runlet.Device{Workspace: e.ws, Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	// The intake declares it before devices publish; here, the test.
	if err := e.bus.DeclareQueue(ctx, e.ws, bus.Queue{Name: bus.TelemetryQueue, Pattern: bus.AllTelemetry}); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) workspace(t testing.TB, name string) string {
	t.Helper()
	w := &runlet.Workspace{Name: name}
	if err := e.db.CreateWorkspace(e.ctx, w); err != nil {
		t.Fatal(err)
	}
	return w.ID
}

// start starts acme's pipeline, as the intake would.
func (e *env) start(t testing.TB) {
	t.Helper()
	sub, err := e.svc.Consumer(e.ctx, e.ws)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
}

// sensor registers a sensor in ws.
func (e *env) sensor(t testing.TB, ws string, id int64, secret string, state runlet.SensorState) {
	t.Helper()
	if err := e.db.AddSensor(e.ctx, &runlet.Sensor{ID: id, Workspace: ws, Name: fmt.Sprint("sensor ", id), State: state}, secret); err != nil {
		t.Fatal(err)
	}
}

// secret is sensor id's secret in the tests: an integer above 2^53, as
// the seed's.
func secret(id int64) string { return fmt.Sprint(64089519511846157 + id) }

// readings returns n readings of sensor, with sequence numbers from seq
// and one second apart from base + at seconds.
func readings(sensor int64, seq uint64, at, n int) []runlet.RawReading {
	rs := make([]runlet.RawReading, n)
	for i := range rs {
		t := base.Add(time.Duration(at+i) * time.Second)
		r := runlet.RawReading{Seq: seq + uint64(i), Accepted: t}
		r.Sensor, r.Time = sensor, t
		r.Set(runlet.MetricTemp, float64(at+i)/4)
		r.Set(runlet.MetricBatt, 75)
		rs[i] = r
	}
	return rs
}

// batchOf is a batch of rs with each sensor's secret.
func batchOf(rs ...[]runlet.RawReading) batch.Batch {
	b := batch.Batch{Secrets: map[int64]string{}}
	for _, r := range rs {
		b.Readings = append(b.Readings, r...)
		for _, x := range r {
			b.Secrets[x.Sensor] = secret(x.Sensor)
		}
	}
	return b
}

// send publishes b as device would, on its telemetry key.
func (e *env) send(t testing.TB, device string, b batch.Batch) {
	t.Helper()
	body, err := batch.Encode(b)
	if err != nil {
		t.Fatal(err)
	}
	e.sendRaw(t, bus.TelemetryKey(device), body)
}

func (e *env) sendRaw(t testing.TB, key bus.Key, body []byte) {
	t.Helper()
	if err := e.bus.PublishDurable(e.ctx, e.ws, bus.Message{Key: key, Body: body}); err != nil {
		t.Fatal(err)
	}
}

// await waits until acme's counts satisfy cond.
func (e *env) await(t testing.TB, what string, cond func(ingest.Stats) bool) ingest.Stats {
	t.Helper()
	testenv.Eventually(t, what, patience, func() bool { return cond(e.svc.Stats(e.ws)) })
	return e.svc.Stats(e.ws)
}

// archive returns the whole raw archive of a sensor of ws.
func (e *env) archive(t testing.TB, ws string, sensor int64) []runlet.RawReading {
	t.Helper()
	var all []runlet.RawReading
	var after int64
	for {
		page, err := e.db.RawReadings(e.ctx, ws, sensor, time.Time{}, base.AddDate(1, 0, 0), after, store.MaxLimit)
		if err != nil {
			t.Fatalf("archive of sensor %d: %v", sensor, err)
		}
		if len(page) == 0 {
			return all
		}
		all = append(all, page...)
		after = page[len(page)-1].ID
	}
}

// series returns every point of a sensor's metric.
func (e *env) series(t testing.TB, ws string, sensor int64, m runlet.Metric) []runlet.SeriesPoint {
	t.Helper()
	ps, err := e.db.Series(e.ctx, ws, sensor, m, time.Time{}, base.AddDate(1, 0, 0), 0, store.MaxLimit)
	if err != nil {
		t.Fatalf("series of sensor %d: %v", sensor, err)
	}
	return ps
}
