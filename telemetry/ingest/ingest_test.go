package ingest_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/store"
	"github.com/runlet/runlet/telemetry/batch"
	"github.com/runlet/runlet/telemetry/ingest"
)

// stacks are the two stacks a server runs on.
var stacks = []struct {
	name string
	open stack
}{
	{"sqlite+nats", sqliteNATS},
	{"postgres+rabbitmq", postgresRabbitMQ},
}

// TestPipeline sends what devices send, good and bad, on both stacks, and
// checks the store holds exactly the authenticated readings, once each,
// and that every refusal is counted.
func TestPipeline(t *testing.T) {
	for _, st := range stacks {
		t.Run(st.name, func(t *testing.T) {
			e := newEnv(t, st.open)
			e.sensor(t, e.ws, 1, secret(1), runlet.SensorActive)
			e.sensor(t, e.ws, 2, secret(2), runlet.SensorActive)
			e.sensor(t, e.other, 50, secret(50), runlet.SensorActive)
			e.sensor(t, e.ws, 60, secret(60), runlet.SensorInactive)
			e.start(t)

			one, two := readings(1, 1, 0, 5), readings(2, 6, 0, 3)
			late := readings(2, 9, 100, 1)
			late[0].SentTime, late[0].TimeReplaced = 123, true // the seed's example time
			good := batchOf(one, two, late)
			e.send(t, "pi", good)
			e.send(t, "pi", good) // delivered twice: stored once
			wrong := batchOf(readings(1, 20, 20, 3))
			wrong.Secrets[1] = "12345"
			e.send(t, "pi", wrong)
			missing := batchOf(readings(1, 30, 30, 1))
			delete(missing.Secrets, 1)
			e.send(t, "pi", missing)
			e.send(t, "pi", batchOf(readings(999, 40, 0, 2)))
			e.send(t, "mac", batchOf(readings(50, 1, 0, 2)))
			e.send(t, "mac", batchOf(readings(60, 3, 0, 2), readings(1, 5, 50, 1)))
			e.send(t, "ghost", batchOf(readings(1, 1, 60, 1)))
			e.sendRaw(t, bus.TelemetryKey("pi"), []byte("not a batch"))
			body, err := batch.Encode(batchOf(readings(1, 1, 70, 1)))
			if err != nil {
				t.Fatal(err)
			}
			e.sendRaw(t, bus.TelemetryKey(""), body)

			want := ingest.Stats{
				Accepted: 2*9 + 1, Stored: 9 + 1, Duplicate: 9, TimeReplaced: 2,
				BadKey: 1, BadBatch: 1, UnknownDevice: 1, UnknownSensor: 2, BadSecret: 4,
				OtherWorkspace: 2, Inactive: 2,
			}
			got := e.await(t, "every message counted", func(s ingest.Stats) bool {
				return s.Accepted+s.Refused() >= want.Accepted+want.Refused()
			})
			if got != want {
				t.Errorf("counts:\n got %+v\nwant %+v", got, want)
			}

			// Sensor 1: its five good readings, then the one mac relayed.
			arch := e.archive(t, e.ws, 1)
			wantArch := append(slices.Clone(one), readings(1, 5, 50, 1)...)
			for i := range 5 {
				wantArch[i].Device = "pi"
			}
			wantArch[5].Device = "mac"
			sameReadings(t, "archive of sensor 1", arch, wantArch)
			if n := len(e.series(t, e.ws, 1, runlet.MetricTemp)); n != 6 {
				t.Errorf("sensor 1 has %d temperature points, want 6", n)
			}
			arch2 := e.archive(t, e.ws, 2)
			if len(arch2) != 4 || !arch2[3].TimeReplaced || arch2[3].SentTime != 123 {
				t.Errorf("archive of sensor 2 = %+v, want 4 readings, the last with its sent time 123 replaced", arch2)
			}
			for _, c := range []struct {
				ws     string
				sensor int64
			}{{e.other, 50}, {e.ws, 60}} {
				if a := e.archive(t, c.ws, c.sensor); len(a) != 0 {
					t.Errorf("sensor %d: %d readings archived, want none", c.sensor, len(a))
				}
			}
			if _, err := e.db.Sensor(e.ctx, e.ws, 999); runlet.ErrorCode(err) != runlet.ENOTFOUND {
				t.Errorf("unknown sensor 999: %v, want it still unknown", err)
			}
		})
	}
}

