package alert_test

import (
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/alert"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/store"
	"github.com/runlet/runlet/store/postgres"
	"github.com/runlet/runlet/store/sqlite"
	"github.com/runlet/runlet/telemetry/sim"
)

// The oracle test (R-TEL-3, R-TEL-4): the simulator's scripted day of
// readings (sim.AlertDay: excursions brief and long, flapping, a sensor
// quiet for 70 minutes, a battery running down, a gateway offline) is
// fed through the alert service on a real store, with a clock shared by
// both that the test moves, so that the day takes a few seconds; the
// alerts and the notifications the store ends with are compared with
// the simulator's independent oracle of the rules: the exact set of
// alerts, reminders and recoveries, each within its deadline. On the
// way, some batches are delivered twice and the leader dies and another
// process takes over; neither changes what people are told.

// oracleStep is how often, in the day's time, the test steps the
// leader: the oracle allows its decisions oracleSlack after they fall
// due.
const (
	oracleStep  = time.Minute
	oracleSlack = time.Minute
)

// dayClock is the day's time: it moves only when the test says.
type dayClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *dayClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *dayClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// dayPresence is the server's presence of the day's devices, as the
// script moves it.
type dayPresence struct {
	mu      sync.Mutex
	ws      string
	devices map[string]runlet.DevicePresence
}

func (p *dayPresence) Devices(ws string) []runlet.DevicePresence {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ws != p.ws {
		return nil
	}
	var out []runlet.DevicePresence
	for _, d := range p.devices {
		out = append(out, d)
	}
	return out
}

func (p *dayPresence) set(name string, online bool, since time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.devices[name] = runlet.DevicePresence{Name: name, Online: online, Since: since}
}

type openStore func(t *testing.T, now func() time.Time) store.Store

