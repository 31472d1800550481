package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/store"
	"github.com/runlet/runlet/telemetry/batch"
)

// askedStore answers the pipeline's authentication questions from maps
// and counts how often it was asked; any other method panics (nil
// embedded interfaces): the cache is all this test is about.
type askedStore struct {
	store.Store
	mu      sync.Mutex
	sensors map[int64]runlet.Sensor
	secrets map[int64]string
	devices map[string]bool
	auto    bool
	asked   int
}

func (s *askedStore) CheckSensor(_ context.Context, id int64, secret string) (runlet.Sensor, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked++
	sn, ok := s.sensors[id]
	switch {
	case !ok:
		return sn, runlet.Errorf(runlet.ENOTFOUND, "No such sensor.")
	case s.secrets[id] != secret:
		return runlet.Sensor{}, runlet.Errorf(runlet.EUNAUTHORIZED, "Wrong secret.")
	}
	return sn, nil
}

func (s *askedStore) AddSensor(_ context.Context, sn *runlet.Sensor, secret string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.sensors[sn.ID]; ok {
		return runlet.Errorf(runlet.ECONFLICT, "Taken.")
	}
	s.sensors[sn.ID], s.secrets[sn.ID] = *sn, secret
	return nil
}

func (s *askedStore) DeviceByName(_ context.Context, ws, name string) (runlet.Device, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked++
	if !s.devices[name] {
		return runlet.Device{}, runlet.Errorf(runlet.ENOTFOUND, "No such device.")
	}
	return runlet.Device{Workspace: ws, Name: name}, nil
}

func (s *askedStore) TelemetrySettings(context.Context, string) (store.TelemetrySettings, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return store.TelemetrySettings{Retention: store.DefaultRetention, AutoRegister: s.auto}, nil
}