// sameReadings compares what the archive holds with what was sent.
func sameReadings(t *testing.T, what string, got, want []runlet.RawReading) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d readings, want %d", what, len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Device != w.Device || g.Seq != w.Seq || g.Sensor != w.Sensor || !g.Time.Equal(w.Time) ||
			g.Values != w.Values || g.Has != w.Has || g.TimeReplaced != w.TimeReplaced || g.SentTime != w.SentTime {
			t.Errorf("%s[%d] = %+v, want %+v", what, i, g, w)
		}
		if i > 0 && g.ID <= got[i-1].ID {
			t.Errorf("%s: not in insertion order at %d", what, i)
		}
	}
}

// TestAutoRegister: a workspace that lets sensors register by their
// first reading takes an unknown sensor with the secret it came with,
// and then refuses any other secret for it.
func TestAutoRegister(t *testing.T) {
	e := newEnv(t, sqliteNATS)
	if err := e.db.SetTelemetrySettings(e.ctx, e.ws, store.TelemetrySettings{Retention: store.DefaultRetention, AutoRegister: true}); err != nil {
		t.Fatal(err)
	}
	e.sensor(t, e.other, 50, secret(50), runlet.SensorActive)
	e.start(t)
	e.send(t, "pi", batchOf(readings(77, 1, 0, 3)))
	e.await(t, "the new sensor's readings", func(s ingest.Stats) bool { return s.Accepted == 3 })
	sn, err := e.db.Sensor(e.ctx, e.ws, 77)
	if err != nil {
		t.Fatalf("sensor 77 was not registered: %v", err)
	}
	if sn.State != runlet.SensorActive {
		t.Errorf("registered sensor is %s, want active", sn.State)
	}
	impostor := batchOf(readings(77, 4, 10, 2))
	impostor.Secrets[77] = "1234"
	e.send(t, "pi", impostor)
	e.send(t, "pi", batchOf(readings(50, 6, 0, 1))) // another workspace's: never taken
	got := e.await(t, "the impostor refused", func(s ingest.Stats) bool { return s.Refused() == 3 })
	if got.BadSecret != 2 || got.OtherWorkspace != 1 || got.Stored != 3 {
		t.Errorf("counts %+v: want 2 bad secrets, 1 other workspace, 3 stored", got)
	}
	if n := len(e.archive(t, e.ws, 77)); n != 3 {
		t.Errorf("sensor 77 has %d readings archived, want 3", n)
	}
}

// journal records, in order, what the store and the broker were told.
type journal struct {
	mu  sync.Mutex
	log []string
}

func (j *journal) add(s string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.log = append(j.log, s)
}

func (j *journal) get() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.log)
}

// flakyStore fails AddReadings fails times, then stores.
type flakyStore struct {
	store.Store
	j     *journal
	mu    sync.Mutex
	fails int
}

func (f *flakyStore) AddReadings(ctx context.Context, ws string, rs []runlet.RawReading) (int, error) {
	f.mu.Lock()
	fail := f.fails > 0
	f.fails--
	f.mu.Unlock()
	if fail {
		f.j.add("fail")
		return 0, errors.New("database is down")
	}
	n, err := f.Store.AddReadings(ctx, ws, rs)
	if err == nil {
		f.j.add("commit")
	}
	return n, err
}

// journalBus records each settlement of its consumers' deliveries.
type journalBus struct {
	bus.Bus
	j *journal
}

