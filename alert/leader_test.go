package alert_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/alert"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/store"
)

// TestSilence: a sensor not heard for its silence period (1 h by
// default) raises an alert when it falls due, not before, and says that
// the gateway that relayed its last reading is offline; its next reading
// resolves it and says after how long (R-TEL-4).
func TestSilence(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d dialect) {
		e := newEnv(t, d)
		st, _ := e.db.AlertSettings(t.Context(), e.ws)
		st.OfflineLimit = runlet.Duration(24 * time.Hour) // no offline alert here
		if err := e.db.SetAlertSettings(t.Context(), e.ws, st); err != nil {
			t.Fatal(err)
		}
		s := e.service("a")
		e.readings(s, temp(12, start, 5))
		e.clock.Advance(time.Hour - time.Millisecond)
		e.step(s)
		if as := e.alerts(); len(as) != 0 {
			t.Fatalf("alerts before the silence period ran out: %+v", as)
		}
		e.presence.set(e.ws, runlet.DevicePresence{Name: "pi-3", Since: start.Add(-2 * time.Minute)})
		e.clock.Advance(time.Millisecond)
		e.step(s)
		as := e.alerts()
		if len(as) != 1 {
			t.Fatalf("alerts %+v, want the silence alert", as)
		}
		a := as[0]
		want := "Fridge 3 (kitchen) has not reported since 10:00 UTC (silence period 1h); gateway pi-3 offline since 09:58 UTC"
		if a.Kind != runlet.AlertSilence || a.Key != runlet.SilenceKey(12) || a.Summary != want || !a.At.Equal(start.Add(time.Hour)) ||
			a.Value != 3600 || a.Limit != 3600 || a.Device != "pi-3" || a.Sensor != 12 {
			t.Errorf("the silence alert: %+v\nwant the summary %q", a, want)
		}
		if got := e.told(); !slices.Equal(got, []string{"opened:ann"}) {
			t.Errorf("told %v, want the owner", got)
		}
		e.clock.Advance(time.Hour)
		e.step(s) // open already: nothing more
		e.clock.Advance(10 * time.Minute)
		e.readings(s, temp(12, e.clock.Now(), 5))
		a = e.alerts()[0]
		if a.Open() || a.Recovery != "Fridge 3 (kitchen) reported again at 12:10 UTC after 2h10m" {
			t.Errorf("the resolved silence alert: %+v", a)
		}
		if got := e.told(); !slices.Equal(got, []string{"opened:ann", "resolved:ann"}) {
			t.Errorf("told %v", got)
		}
		// A sensor made inactive is no longer watched.
		sn, err := e.db.Sensor(t.Context(), e.ws, 12)
		if err != nil {
			t.Fatal(err)
		}
		sn.State = runlet.SensorInactive
		if _, err := e.db.UpdateSensor(t.Context(), sn, ""); err != nil {
			t.Fatal(err)
		}
		s.Forget(e.ws)
		e.clock.Advance(2 * time.Hour)
		e.step(s)
		if as := e.alerts(); len(as) != 1 {
			t.Errorf("an inactive sensor's silence raised an alert: %+v", as[1:])
		}
		if _, ok, err := e.db.NextDue(t.Context()); ok || err != nil {
			t.Errorf("an inactive sensor is still watched (%v)", err)
		}
	})
}

// TestSilenceTakeover: the leader stops without releasing its lease (it
// was killed); another process takes over once the lease expires, opens
// what fell due meanwhile, once, and the old leader, back, does nothing
// twice.
func TestSilenceTakeover(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d dialect) {
		e := newEnv(t, d)
		a, b := e.service("a"), e.service("b")
		e.step(a) // a leads
		e.step(b)
		e.readings(b, temp(12, start, 5))
		e.clock.Advance(10 * time.Second)
		e.readings(a, temp(13, e.clock.Now(), 5))
		e.clock.Advance(time.Hour) // both due; a is dead, its lease expired
		e.step(b)
		if got := e.told(); !slices.Equal(got, []string{"opened:ann", "opened:bob"}) {
			t.Fatalf("told %v after the takeover, want both silences once", got)
		}
		if l, err := e.db.Lease(t.Context(), alert.DefaultLease); err != nil || l.Holder != "b" {
			t.Errorf("the lease %+v (%v), want b's", l, err)
		}
		e.step(a) // back from the dead: the lease is b's
		e.step(b)
		e.clock.Advance(time.Minute)
		e.step(a)
		e.step(b)
		if as := e.alerts(); len(as) != 2 {
			t.Errorf("alerts %+v, want 2", as)
		}
		if got := e.told(); len(got) != 2 {
			t.Errorf("told %v, want nothing twice", got)
		}
	})
}