func (s *askedStore) askedTimes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.asked
}

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestService(t *testing.T, db store.Store, now func() time.Time) *Service {
	t.Helper()
	s, err := New(Config{Store: db, Bus: struct{ bus.Bus }{}, Now: now, Logger: slog.New(slog.DiscardHandler), CacheTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// TestSensorCache: a sensor is checked once per secret and CacheTTL; a
// refusal is remembered only briefly; a sensor's changed state is taken
// once the cache expires.
func TestSensorCache(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	db := &askedStore{
		sensors: map[int64]runlet.Sensor{
			1: {ID: 1, Workspace: "acme", State: runlet.SensorActive},
			2: {ID: 2, Workspace: "other", State: runlet.SensorActive},
		},
		secrets: map[int64]string{1: "64089519511846157", 2: "two"},
		devices: map[string]bool{"pi": true},
	}
	s := newTestService(t, db, clock.Now)
	ctx := context.Background()
	check := func(id int64, secret string, want Reason, wantAsked int) {
		t.Helper()
		got, err := s.sensor(ctx, "acme", id, secret, true)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("sensor %d with %q: %s, want %s", id, secret, got, want)
		}
		if n := db.askedTimes(); n != wantAsked {
			t.Errorf("sensor %d with %q: the store was asked %d times, want %d", id, secret, n, wantAsked)
		}
	}
	check(1, "64089519511846157", Accepted, 1)
	check(1, "64089519511846157", Accepted, 1)                       // cached
	check(1, "64089519511846158", BadSecret, 2)                      // another secret: asked
	check(2, "two", OtherWorkspace, 3)                               // a sensor of another workspace
	check(3, "x", UnknownSensor, 4)                                  // unknown, auto-registration off
	check(3, "x", UnknownSensor, 4)                                  // refusal cached briefly
	if r, _ := s.sensor(ctx, "acme", 1, "", false); r != BadSecret { // no secret in the batch
		t.Errorf("a reading without a secret: %s, want bad_secret", r)
	}

	db.mu.Lock()
	sn := db.sensors[1]
	sn.State = runlet.SensorInactive
	db.sensors[1] = sn
	db.auto = true
	db.mu.Unlock()
	clock.Add(negativeTTL)
	check(1, "64089519511846157", Accepted, 4) // still cached: CacheTTL holds
	check(3, "x", UnknownSensor, 5)            // the refusal expired, the settings did not
	clock.Add(time.Minute)                     // every change is taken within CacheTTL:
	check(1, "64089519511846157", Inactive, 6) // the state,
	check(3, "x", Accepted, 7)                 // auto-registration,
	check(3, "y", BadSecret, 8)                // which never bypasses the secret
}

// TestDeviceCache: a device is looked up once per CacheTTL; an unknown
// one is looked up again after a few seconds.
func TestDeviceCache(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	db := &askedStore{devices: map[string]bool{"pi": true}}
	s := newTestService(t, db, clock.Now)
	ctx := context.Background()
	for range 3 {
		if r, err := s.device(ctx, "acme", "pi"); r != Accepted || err != nil {
			t.Fatalf("pi: %s, %v", r, err)
		}
		if r, err := s.device(ctx, "acme", "mac"); r != UnknownDevice || err != nil {
			t.Fatalf("mac: %s, %v", r, err)
		}
	}
	if n := db.askedTimes(); n != 2 {
		t.Errorf("asked %d times, want 2", n)
	}
	db.mu.Lock()
	db.devices["mac"] = true
	db.mu.Unlock()
	clock.Add(negativeTTL)
	if r, _ := s.device(ctx, "acme", "mac"); r != Accepted {
		t.Errorf("mac once added: %s, want accepted", r)
	}
}

// TestRefusalWarnings: refusals are counted one by one but warned of at
// most once per warnEvery and reason, with the count since the last
// warning.
func TestRefusalWarnings(t *testing.T) {
	var logged []slog.Record
	var mu sync.Mutex
	h := recordHandler{f: func(r slog.Record) { mu.Lock(); logged = append(logged, r); mu.Unlock() }}
	clock := &testClock{t: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	c := newCounters(slog.New(h))
	c.now = clock.Now
	for range 1000 {
		c.add("acme", &tally{BadSecret: 3, Accepted: 1})
	}
	clock.Add(warnEvery)
	c.add("acme", &tally{BadSecret: 1})
	c.add("acme", &tally{Inactive: 1})
	if len(logged) != 3 {
		t.Fatalf("%d warnings, want 3 (bad secret twice, inactive once)", len(logged))
	}
	refused := func(r slog.Record) (n int64) {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "refused" {
				n = a.Value.Int64()
			}
			return true
		})
		return n
	}
	if n := refused(logged[1]); n != 3*999+1 {
		t.Errorf("second warning tells of %d refusals, want %d", n, 3*999+1)
	}
	if got := c.get("acme"); got.n[BadSecret].Load() != 3001 || got.n[Accepted].Load() != 1000 {
		t.Errorf("counted %d bad secrets and %d accepted, want 3001 and 1000", got.n[BadSecret].Load(), got.n[Accepted].Load())
	}
}

type recordHandler struct{ f func(slog.Record) }

func (h recordHandler) Enabled(context.Context, slog.Level) bool      { return true }
func (h recordHandler) Handle(_ context.Context, r slog.Record) error { h.f(r); return nil }
func (h recordHandler) WithAttrs([]slog.Attr) slog.Handler            { return h }
func (h recordHandler) WithGroup(string) slog.Handler                 { return h }

// BenchmarkPrepare measures the pipeline's own work per delivery, without
// the broker or the store: decode a batch of 1,000 readings over 1,000
// sensors and authenticate each sensor from a warm cache.
//
//	go test -run '^$' -bench Prepare ./telemetry/ingest
func BenchmarkPrepare(b *testing.B) {
	db := &askedStore{sensors: map[int64]runlet.Sensor{}, secrets: map[int64]string{}, devices: map[string]bool{"pi": true}}
	bt := batch.Batch{Secrets: map[int64]string{}}
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for id := int64(1); id <= 1000; id++ {
		secret := fmt.Sprint(64089519511846157 + id)
		db.sensors[id] = runlet.Sensor{ID: id, Workspace: "acme", State: runlet.SensorActive}
		db.secrets[id], bt.Secrets[id] = secret, secret
		r := runlet.RawReading{Seq: uint64(id), Accepted: at}
		r.Sensor, r.Time = id, at.Add(time.Duration(id)*time.Millisecond)
		r.Set(runlet.MetricTemp, float64(id)/4)
		bt.Readings = append(bt.Readings, r)
	}
	body, err := batch.Encode(bt)
	if err != nil {
		b.Fatal(err)
	}
	s, err := New(Config{Store: db, Bus: struct{ bus.Bus }{}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	d := bus.Delivery{Message: bus.Message{Key: bus.TelemetryKey("pi"), Body: body}}
	ctx := context.Background()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		it, err := s.prepare(ctx, "acme", d)
		if err != nil || len(it.rs) != 1000 {
			b.Fatalf("prepare: %d readings, %v", len(it.rs), err)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "readings/s")
}

// TestForget: a change made through this server (the API calls Forget and
// ForgetSettings) takes effect at the next reading, not after CacheTTL.
func TestForget(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	db := &askedStore{
		sensors: map[int64]runlet.Sensor{1: {ID: 1, Workspace: "acme", State: runlet.SensorActive}},
		secrets: map[int64]string{1: "s1"},
		devices: map[string]bool{"pi": true},
	}
	s := newTestService(t, db, clock.Now)
	ctx := context.Background()
	check := func(id int64, secret string, want Reason) {
		t.Helper()
		if got, err := s.sensor(ctx, "acme", id, secret, true); err != nil || got != want {
			t.Errorf("sensor %d with %q: %s, %v; want %s", id, secret, got, err, want)
		}
	}
	check(1, "s1", Accepted)
	check(3, "x", UnknownSensor)
	db.mu.Lock()
	sn := db.sensors[1]
	sn.State = runlet.SensorInactive
	db.sensors[1] = sn
	db.auto = true
	db.mu.Unlock()
	check(1, "s1", Accepted) // cached
	s.Forget(1)
	check(1, "s1", Inactive)
	s.ForgetSettings("acme")
	s.Forget(3) // the cached refusal
	check(3, "x", Accepted)
}