func (b *journalBus) Consume(ctx context.Context, ws string, q bus.Queue, h bus.DeliveryHandler) (bus.Subscription, error) {
	return b.Bus.Consume(ctx, ws, q, func(d bus.Delivery) {
		d.Acker = &journalAcker{Acknowledger: d.Acker, j: b.j}
		h(d)
	})
}

type journalAcker struct {
	bus.Acknowledger
	j *journal
}

func (a *journalAcker) Ack() error  { a.j.add("ack"); return a.Acknowledger.Ack() }
func (a *journalAcker) Nack() error { a.j.add("nack"); return a.Acknowledger.Nack() }

// TestStoreFailure: a batch the store cannot take is nacked, never acked
// before it is committed, and stored once the store is back.
func TestStoreFailure(t *testing.T) {
	j := &journal{}
	e := newEnv(t, sqliteNATS, func(e *env, cfg *ingest.Config) {
		cfg.Store = &flakyStore{Store: e.db, j: j, fails: 2}
		cfg.Bus = &journalBus{Bus: e.bus, j: j}
	})
	e.sensor(t, e.ws, 1, secret(1), runlet.SensorActive)
	e.start(t)
	rs := readings(1, 1, 0, 4)
	e.send(t, "pi", batchOf(rs))
	e.await(t, "the batch stored after the failures", func(s ingest.Stats) bool { return s.Accepted == 4 })
	want := []string{"fail", "nack", "fail", "nack", "commit", "ack"}
	if got := j.get(); !slices.Equal(got, want) {
		t.Errorf("store and broker were told %q, want %q", got, want)
	}
	if got := e.svc.Stats(e.ws); got.Stored != 4 || got.Duplicate != 0 {
		t.Errorf("counts %+v: want 4 stored, no duplicate", got)
	}
	for i := range rs {
		rs[i].Device = "pi"
	}
	sameReadings(t, "archive", e.archive(t, e.ws, 1), rs)
}

// readingsTap is a second consumer of the authenticated readings, added
// without the pipeline knowing: it subscribes to bus.AllReadings.
func readingsTap(t *testing.T, e *env) <-chan bus.Message {
	t.Helper()
	ch := make(chan bus.Message, 64)
	sub, err := e.bus.Subscribe(e.ctx, e.ws, bus.AllReadings, func(m bus.Message) { ch <- m })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
	return ch
}

// tapped receives the readings of n messages from the tap, with the
// device each came from.
func tapped(t *testing.T, ch <-chan bus.Message, n int) (devices []string, rs []runlet.RawReading) {
	t.Helper()
	timeout := time.After(patience)
	for range n {
		select {
		case m := <-ch:
			d, ok := parseReadingsKey(m.Key)
			if !ok {
				t.Fatalf("readings published on %q", m.Key)
			}
			b, err := batch.Decode(m.Body)
			if err != nil {
				t.Fatalf("readings published undecodable: %v", err)
			}
			if len(b.Secrets) != 0 {
				t.Errorf("readings published with the sensors' secrets: %v", b.Secrets)
			}
			for range b.Readings {
				devices = append(devices, d)
			}
			rs = append(rs, b.Readings...)
		case <-timeout:
			t.Fatalf("waited %v for the readings published, got %d messages of %d", patience, len(devices), n)
		}
	}
	return devices, rs
}

func parseReadingsKey(k bus.Key) (string, bool) {
	w := k.Words()
	if len(w) != 3 || w[0] != "readings" || w[2] != "v1" {
		return "", false
	}
	d, err := bus.Unword(w[1])
	return d, err == nil
}

// TestSecondConsumerOfReadings: a new consumer of the authenticated
// readings is added by subscribing, without touching the pipeline; it
// gets them without secrets, and never the refused ones.
func TestSecondConsumerOfReadings(t *testing.T) {
	e := newEnv(t, sqliteNATS)
	e.sensor(t, e.ws, 1, secret(1), runlet.SensorActive)
	e.start(t)
	tap := readingsTap(t, e)
	sent := readings(1, 1, 0, 3)
	e.send(t, "pi", batchOf(sent, readings(999, 4, 0, 2)))
	devices, got := tapped(t, tap, 1)
	if !slices.Equal(devices, []string{"pi", "pi", "pi"}) {
		t.Errorf("devices %q, want pi three times", devices)
	}
	for i := range got {
		got[i].Device, got[i].ID = "pi", int64(i+1)
		sent[i].Device = "pi"
	}
	sameReadings(t, "readings published", got, sent)
}

