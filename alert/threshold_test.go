package alert_test

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/alert"
)

// TestThresholdOpenRemindResolve: the once-per-period rule on one key
// (R-TEL-3): an excursion opens an alert and tells the owner; readings
// still out of range tell nobody until a period has passed, then a
// reminder with the latest value; a return into range resolves and tells
// of it; an excursion soon after opens an alert that nobody is told of
// until the period has passed since the last time they were told.
func TestThresholdOpenRemindResolve(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d dialect) {
		e := newEnv(t, d)
		s := e.service("a")
		e.readings(s, temp(12, start, 9.5))
		as := e.alerts()
		if len(as) != 1 {
			t.Fatalf("alerts %+v, want one", as)
		}
		a := as[0]
		want := "Fridge 3 (kitchen, owner ann@example.com): temperature 9.5 °C is above its maximum 8 °C at 10:00 UTC"
		if a.Kind != runlet.AlertThreshold || a.Key != runlet.ThresholdKey(12, runlet.MetricTemp) || a.Value != 9.5 || a.Limit != 8 ||
			a.Bound != runlet.BoundMax || !a.At.Equal(start) || a.Summary != want || !a.Open() || !a.Notified.Equal(start) {
			t.Errorf("the alert: %+v\nwant the summary %q", a, want)
		}
		if got := e.told(); !slices.Equal(got, []string{"opened:ann"}) {
			t.Fatalf("told %v, want the owner told once", got)
		}
		n := e.notes()[0]
		if n.Subject != "[Runlet] "+want || !strings.Contains(n.Body, "Contact: +351 900") || !strings.Contains(n.Body, "Limit: 8 °C (maximum)") {
			t.Errorf("the notification: subject %q, body\n%s", n.Subject, n.Body)
		}
		var p map[string]any
		if err := json.Unmarshal([]byte(n.Payload), &p); err != nil || p["event"] != "opened" || p["value"] != 9.5 || p["bound"] != "max" ||
			p["sensor"].(map[string]any)["owner"] != "ann@example.com" {
			t.Errorf("the payload: %s (%v)", n.Payload, err)
		}
		if e.kicks.n == 0 {
			t.Error("the sender was not kicked")
		}

		e.clock.Advance(30 * time.Minute)
		e.readings(s, temp(12, e.clock.Now(), 9.7))
		e.clock.Advance(30*time.Minute - time.Millisecond)
		e.readings(s, temp(12, e.clock.Now(), 9.8))
		if got := e.told(); len(got) != 1 {
			t.Fatalf("told %v within the period", got)
		}
		e.clock.Advance(time.Millisecond) // a period since people were told
		e.readings(s, temp(12, e.clock.Now(), 9.9))
		if got := e.told(); !slices.Equal(got, []string{"opened:ann", "reminder:ann"}) {
			t.Fatalf("told %v, want a reminder after a period", got)
		}
		a = e.alerts()[0]
		if a.Value != 9.9 || a.Reminders != 1 || !a.At.Equal(start) || !strings.Contains(a.Summary, "9.9 °C") {
			t.Errorf("the reminded alert: %+v", a)
		}
		remindedAt := e.clock.Now()

		e.clock.Advance(5 * time.Minute)
		e.readings(s, temp(12, e.clock.Now(), 8)) // a bound is in range
		a = e.alerts()[0]
		if a.Open() || a.Recovery != "Fridge 3 (kitchen, owner ann@example.com): temperature back to 8 °C at 11:05 UTC" {
			t.Errorf("the resolved alert: %+v", a)
		}
		if got := e.told(); !slices.Equal(got, []string{"opened:ann", "reminder:ann", "resolved:ann"}) {
			t.Fatalf("told %v, want the recovery", got)
		}
		if ns := e.notes(); !strings.HasPrefix(ns[2].Subject, "[Runlet] resolved: ") {
			t.Errorf("the recovery's subject: %q", ns[2].Subject)
		}

		e.clock.Advance(5 * time.Minute)
		e.readings(s, temp(12, e.clock.Now(), 1.5)) // below: a new alert, nobody told yet
		as = e.alerts()
		if len(as) != 2 || !as[1].Open() || as[1].Bound != runlet.BoundMin || !as[1].Notified.IsZero() {
			t.Fatalf("alerts %+v, want a second one open, not told", as)
		}
		if got := e.told(); len(got) != 3 {
			t.Fatalf("told %v within the period of the last time", got)
		}
		e.clock.Set(remindedAt.Add(time.Hour))
		e.readings(s, temp(12, e.clock.Now(), 1.4))
		if got := e.told(); !slices.Equal(got, []string{"opened:ann", "reminder:ann", "resolved:ann", "opened:ann"}) {
			t.Fatalf("told %v, want the second alert told as opened once the period passed", got)
		}
		if a := e.alerts()[1]; a.Reminders != 0 || a.Value != 1.4 {
			t.Errorf("the second alert: %+v", a)
		}
		e.clock.Advance(time.Minute)
		e.readings(s, temp(12, e.clock.Now(), 5))
		if got := e.told(); got[len(got)-1] != "resolved:ann" {
			t.Errorf("told %v, want the second recovery", got)
		}
	})
}

