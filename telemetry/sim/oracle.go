package sim

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/runlet/runlet"
)

// Refusal is why the server must refuse a simulated message.
type Refusal string

// The refusals a plan injects (Config.Refusals).
const (
	RefusedSecret    Refusal = "secret"    // a known sensor, a wrong secret
	RefusedWorkspace Refusal = "workspace" // a sensor of another workspace
	RefusedInactive  Refusal = "inactive"  // an inactive sensor
	RefusedUnknown   Refusal = "unknown"   // a sensor never registered
)

// Series names one series: a sensor's metric.
type Series struct {
	Sensor int64
	Metric runlet.Metric
}

func (s Series) String() string { return fmt.Sprintf("sensor %d %s", s.Sensor, s.Metric) }

// Point is one stored value of a series.
type Point struct {
	Time  time.Time
	Value float64
}

// Raw is one entry of a sensor's raw archive, as far as the oracle knows
// it: the time the sensor sent (unix milliseconds) and its values.
type Raw struct {
	Time int64
	Temp float64
	Batt float64
}

// Oracle is what the server must end with after a plan: every series
// point, each sensor's raw archive in order, and the refusals counted by
// reason.
type Oracle struct {
	Series  map[Series][]Point
	Raw     map[int64][]Raw
	Refused map[Refusal]int
}

func newOracle() *Oracle {
	return &Oracle{Series: map[Series][]Point{}, Raw: map[int64][]Raw{}, Refused: map[Refusal]int{}}
}

// expect records that m is sent: stored, or refused.
func (o *Oracle) expect(m Send) {
	if m.Refusal != "" {
		o.Refused[m.Refusal]++
		return
	}
	t := runlet.SensorTime(m.Time)
	o.Series[Series{m.Sensor, runlet.MetricTemp}] = append(o.Series[Series{m.Sensor, runlet.MetricTemp}], Point{t, m.Temp})
	o.Series[Series{m.Sensor, runlet.MetricBatt}] = append(o.Series[Series{m.Sensor, runlet.MetricBatt}], Point{t, m.Batt})
	o.Raw[m.Sensor] = append(o.Raw[m.Sensor], Raw{Time: m.Time, Temp: m.Temp, Batt: m.Batt})
}

// Readings is the number of readings stored: raw archive entries.
func (o *Oracle) Readings() int {
	n := 0
	for _, r := range o.Raw {
		n += len(r)
	}
	return n
}

// Observed is what a server holds, as read back through its API.
type Observed struct {
	Series map[Series][]Point
	// Raw holds each sensor's archive in the order the server returns it
	// (insertion order).
	Raw map[int64][]Raw
}

// Diff is how an Observed differs from an Oracle. Each list names its
// entries precisely; an empty Diff means they agree.
type Diff struct {
	// Lost are series points the oracle has and the server does not.
	Lost []string
	// Duplicated are series points (a sensor, metric and time) stored
	// more than once, and raw entries archived more than once.
	Duplicated []string
	// Unexpected are points the server has that the oracle does not, or
	// with another value.
	Unexpected []string
	// OutOfOrder are sensors whose raw archive holds the right entries in
	// another order; RawLost and RawUnexpected entries missing from or
	// foreign to it.
	OutOfOrder    []string
	RawLost       []string
	RawUnexpected []string
}

// OK reports whether the server holds exactly what the oracle says.
func (d Diff) OK() bool {
	return len(d.Lost)+len(d.Duplicated)+len(d.Unexpected)+len(d.OutOfOrder)+len(d.RawLost)+len(d.RawUnexpected) == 0
}

