package sim_test

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/telemetry/sensormsg"
	"github.com/runlet/runlet/telemetry/sim"
)

var end = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

func TestPlanIsDeterministic(t *testing.T) {
	c := sim.Config{Seed: 7, Gateways: 3, Sensors: 4, Readings: 10, End: end, Refusals: true}
	a, b := sim.NewPlan(c), sim.NewPlan(c)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two plans of one seed differ")
	}
	c.Seed = 8
	if reflect.DeepEqual(a.Rounds, sim.NewPlan(c).Rounds) {
		t.Fatal("plans of two seeds are the same")
	}
}

func TestPlanShape(t *testing.T) {
	p := sim.NewPlan(sim.Config{Seed: 1, Gateways: 2, Sensors: 3, Readings: 5, End: end, Refusals: true})
	if len(p.Sensors) != 6 || len(p.Gateways) != 2 || len(p.Rounds) != 5 {
		t.Fatalf("%d sensors, %d gateways, %d rounds; want 6, 2, 5", len(p.Sensors), len(p.Gateways), len(p.Rounds))
	}
	if got := p.Total(); got != 30 {
		t.Fatalf("the oracle stores %d readings, want 30", got)
	}
	want := map[sim.Refusal]int{sim.RefusedSecret: 5, sim.RefusedWorkspace: 5, sim.RefusedInactive: 5, sim.RefusedUnknown: 5}
	if !reflect.DeepEqual(p.Oracle.Refused, want) {
		t.Fatalf("refusals %v, want %v", p.Oracle.Refused, want)
	}
	ids := map[int64]bool{}
	for _, s := range append(p.Sensors, p.Foreign, p.Inactive) {
		if ids[s.ID] {
			t.Fatalf("sensor id %d twice", s.ID)
		}
		ids[s.ID] = true
		if len(s.Secret) < 16 {
			t.Fatalf("sensor %d's secret %q is not above 2^53", s.ID, s.Secret)
		}
	}
	for _, round := range p.Rounds {
		for _, m := range round[0] {
			at := runlet.SensorTime(m.Time)
			if at.After(end) || at.Before(end.Add(-time.Hour)) {
				t.Fatalf("reading at %s, want within the hour before %s", at, end)
			}
			if got, replaced := runlet.ReadingTime(m.Time, true, end); replaced || !got.Equal(at) {
				t.Fatalf("reading at %s is stored at %s (replaced %v)", at, got, replaced)
			}
		}
	}
}

// The lines a plan feeds parse, with the real parser, into exactly the
// messages sent: secrets above 2^53 as numbers and strings included.
func TestBodyParses(t *testing.T) {
	p := sim.NewPlan(sim.Config{Seed: 3, Gateways: 1, Sensors: 6, Readings: 2, End: end, Refusals: true})
	sent := p.Rounds[0][0]
	msgs, refused := sensormsg.Parse(p.Body(sent))
	if len(refused) != 0 {
		t.Fatalf("refused: %+v", refused)
	}
	if len(msgs) != len(sent) {
		t.Fatalf("parsed %d messages, want %d", len(msgs), len(sent))
	}
	for i, m := range msgs {
		s := sent[i]
		temp, _ := runlet.Reading{Values: m.Values, Has: m.Has}.Value(runlet.MetricTemp)
		batt, _ := runlet.Reading{Values: m.Values, Has: m.Has}.Value(runlet.MetricBatt)
		if m.Sensor != s.Sensor || m.Secret != s.Secret || m.Time != s.Time || !m.HasTime || temp != s.Temp || batt != s.Batt {
			t.Errorf("message %d parsed as %+v, sent %+v", i, m, s)
		}
	}
}

func TestLine(t *testing.T) {
	m := sim.Send{Sensor: 123, Secret: "64089519511846157", Time: 1765100000123, Temp: 15, Batt: 75}
	want := `{"device":{"id":123,"auth":64089519511846157},"reading":{"temp":15,"time":1765100000123,"batt":75}}`
	if got := string(sim.Line(m, false)); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if got := string(sim.Line(m, true)); !strings.Contains(got, `"auth":"64089519511846157"`) {
		t.Fatalf("secret as a string: %s", got)
	}
}