// TestReplay: replaying a sensor's archive adds nothing to the store,
// however often, and publishes the readings again.
func TestReplay(t *testing.T) {
	e := newEnv(t, sqliteNATS)
	e.sensor(t, e.ws, 1, secret(1), runlet.SensorActive)
	e.sensor(t, e.other, 50, secret(50), runlet.SensorActive)
	e.start(t)
	e.send(t, "pi", batchOf(readings(1, 1, 0, 6)))
	e.send(t, "mac", batchOf(readings(1, 1, 6, 4)))
	e.await(t, "the readings stored", func(s ingest.Stats) bool { return s.Accepted == 10 })
	before, points := e.archive(t, e.ws, 1), e.series(t, e.ws, 1, runlet.MetricTemp)
	tap := readingsTap(t, e)
	for round := range 2 {
		n, err := e.svc.Replay(e.ctx, e.ws, 1, base, base.Add(time.Hour))
		if err != nil || n != 10 {
			t.Fatalf("replay %d: %d, %v; want 10 readings", round, n, err)
		}
		sameReadings(t, "archive after the replay", e.archive(t, e.ws, 1), before)
		if after := e.series(t, e.ws, 1, runlet.MetricTemp); !slices.Equal(after, points) {
			t.Errorf("series after the replay:\n%v\nwant\n%v", after, points)
		}
		devices, rs := tapped(t, tap, 2)
		if want := slices.Concat(slices.Repeat([]string{"pi"}, 6), slices.Repeat([]string{"mac"}, 4)); !slices.Equal(devices, want) {
			t.Errorf("replayed from %q, want %q", devices, want)
		}
		for i := range rs {
			rs[i].Device, rs[i].ID = devices[i], before[i].ID
		}
		sameReadings(t, "readings republished", rs, before)
	}
	if n, err := e.svc.Replay(e.ctx, e.ws, 1, base.Add(3*time.Second), base.Add(5*time.Second)); err != nil || n != 2 {
		t.Errorf("replay of two seconds: %d, %v; want 2 readings", n, err)
	}
	for _, id := range []int64{999, 50} {
		if _, err := e.svc.Replay(e.ctx, e.ws, id, base, base.Add(time.Hour)); runlet.ErrorCode(err) != runlet.ENOTFOUND {
			t.Errorf("replay of sensor %d: %v, want not found", id, err)
		}
	}
}

// TestPrune deletes the readings older than the workspace's retention.
func TestPrune(t *testing.T) {
	e := newEnv(t, sqliteNATS)
	e.sensor(t, e.ws, 1, secret(1), runlet.SensorActive)
	e.start(t)
	e.send(t, "pi", batchOf(readings(1, 1, 0, 5), readings(1, 6, 7200, 5)))
	e.await(t, "the readings stored", func(s ingest.Stats) bool { return s.Accepted == 10 })
	if err := e.db.SetTelemetrySettings(e.ctx, e.ws, store.TelemetrySettings{Retention: time.Hour}); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(base.Add(3 * time.Hour)) // keeps what is after base + 2h
	n, err := e.svc.Prune(e.ctx)
	if err != nil || n == 0 {
		t.Fatalf("prune: %d rows, %v", n, err)
	}
	arch := e.archive(t, e.ws, 1)
	if len(arch) != 5 || arch[0].Seq != 6 {
		t.Errorf("after the prune the archive holds %d readings from seq %d, want 5 from 6", len(arch), arch[0].Seq)
	}
	if n, err := e.svc.Prune(e.ctx); err != nil || n != 0 {
		t.Errorf("second prune: %d rows, %v; want none", n, err)
	}
}