// String is a report for a test failure: counts, then up to 10 entries of
// each list.
func (d Diff) String() string {
	if d.OK() {
		return "the server holds exactly the oracle's series and raw archive"
	}
	var b strings.Builder
	for _, l := range []struct {
		name string
		list []string
	}{
		{"lost", d.Lost}, {"duplicated", d.Duplicated}, {"unexpected", d.Unexpected},
		{"raw out of order", d.OutOfOrder}, {"raw lost", d.RawLost}, {"raw unexpected", d.RawUnexpected},
	} {
		if len(l.list) == 0 {
			continue
		}
		fmt.Fprintf(&b, "%s: %d\n", l.name, len(l.list))
		for i, e := range l.list {
			if i == 10 {
				fmt.Fprintf(&b, "  … and %d more\n", len(l.list)-10)
				break
			}
			fmt.Fprintf(&b, "  %s\n", e)
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// Compare reports how got differs from the oracle o.
func Compare(o *Oracle, got Observed) Diff {
	var d Diff
	for _, s := range sortedKeys(o.Series, got.Series) {
		compareSeries(&d, s, o.Series[s], got.Series[s])
	}
	for _, id := range sortedKeys(o.Raw, got.Raw) {
		compareRaw(&d, id, o.Raw[id], got.Raw[id])
	}
	return d
}

func compareSeries(d *Diff, s Series, want, got []Point) {
	wantAt := map[int64]float64{}
	for _, p := range want {
		wantAt[p.Time.UnixNano()] = p.Value
	}
	seen := map[int64]int{}
	for _, p := range got {
		k := p.Time.UnixNano()
		seen[k]++
		if seen[k] == 2 {
			d.Duplicated = append(d.Duplicated, fmt.Sprintf("%s at %s", s, stamp(p.Time)))
		}
		if seen[k] > 1 {
			continue
		}
		switch v, ok := wantAt[k]; {
		case !ok:
			d.Unexpected = append(d.Unexpected, fmt.Sprintf("%s at %s: %v, not sent", s, stamp(p.Time), p.Value))
		case v != p.Value:
			d.Unexpected = append(d.Unexpected, fmt.Sprintf("%s at %s: %v, sent %v", s, stamp(p.Time), p.Value, v))
		}
	}
	for _, p := range want {
		if seen[p.Time.UnixNano()] == 0 {
			d.Lost = append(d.Lost, fmt.Sprintf("%s at %s (%v)", s, stamp(p.Time), p.Value))
		}
	}
}

func compareRaw(d *Diff, sensor int64, want, got []Raw) {
	wantN := map[Raw]int{}
	for _, r := range want {
		wantN[r]++
	}
	gotN := map[Raw]int{}
	for _, r := range got {
		gotN[r]++
		switch n := gotN[r]; {
		case n > wantN[r] && wantN[r] > 0:
			d.Duplicated = append(d.Duplicated, fmt.Sprintf("raw of sensor %d at %d archived %d times", sensor, r.Time, n))
		case n > wantN[r]:
			d.RawUnexpected = append(d.RawUnexpected, fmt.Sprintf("raw of sensor %d at %d: %+v, not sent", sensor, r.Time, r))
		}
	}
	for _, r := range want {
		if gotN[r] < wantN[r] {
			d.RawLost = append(d.RawLost, fmt.Sprintf("raw of sensor %d at %d (%+v)", sensor, r.Time, r))
			gotN[r] = wantN[r] // report it once
		}
	}
	// The order matters once the entries agree: the archive replays in
	// insertion order, which must be the sensor's.
	if len(got) == len(want) && !slices.Equal(got, want) {
		for i := range got {
			if got[i] != want[i] {
				d.OutOfOrder = append(d.OutOfOrder, fmt.Sprintf("raw of sensor %d: entry %d is the one sent at %d, want %d", sensor, i, got[i].Time, want[i].Time))
				break
			}
		}
	}
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// sortedKeys returns the keys of a and b, each once, in a stable order.
func sortedKeys[K comparable, V any](a, b map[K]V) []K {
	all := map[K]bool{}
	for k := range a {
		all[k] = true
	}
	for k := range b {
		all[k] = true
	}
	keys := slices.Collect(maps.Keys(all))
	slices.SortFunc(keys, func(x, y K) int { return strings.Compare(fmt.Sprint(x), fmt.Sprint(y)) })
	return keys
}
