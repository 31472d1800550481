package sim_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/telemetry/sim"
)

func TestAlertDayIsDeterministic(t *testing.T) {
	a, b := sim.AlertDay(3), sim.AlertDay(3)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two days of one seed differ")
	}
	if reflect.DeepEqual(a.Deliveries, sim.AlertDay(4).Deliveries) {
		t.Fatal("days of two seeds are the same")
	}
	// The seed moves the noise, never the decisions.
	if x, y := sim.ExpectAlerts(a, sim.AlertRules{}), sim.ExpectAlerts(sim.AlertDay(4), sim.AlertRules{}); len(x) != len(y) {
		t.Fatalf("seed 3 gives %d decisions, seed 4 %d", len(x), len(y))
	}
}

func TestAlertDayShape(t *testing.T) {
	p := sim.AlertDay(1)
	if len(p.Sensors) != 6 || len(p.Gateways) != 2 {
		t.Fatalf("%d sensors on %d gateways, want 6 on 2", len(p.Sensors), len(p.Gateways))
	}
	n := map[int64]int{}
	last := time.Time{}
	for _, d := range p.Deliveries {
		if d.At.Before(last) {
			t.Fatalf("delivery at %s after one at %s", d.At, last)
		}
		last = d.At
		for _, m := range d.Sends {
			n[m.Sensor]++
			s, _ := p.Sensor(m.Sensor)
			if s.Gateway != d.Gateway {
				t.Fatalf("sensor %d delivered by gateway %d, want %d", m.Sensor, d.Gateway, s.Gateway)
			}
			if at := runlet.SensorTime(m.Time); at.After(d.At) || at.Before(p.Start.Add(-time.Second)) {
				t.Fatalf("reading of sensor %d at %s delivered at %s", m.Sensor, at, d.At)
			}
		}
	}
	for _, s := range p.Sensors {
		want := 288
		if s.ID == sim.DaySensorQuiet {
			want = 288 - 13 // 15:00 to 16:00
		}
		if n[s.ID] != want {
			t.Errorf("sensor %d sends %d readings, want %d", s.ID, n[s.ID], want)
		}
	}
}