// TestDeviceAlerts: a device offline longer than the limit, its outbox
// full, and readings refused for bad credentials raise alerts for the
// admins; each resolves when the device is back, the outbox drains, and
// a period passes without a refusal.
func TestDeviceAlerts(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d dialect) {
		e := newEnv(t, d)
		s := e.service("a")
		e.presence.set(e.ws, runlet.DevicePresence{Name: "pi-3", Since: start})
		e.clock.Advance(15*time.Minute - time.Millisecond)
		e.step(s)
		if as := e.alerts(); len(as) != 0 {
			t.Fatalf("alerts before the limit: %+v", as)
		}
		e.clock.Advance(time.Millisecond)
		e.step(s)
		as := e.alerts()
		if len(as) != 1 || as[0].Kind != runlet.AlertOffline || as[0].Summary != "Device pi-3 offline since 10:00 UTC (limit 15m)" ||
			as[0].Key != runlet.DeviceKey("pi-3", runlet.AlertOffline) {
			t.Fatalf("alerts %+v, want pi-3 offline", as)
		}
		e.clock.Advance(5 * time.Minute)
		e.presence.set(e.ws, runlet.DevicePresence{Name: "pi-3", Online: true, Since: e.clock.Now(),
			Outbox: &runlet.OutboxState{Full: true, Dropped: 40, Pending: 1000}})
		e.step(s)
		as = e.alerts()
		if len(as) != 2 || as[0].Open() || as[0].Recovery != "Device pi-3 back online at 10:20 UTC after 20m" ||
			as[1].Kind != runlet.AlertOutbox || !as[1].Open() || !strings.Contains(as[1].Summary, "outbox full") {
			t.Fatalf("alerts %+v, want offline resolved and outbox open", as)
		}
		e.clock.Advance(time.Minute)
		e.presence.set(e.ws, runlet.DevicePresence{Name: "pi-3", Online: true, Since: e.clock.Now(), Outbox: &runlet.OutboxState{Dropped: 40}})
		e.step(s)
		if a := e.alerts()[1]; a.Open() {
			t.Errorf("the outbox alert stayed open once it drops nothing: %+v", a)
		}

		s.Refused(e.ws, "pi-3", "bad_secret", 3)
		s.Refused(e.ws, "pi-3", "other_workspace", 1)
		s.Refused(e.ws, "pi-3", "inactive", 5) // not bad credentials
		e.step(s)
		e.clock.Advance(30 * time.Minute)
		s.Refused(e.ws, "pi-3", "bad_secret", 2)
		e.step(s)
		as = e.alerts()
		if len(as) != 3 || as[2].Kind != runlet.AlertRefused || as[2].Value != 6 || !as[2].Open() ||
			!strings.Contains(as[2].Summary, "bad_secret: 2") {
			t.Fatalf("alerts %+v, want pi-3's refusals (6) open", as)
		}
		e.clock.Advance(time.Hour - time.Millisecond)
		e.step(s)
		if !e.alerts()[2].Open() {
			t.Fatal("the refused alert resolved within a period of the last refusal")
		}
		e.clock.Advance(time.Millisecond)
		e.step(s)
		if a := e.alerts()[2]; a.Open() {
			t.Errorf("the refused alert is open a period after the last refusal: %+v", a)
		}
		want := []string{"opened:bob", "resolved:bob", "opened:bob", "resolved:bob", "opened:bob", "resolved:bob"}
		if got := e.told(); !slices.Equal(got, want) {
			t.Errorf("told %v, want %v (the admin; ann is a plain member)", got, want)
		}
	})
}