// observed returns what a perfect server holds after p.
func observed(p *sim.Plan) sim.Observed {
	got := sim.Observed{Series: map[sim.Series][]sim.Point{}, Raw: map[int64][]sim.Raw{}}
	for k, v := range p.Oracle.Series {
		got.Series[k] = append([]sim.Point(nil), v...)
	}
	for k, v := range p.Oracle.Raw {
		got.Raw[k] = append([]sim.Raw(nil), v...)
	}
	return got
}

func TestCompare(t *testing.T) {
	p := sim.NewPlan(sim.Config{Seed: 5, Gateways: 1, Sensors: 2, Readings: 4, End: end})
	if d := sim.Compare(p.Oracle, observed(p)); !d.OK() {
		t.Fatalf("a perfect server differs:\n%s", d)
	}
	first := p.Sensors[0].ID
	temp := sim.Series{Sensor: first, Metric: runlet.MetricTemp}
	for _, tc := range []struct {
		name   string
		change func(o *sim.Observed)
		want   func(d sim.Diff) []string
	}{
		{"lost", func(o *sim.Observed) { o.Series[temp] = o.Series[temp][1:] }, func(d sim.Diff) []string { return d.Lost }},
		{"duplicated", func(o *sim.Observed) { o.Series[temp] = append(o.Series[temp], o.Series[temp][0]) }, func(d sim.Diff) []string { return d.Duplicated }},
		{"another value", func(o *sim.Observed) { o.Series[temp][2].Value += 0.1 }, func(d sim.Diff) []string { return d.Unexpected }},
		{"not sent", func(o *sim.Observed) {
			o.Series[sim.Series{Sensor: 9, Metric: runlet.MetricTemp}] = []sim.Point{{Time: end, Value: 1}}
		}, func(d sim.Diff) []string { return d.Unexpected }},
		{"raw out of order", func(o *sim.Observed) { r := o.Raw[first]; r[0], r[1] = r[1], r[0] }, func(d sim.Diff) []string { return d.OutOfOrder }},
		{"raw lost", func(o *sim.Observed) { o.Raw[first] = o.Raw[first][:3] }, func(d sim.Diff) []string { return d.RawLost }},
		{"raw twice", func(o *sim.Observed) { o.Raw[first] = append(o.Raw[first], o.Raw[first][3]) }, func(d sim.Diff) []string { return d.Duplicated }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := observed(p)
			tc.change(&o)
			d := sim.Compare(p.Oracle, o)
			if got := tc.want(d); len(got) != 1 {
				t.Fatalf("want exactly one entry in the list; diff:\n%s", d)
			}
			if d.OK() || d.String() == "" {
				t.Fatal("a diff that is OK")
			}
		})
	}
}

func TestStream(t *testing.T) {
	p := sim.NewPlan(sim.Config{Seed: 2, Gateways: 2, Sensors: 3, End: end})
	streams := p.Split(9)
	if len(streams) != 2 || len(streams[0].Sensors) != 3 {
		t.Fatalf("%d streams, want 2 of 3 sensors", len(streams))
	}
	s := streams[0]
	last := map[int64]int64{}
	for range 10 {
		for _, m := range s.Next(7, end) { // the same now: times must still increase
			if m.Time <= last[m.Sensor] {
				t.Fatalf("sensor %d: time %d after %d", m.Sensor, m.Time, last[m.Sensor])
			}
			last[m.Sensor] = m.Time
		}
	}
	if a, b := s.NextSeq(5), s.NextSeq(1); a != 1 || b != 6 {
		t.Fatalf("sequence numbers %d, %d; want 1, 6", a, b)
	}
	b := sim.Batch(s.Next(4, end), 6, end)
	if len(b.Readings) != 4 || b.Readings[3].Seq != 9 || len(b.Secrets) != 3 {
		t.Fatalf("batch %+v", b)
	}
}

func TestScript(t *testing.T) {
	p := sim.NewPlan(sim.Config{Seed: 1, Readings: 10, End: end})
	s := p.Midway(sim.ServerKilled, 0)
	if len(s.At(5)) != 1 || len(s.At(4)) != 0 {
		t.Fatalf("script %v", s)
	}
	if !bytes.Contains([]byte(s[0].String()), []byte("server-killed before round 5")) {
		t.Fatalf("fault reads %q", s[0])
	}
}