// TestAlertDayOracle pins the oracle's reading of the script, as
// AlertDay's comment tells it, decision by decision.
func TestAlertDayOracle(t *testing.T) {
	p := sim.AlertDay(1)
	at := func(h, m, s int) time.Time {
		return p.Start.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second)
	}
	type d struct {
		key   string
		event runlet.AlertEvent
		opens bool
		told  bool
		at    time.Time
		value float64
	}
	const (
		op = runlet.EventOpened
		re = runlet.EventReminder
		rs = runlet.EventResolved
	)
	temp := func(id int64) string { return runlet.ThresholdKey(id, runlet.MetricTemp) }
	batt := runlet.ThresholdKey(sim.DaySensorBattery, runlet.MetricBatt)
	want := []d{
		{temp(1001), op, true, true, at(2, 0, 0), 9.1},
		{temp(1001), rs, false, true, at(2, 15, 0), 0},
		{temp(1003), op, true, true, at(4, 0, 0), 9},
		{temp(1003), rs, false, true, at(4, 5, 0), 0},
		{temp(1003), op, true, false, at(4, 10, 0), 9},
		{temp(1003), rs, false, false, at(4, 15, 0), 0},
		{temp(1003), op, true, false, at(4, 20, 0), 8.5},
		{temp(1003), op, false, true, at(5, 0, 0), 9.3},
		{temp(1003), rs, false, true, at(5, 15, 0), 0},
		{temp(1001), op, true, true, at(6, 0, 0), 9},
		{temp(1001), re, false, true, at(7, 0, 0), 10.2},
		{temp(1001), re, false, true, at(8, 0, 0), 11.4},
		{temp(1001), rs, false, true, at(8, 20, 0), 0},
		{temp(1002), op, true, true, at(10, 0, 0), 1.5},
		{temp(1002), re, false, true, at(11, 0, 0), 0.9},
		{temp(1002), rs, false, true, at(11, 30, 0), 0},
		{batt, op, true, true, at(15, 15, 0), 19},
		{runlet.SilenceKey(1004), op, true, true, at(15, 55, 0), 3600},
		{runlet.SilenceKey(1004), rs, false, true, at(16, 5, 0), 0},
		{batt, re, false, true, at(16, 15, 0), 15},
		{batt, re, false, true, at(17, 15, 0), 11},
		{runlet.DeviceKey("pi-2", runlet.AlertOffline), op, true, true, at(18, 12, 30), 0},
		{runlet.SilenceKey(1004), op, true, true, at(18, 55, 0), 3600},
		{runlet.SilenceKey(1005), op, true, true, at(18, 55, 0), 3600},
		{runlet.SilenceKey(1006), op, true, true, at(18, 55, 0), 3600},
		{runlet.DeviceKey("pi-2", runlet.AlertOffline), rs, false, true, at(19, 40, 0), 0},
		{runlet.SilenceKey(1004), rs, false, true, at(19, 40, 0), 0},
		{runlet.SilenceKey(1005), rs, false, true, at(19, 40, 0), 0},
		{runlet.SilenceKey(1006), rs, false, true, at(19, 40, 0), 0},
		{batt, re, false, true, at(19, 40, 0), 8}, // the first spooled reading, 18:00's
		{temp(1006), op, true, true, at(19, 40, 0), -12},
		{temp(1006), rs, false, true, at(19, 40, 0), 0},
		{batt, re, false, true, at(20, 40, 0), 5},
		{batt, re, false, true, at(21, 40, 0), 5},
		{batt, rs, false, true, at(22, 0, 0), 0},
	}
	var got []d
	for _, e := range sim.ExpectAlerts(p, sim.AlertRules{}) {
		v := 0.0
		if e.HasValue {
			v = e.Value
		}
		got = append(got, d{e.Key, e.Event, e.Opens, e.Told, e.Time, v})
		if e.Kind == runlet.AlertSilence && e.Opens && e.Time.After(at(18, 0, 0)) && e.Summary != "gateway pi-2 offline since 17:57 UTC" {
			t.Errorf("%s: summary %q, want the gateway offline", e, e.Summary)
		}
		onDelivery := e.Kind == runlet.AlertThreshold || e.Kind == runlet.AlertSilence && e.Event == runlet.EventResolved
		if onDelivery != e.Deadline.Equal(e.Time) {
			t.Errorf("%s: a window of %s", e, e.Deadline.Sub(e.Time))
		}
	}
	if !reflect.DeepEqual(got, want) {
		for i := range max(len(got), len(want)) {
			var g, w d
			if i < len(got) {
				g = got[i]
			}
			if i < len(want) {
				w = want[i]
			}
			if g != w {
				t.Errorf("decision %d: got %+v, want %+v", i, g, w)
			}
		}
	}
}

// observe turns expected decisions into what a store holding exactly
// them returns: alerts and notifications through one channel.
func observe(t *testing.T, es []sim.ExpectedEvent) ([]runlet.Alert, []runlet.Notification) {
	t.Helper()
	var alerts []runlet.Alert
	var notes []runlet.Notification
	open := map[string]int{}
	for _, e := range es {
		if e.Opens {
			alerts = append(alerts, runlet.Alert{ID: int64(len(alerts) + 1), Key: e.Key, Kind: e.Kind, Opened: e.Time, Summary: e.Summary, Value: e.Value, Limit: e.Limit, Bound: e.Bound})
			open[e.Key] = len(alerts) - 1
		}
		a := &alerts[open[e.Key]]
		if e.Event == runlet.EventResolved {
			a.Resolved = e.Time
		}
		if e.Told {
			payload, err := json.Marshal(map[string]any{"value": e.Value, "limit": e.Limit, "bound": e.Bound})
			if err != nil {
				t.Fatal(err)
			}
			notes = append(notes, runlet.Notification{ID: int64(len(notes) + 1), Alert: a.ID, Event: e.Event, Created: e.Time, Payload: string(payload)})
		}
	}
	return alerts, notes
}