func sqliteStore(t *testing.T, now func() time.Time) store.Store {
	db, err := sqlite.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "runlet.db"), store.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func postgresStore(t *testing.T, now func() time.Time) store.Store {
	db, err := postgres.Open(t.Context(), testenv.Postgres(t), store.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestOracleDay(t *testing.T) {
	for _, c := range []struct {
		name string
		open openStore
	}{{"sqlite", sqliteStore}, {"postgres", postgresStore}} {
		t.Run(c.name, func(t *testing.T) { testOracleDay(t, c.open) })
	}
}

func testOracleDay(t *testing.T, open openStore) {
	ctx := t.Context()
	p := sim.AlertDay(1)
	clock := &dayClock{t: p.Start.Add(-time.Hour)}
	db := open(t, clock.Now)

	ws := runlet.Workspace{Name: "acme"}
	if err := db.CreateWorkspace(ctx, &ws); err != nil {
		t.Fatal(err)
	}
	if err := db.SetAlertSettings(ctx, ws.ID, p.Settings); err != nil {
		t.Fatalf("store the day's alert settings: %v", err)
	}
	presence := &dayPresence{ws: ws.ID, devices: map[string]runlet.DevicePresence{}}
	for _, g := range p.Gateways {
		if err := db.CreateDevice(ctx, &runlet.Device{Workspace: ws.ID, Name: g.Name}); err != nil {
			t.Fatal(err)
		}
		presence.set(g.Name, true, clock.Now())
	}
	for _, s := range p.Sensors {
		sn := runlet.Sensor{ID: s.ID, Workspace: ws.ID, Name: s.Name, Owner: s.Owner, Location: s.Location, Contact: s.Contact, Rules: s.Rules}
		if err := db.AddSensor(ctx, &sn, s.Secret); err != nil {
			t.Fatal(err)
		}
	}
	// One workspace channel takes every route: each decision told is one
	// notification. Nothing sends them here (notify is not running).
	ch := runlet.Channel{Workspace: ws.ID, Kind: runlet.ChannelWebhook, Target: "http://127.0.0.1:9/hook"}
	if err := db.AddChannel(ctx, &ch, "day-secret"); err != nil {
		t.Fatalf("add the workspace's channel: %v", err)
	}

	service := func(holder string) *alert.Service {
		svc, err := alert.New(alert.Config{
			Store: db, Presence: presence, Now: clock.Now, Holder: holder,
			Logger: slog.New(slog.DiscardHandler),
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(svc.Close)
		return svc
	}
	svc := service("oracle-1")
	// At 18:30, between the gateway's offline alert and its sensors'
	// silence, the leader dies (it is never closed nor stepped again, its
	// lease left to run out) and another process takes over: it must
	// miss nothing and send nothing twice.
	takeover := p.Start.Add(18*time.Hour + 30*time.Minute)

	// The day, in steps of oracleStep, and at each delivery and presence
	// change: the changes of a time first, then the leader's step.
	started := time.Now()
	deliveries, changes := p.Deliveries, p.Presence
	seq := map[string]uint64{}
	steps, delivered, redelivered := 0, 0, 0
	for now := p.Start; !now.After(p.End); {
		clock.Set(now)
		for len(changes) > 0 && !changes[0].At.After(now) {
			c := changes[0]
			changes = changes[1:]
			presence.set(p.Gateways[c.Gateway].Name, c.Online, c.At)
		}
		for len(deliveries) > 0 && !deliveries[0].At.After(now) {
			d := deliveries[0]
			deliveries = deliveries[1:]
			device := p.Gateways[d.Gateway].Name
			rs := make([]runlet.RawReading, len(d.Sends))
			for i, m := range d.Sends {
				seq[device]++
				rs[i] = runlet.RawReading{Reading: sim.ReadingOf(m), Device: device, Seq: seq[device], Accepted: d.At}
			}
			// As the ingest does: store, then evaluate before the ack.
			if _, err := db.AddReadings(ctx, ws.ID, rs); err != nil {
				t.Fatalf("store the readings delivered at %s: %v", now.Format("15:04:05"), err)
			}
			if err := svc.Readings(ctx, ws.ID, rs); err != nil {
				t.Fatalf("evaluate the readings delivered at %s: %v", now.Format("15:04:05"), err)
			}
			// The broker delivers some batches twice (the ingest died
			// before its ack): nothing changes. Only batches of one
			// reading a sensor: see redeliverable.
			if delivered++; delivered%7 == 0 && redeliverable(d) {
				redelivered++
				if _, err := db.AddReadings(ctx, ws.ID, rs); err != nil {
					t.Fatal(err)
				}
				if err := svc.Readings(ctx, ws.ID, rs); err != nil {
					t.Fatalf("evaluate the readings delivered again at %s: %v", now.Format("15:04:05"), err)
				}
			}
		}
		if !takeover.IsZero() && !now.Before(takeover) {
			svc, takeover = service("oracle-2"), time.Time{}
		}
		if err := svc.Step(ctx); err != nil {
			t.Fatalf("the leader's step at %s: %v", now.Format("15:04:05"), err)
		}
		steps++
		next := now.Truncate(oracleStep).Add(oracleStep)
		if len(deliveries) > 0 && deliveries[0].At.Before(next) {
			next = deliveries[0].At
		}
		if len(changes) > 0 && changes[0].At.Before(next) {
			next = changes[0].At
		}
		now = next
	}
	t.Logf("24 hours of the day in %s (%d leader steps, %d batches, %d delivered twice)", time.Since(started).Round(time.Millisecond), steps, delivered, redelivered)

	alerts := listAlerts(t, db, ws.ID)
	notes := listNotifications(t, db, ws.ID)
	want := sim.ExpectAlerts(p, sim.AlertRules{Slack: oracleSlack})
	got := sim.ObservedEvents(alerts, notes)
	if d := sim.CompareAlerts(want, got); !d.OK() {
		for _, e := range got {
			t.Logf("decided: %s", e)
		}
		t.Fatalf("the alert service differs from the oracle (%d decisions expected, %d taken):\n%s", len(want), len(got), d)
	}
	keys := map[string]bool{}
	for _, n := range notes {
		if keys[n.Key] {
			t.Errorf("notification key %q twice", n.Key)
		}
		keys[n.Key] = true
		if n.Channel != ch.ID || n.State != runlet.NotificationPending {
			t.Errorf("notification %d: channel %q, state %s; want %q, pending", n.ID, n.Channel, n.State, ch.ID)
		}
	}
	for _, e := range got {
		if e.Told && e.Notices != 1 {
			t.Errorf("%s: %d notifications through one channel", e, e.Notices)
		}
	}
	t.Logf("%d decisions as the oracle says, %d notifications", len(want), len(notes))
}

func listAlerts(t *testing.T, db store.Store, ws string) []runlet.Alert {
	t.Helper()
	var all []runlet.Alert
	f := store.AlertFilter{Limit: store.MaxLimit}
	for {
		page, err := db.ListAlerts(t.Context(), ws, f)
		if err != nil {
			t.Fatalf("list the alerts: %v", err)
		}
		all = append(all, page...)
		if len(page) < f.Limit {
			return all
		}
		f.Before = page[len(page)-1].ID
	}
}

func listNotifications(t *testing.T, db store.Store, ws string) []runlet.Notification {
	t.Helper()
	var all []runlet.Notification
	f := store.NotificationFilter{Limit: store.MaxLimit}
	for {
		page, err := db.ListNotifications(t.Context(), ws, f)
		if err != nil {
			t.Fatalf("list the notifications: %v", err)
		}
		all = append(all, page...)
		if len(page) < f.Limit {
			return all
		}
		f.Before = page[len(page)-1].ID
	}
}

// redeliverable reports whether d holds at most one reading of each
// sensor. Delivered again at once, such a batch changes nothing under
// the rules: a reading older than an open alert's breach is ignored, and
// one not older finds the key as its first delivery left it. A batch
// with a sensor's excursion and its end (the spool pi-2 delivers at
// 19:40) would open a second alert, not told, on a redelivery at the
// same time: the rules say so, and the oracle does not model it.
func redeliverable(d sim.Delivery) bool {
	seen := map[int64]bool{}
	for _, m := range d.Sends {
		if seen[m.Sensor] {
			return false
		}
		seen[m.Sensor] = true
	}
	return true
}