// TestFlappingAndOrder: readings flapping in and out of range within a
// period open and resolve alerts but tell people once; readings of a
// batch are taken in time order, and a reading older than the open
// alert's breach neither resolves nor reminds.
func TestFlappingAndOrder(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d dialect) {
		e := newEnv(t, d)
		s := e.service("a")
		t0 := e.clock.Now()
		// Out of order in the batch: 10:00 in, 10:01 out, 10:02 in.
		e.readings(s, temp(12, t0.Add(2*time.Minute), 5), temp(12, t0, 5), temp(12, t0.Add(time.Minute), 9))
		as := e.alerts()
		if len(as) != 1 || as[0].Open() || !as[0].At.Equal(t0.Add(time.Minute)) {
			t.Fatalf("alerts %+v, want one opened at 10:01 and resolved", as)
		}
		for range 3 {
			e.clock.Advance(5 * time.Minute)
			now := e.clock.Now()
			e.readings(s, temp(12, now, 9))
			e.readings(s, temp(12, now.Add(time.Second), 6))
		}
		if as := e.alerts(); len(as) != 4 {
			t.Fatalf("%d alerts, want 4 (one per excursion)", len(as))
		}
		if got := e.told(); !slices.Equal(got, []string{"opened:ann", "resolved:ann"}) {
			t.Fatalf("told %v, want the first excursion told, and nothing while flapping within the period", got)
		}

		// An open alert, then a late reading from before its breach.
		e.clock.Advance(time.Hour)
		now := e.clock.Now()
		e.readings(s, temp(12, now, 9))
		e.readings(s, temp(12, now.Add(-time.Minute), 5))
		as = e.alerts()
		if last := as[len(as)-1]; !last.Open() {
			t.Fatalf("a reading older than the breach resolved it: %+v", last)
		}
		e.clock.Advance(time.Hour)
		e.readings(s, temp(12, now.Add(-time.Minute), 10)) // late and out: no reminder either
		if got := e.told(); len(got) != 3 {
			t.Errorf("told %v, want nothing for a late reading", got)
		}
	})
}

// TestRedelivery: the same batch handed over again (the broker redelivers
// what the ingest did not ack) changes nothing.
func TestRedelivery(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d dialect) {
		e := newEnv(t, d)
		s := e.service("a")
		// 12 goes out of range for two readings and back (a flap in one
		// batch), 13 stays out. Delivered again, the batch decides
		// nothing: the mark keeps the newest reading decided on.
		batch := []runlet.RawReading{temp(12, start, 9), temp(13, start, 1), temp(12, start.Add(time.Second), 9.5),
			temp(13, start.Add(time.Second), 1.5), temp(12, start.Add(2*time.Second), 7)}
		e.readings(s, batch...)
		as, ns := e.alerts(), e.notes()
		if len(as) != 2 || len(ns) != 3 || as[0].Open() || !as[1].Open() {
			t.Fatalf("alerts %+v and %d notifications, want 12's resolved, 13's open, and 3 notifications", as, len(ns))
		}
		for range 3 {
			e.clock.Advance(time.Second)
			e.readings(s, batch...)
			e.readings(e.service("b"), batch...) // another process, too
		}
		if as2, ns2 := e.alerts(), e.notes(); !slices.EqualFunc(as, as2, sameAlert) || len(ns2) != len(ns) {
			t.Errorf("after redelivery: alerts %+v, %d notifications; want %+v, %d", as2, len(ns2), as, len(ns))
		}
	})
}

func sameAlert(a, b runlet.Alert) bool {
	return a.ID == b.ID && a.Value == b.Value && a.Notified.Equal(b.Notified) && a.Resolved.Equal(b.Resolved) && a.Reminders == b.Reminders
}

// TestTwoProcessesOneAlert: two server processes evaluating the same
// readings at once on one database decide one alert and queue one set
// of notifications (PostgreSQL, where they truly run concurrently).
func TestTwoProcessesOneAlert(t *testing.T) {
	e := newEnv(t, postgresDialect(t))
	ss := []*alert.Service{e.service("a"), e.service("b"), e.service("c"), e.service("d")}
	for round := range 5 {
		if round > 0 {
			e.clock.Advance(time.Hour)
		}
		now := e.clock.Now()
		batch := []runlet.RawReading{temp(12, now, 9+float64(round)), temp(13, now, 9+float64(round))}
		for range 2 { // and each batch delivered twice
			var wg sync.WaitGroup
			for _, s := range ss {
				wg.Go(func() {
					if err := s.Readings(t.Context(), e.ws, batch); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
		}
	}
	as := e.alerts()
	if len(as) != 2 {
		t.Fatalf("%d alerts, want 2 (one per sensor): %+v", len(as), as)
	}
	// Opened, then a reminder each hour: 5 decisions per sensor, each to
	// one channel (ann owns 12; bob, the admin, gets 13's: no owner).
	if got := e.told(); len(got) != 10 {
		t.Errorf("told %v, want 10 notifications", got)
	}
}