// TestChangedThreshold: a threshold changed through another process takes
// effect within the cache's time (2 s); Forget makes it take effect at
// once.
func TestChangedThreshold(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d dialect) {
		e := newEnv(t, d)
		s := e.service("a")
		e.readings(s, temp(12, start, 6)) // the cache is filled
		sn, err := e.db.Sensor(t.Context(), e.ws, 12)
		if err != nil {
			t.Fatal(err)
		}
		sn.Rules.TempMax = f(5)
		if _, err := e.db.UpdateSensor(t.Context(), sn, ""); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(alert.DefaultCacheTTL - time.Millisecond)
		e.readings(s, temp(12, e.clock.Now(), 6))
		if as := e.alerts(); len(as) != 0 {
			t.Fatalf("the old threshold held within the cache's time, yet: %+v", as)
		}
		e.clock.Advance(time.Millisecond)
		e.readings(s, temp(12, e.clock.Now(), 6))
		if as := e.alerts(); len(as) != 1 || as[0].Limit != 5 {
			t.Fatalf("alerts %+v, want the new maximum 5 to hold", as)
		}
		// The workspace's default, changed here: Forget, and at once.
		st, _ := e.db.AlertSettings(t.Context(), e.ws)
		st.Defaults.TempMin = f(4)
		if err := e.db.SetAlertSettings(t.Context(), e.ws, st); err != nil {
			t.Fatal(err)
		}
		s.Forget(e.ws)
		e.readings(s, temp(13, e.clock.Now(), 3))
		if as := e.alerts(); len(as) != 2 || as[1].Sensor != 13 || as[1].Limit != 4 {
			t.Fatalf("alerts %+v, want 13 below the new minimum 4 at once", as)
		}
	})
}

// TestWallClockSilence runs the service as a server does, on the wall
// clock with a silence period of 2 s, and waits for the alert to be in
// the store, and for its end once the sensor reports again.
func TestWallClockSilence(t *testing.T) {
	d := sqliteDialect(t)
	db := d.open(t, nil)
	ctx := t.Context()
	w := runlet.Workspace{Name: "acme"}
	if err := db.CreateWorkspace(ctx, &w); err != nil {
		t.Fatal(err)
	}
	sn := runlet.Sensor{ID: 7, Workspace: w.ID, Name: "Door", State: runlet.SensorActive, Rules: runlet.SensorRules{Silence: runlet.Duration(2 * time.Second)}}
	if err := db.AddSensor(ctx, &sn, "x"); err != nil {
		t.Fatal(err)
	}
	s, err := alert.New(alert.Config{Store: d.open(t, nil), Logger: quiet, Poll: 200 * time.Millisecond, LeaseTTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	defer s.Close()
	heard := time.Now()
	if err := s.Readings(ctx, w.ID, []runlet.RawReading{temp(7, heard, 20)}); err != nil {
		t.Fatal(err)
	}
	var a runlet.Alert
	testenv.Eventually(t, "the silence alert", 30*time.Second, func() bool {
		as, err := db.ListAlerts(ctx, w.ID, store.AlertFilter{Kind: runlet.AlertSilence})
		if len(as) == 1 && err == nil {
			a = as[0]
			return true
		}
		return false
	})
	late := a.Opened.Sub(heard.Add(2 * time.Second))
	t.Logf("silence alert opened %v after its due time", late)
	if late < 0 || late > 10*time.Second { // the issue asks p99 ≤ 10 s
		t.Errorf("the alert opened %v after its due time, want within the poll", late)
	}
	if err := s.Readings(ctx, w.ID, []runlet.RawReading{temp(7, time.Now(), 20)}); err != nil {
		t.Fatal(err)
	}
	if a, err := db.Alert(ctx, w.ID, a.ID); err != nil || a.Open() {
		t.Errorf("the silence alert after the sensor reported: %+v, %v", a, err)
	}
	s.Close()
	if l, err := db.Lease(context.Background(), alert.DefaultLease); err == nil {
		t.Errorf("the lease %+v is held after Close", l)
	}
}