func TestCompareAlerts(t *testing.T) {
	p := sim.AlertDay(1)
	want := sim.ExpectAlerts(p, sim.AlertRules{})
	alerts, notes := observe(t, want)
	if d := sim.CompareAlerts(want, sim.ObservedEvents(alerts, notes)); !d.OK() {
		t.Fatalf("the oracle's own decisions differ from it:\n%s", d)
	}

	// A reminder lost, a recovery told that was not, an alert opened a
	// second late, and a second notification of one event.
	lose := slices.IndexFunc(notes, func(n runlet.Notification) bool { return n.Event == runlet.EventReminder })
	lost := notes[lose]
	bad := append(slices.Clone(notes[:lose]), notes[lose+1:]...)
	untold := slices.IndexFunc(want, func(e sim.ExpectedEvent) bool { return e.Event == runlet.EventResolved && !e.Told })
	var untoldAlert int64
	for _, a := range alerts {
		if a.Key == want[untold].Key && a.Resolved.Equal(want[untold].Time) {
			untoldAlert = a.ID
		}
	}
	bad = append(bad, runlet.Notification{Alert: untoldAlert, Event: runlet.EventResolved, Created: want[untold].Time})
	late := slices.Clone(alerts)
	late[0].Opened = late[0].Opened.Add(time.Second)
	for i := range bad {
		if bad[i].Alert == late[0].ID && bad[i].Event == runlet.EventOpened {
			bad[i].Created = late[0].Opened
		}
	}
	d := sim.CompareAlerts(want, sim.ObservedEvents(late, bad))
	if len(d.Missing) != 1 || !strings.Contains(d.Missing[0], "reminder") {
		t.Errorf("missing %q, want the reminder of alert %d", d.Missing, lost.Alert)
	}
	if len(d.Wrong) != 1 || !strings.Contains(d.Wrong[0], "resolved, not told") {
		t.Errorf("wrong %q, want the recovery told", d.Wrong)
	}
	if len(d.WrongTime) != 1 || !strings.Contains(d.WrongTime[0], want[0].Key) {
		t.Errorf("wrong time %q, want %s a second late", d.WrongTime, want[0].Key)
	}
	if len(d.Extra) != 0 {
		t.Errorf("extra %q, want none", d.Extra)
	}
	if s := d.String(); !strings.Contains(s, "missing: 1") || !strings.Contains(s, "wrong time: 1") {
		t.Errorf("report:\n%s", s)
	}

	// A value other than the oracle's, and an alert nobody expected.
	vals := slices.Clone(notes)
	for i := range vals {
		if vals[i].Event == runlet.EventReminder {
			vals[i].Payload = `{"value":42,"limit":8,"bound":"max"}`
			break
		}
	}
	more := append(slices.Clone(alerts), runlet.Alert{ID: 999, Key: "sensor/1/temp", Kind: runlet.AlertThreshold, Opened: p.Start})
	d = sim.CompareAlerts(want, sim.ObservedEvents(more, vals))
	if len(d.Wrong) != 1 || !strings.Contains(d.Wrong[0], "value 42") {
		t.Errorf("wrong %q, want the value 42", d.Wrong)
	}
	if len(d.Extra) != 1 || !strings.Contains(d.Extra[0], "sensor/1/temp") {
		t.Errorf("extra %q, want sensor/1/temp", d.Extra)
	}
}

func TestObservedEventsGroupsChannels(t *testing.T) {
	t0 := sim.AlertDayStart
	a := runlet.Alert{ID: 7, Key: "sensor/1/temp", Kind: runlet.AlertThreshold, Opened: t0, Resolved: t0.Add(time.Hour)}
	var notes []runlet.Notification
	for _, ch := range []string{"a", "b"} {
		notes = append(notes,
			runlet.Notification{Alert: 7, Event: runlet.EventOpened, Channel: ch, Created: t0, Payload: `{"value":9,"limit":8,"bound":"max"}`},
			runlet.Notification{Alert: 7, Event: runlet.EventReminder, Channel: ch, Created: t0.Add(30 * time.Minute), Payload: `{"value":10,"limit":8,"bound":"max"}`},
		)
	}
	got := sim.ObservedEvents([]runlet.Alert{a}, notes)
	if len(got) != 3 {
		t.Fatalf("%d events, want opened, reminder, resolved: %v", len(got), got)
	}
	if e := got[0]; e.Event != runlet.EventOpened || !e.Opens || !e.Told || e.Notices != 2 || e.Value != 9 {
		t.Errorf("opened: %+v", e)
	}
	if e := got[1]; e.Event != runlet.EventReminder || e.Opens || e.Notices != 2 || e.Value != 10 {
		t.Errorf("reminder: %+v", e)
	}
	if e := got[2]; e.Event != runlet.EventResolved || e.Told || !e.Time.Equal(a.Resolved) {
		t.Errorf("resolved: %+v", e)
	}
}
