package storetest

import (
	"math"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
)

// t0 is the time of the first reading of the telemetry tests: a second
// boundary, with milliseconds after it as sensors send.
var t0 = time.Date(2026, 3, 4, 5, 6, 0, 0, time.UTC)

// reading is a reading of sensor relayed by device as number seq, at
// t0 plus ms milliseconds, with temp and, when batt is not NaN, batt.
func reading(sensor int64, device string, seq uint64, ms int, temp, batt float64) runlet.RawReading {
	at := t0.Add(time.Duration(ms) * time.Millisecond)
	r := runlet.RawReading{Device: device, Seq: seq, Accepted: at.Add(time.Second)}
	r.Sensor, r.Time = sensor, at
	if !math.IsNaN(temp) {
		r.Set(runlet.MetricTemp, temp)
	}
	if !math.IsNaN(batt) {
		r.Set(runlet.MetricBatt, batt)
	}
	return r
}

var none = math.NaN()

// add stores rs and checks how many were archived.
func (e *env) add(t *testing.T, ws string, want int, rs ...runlet.RawReading) {
	t.Helper()
	n, err := e.AddReadings(e.ctx, ws, rs)
	ok(t, err)
	if n != want {
		t.Fatalf("AddReadings archived %d of %d readings, want %d", n, len(rs), want)
	}
}

// archived returns the whole raw archive of a sensor, in pages of 3.
func (e *env) archived(t *testing.T, ws string, sensor int64) []runlet.RawReading {
	t.Helper()
	var all []runlet.RawReading
	after := int64(0)
	for {
		page, err := e.RawReadings(e.ctx, ws, sensor, time.Time{}, time.Time{}, after, 3)
		ok(t, err)
		all = append(all, page...)
		if len(page) < 3 {
			return all
		}
		after = page[len(page)-1].ID
	}
}

// points returns a series as points of (milliseconds after t0, value).
func (e *env) points(t *testing.T, ws string, sensor int64, m runlet.Metric) map[int]float64 {
	t.Helper()
	ps, err := e.Series(e.ctx, ws, sensor, m, time.Time{}, time.Time{}, 0, store.MaxLimit)
	ok(t, err)
	out := map[int]float64{}
	for i, p := range ps {
		if p.Min != p.Max || p.Min != p.Mean || p.Count != 1 {
			t.Fatalf("raw point %+v: want min = max = mean, count 1", p)
		}
		if i > 0 && !p.Time.After(ps[i-1].Time) {
			t.Fatalf("points out of order: %v then %v", ps[i-1].Time, p.Time)
		}
		out[int(p.Time.Sub(t0)/time.Millisecond)] = p.Min
	}
	return out
}

func testAddReadings(t *testing.T, e *env) {
	ws := e.workspace(t, "default")
	e.sensor(t, ws.ID, 1)
	e.sensor(t, ws.ID, 2)
	var batch []runlet.RawReading
	for i := range 10 { // interleaved: 1, 2, 1, 2…
		batch = append(batch, reading(int64(1+i%2), "pi", uint64(i+1), 1000*i, 20+float64(i), 90-float64(i)))
	}
	batch[9].SentTime, batch[9].TimeReplaced = 123000, true
	batch[9].Seq = math.MaxUint64 // every bit of the device's numbering
	e.add(t, ws.ID, 10, batch...)
	e.clock.Advance(time.Minute)
	e.add(t, ws.ID, 0, batch...) // delivered twice: stored once

	raw := e.archived(t, ws.ID, 2)
	if len(raw) != 5 {
		t.Fatalf("archive of sensor 2: %d readings, want 5", len(raw))
	}
	for i, r := range raw {
		want := batch[2*i+1]
		want.ID = r.ID
		want.Stored = e.clock.Now().Add(-time.Minute)
		equal(t, "archived reading", r, want)
		if i > 0 && r.ID <= raw[i-1].ID {
			t.Fatalf("archive out of insertion order: ids %d then %d", raw[i-1].ID, r.ID)
		}
	}
	equal(t, "series temp of sensor 1", e.points(t, ws.ID, 1, runlet.MetricTemp),
		map[int]float64{0: 20, 2000: 22, 4000: 24, 6000: 26, 8000: 28})
	equal(t, "series batt of sensor 2", e.points(t, ws.ID, 2, runlet.MetricBatt),
		map[int]float64{1000: 89, 3000: 87, 5000: 85, 7000: 83, 9000: 81})

	// Another reading at a stored time: archived, but the first value
	// stays in the series. A metric the series lacks at that time is
	// added; within one batch too, the first value wins.
	e.add(t, ws.ID, 3,
		reading(1, "pi", 100, 0, 99, none),
		reading(1, "pi", 101, 500, 50, none),
		reading(1, "pi", 102, 500, 51, 70))
	e.add(t, ws.ID, 1, reading(1, "mac", 100, 500, none, 71)) // same seq, other device
	equal(t, "temp after conflicts", e.points(t, ws.ID, 1, runlet.MetricTemp),
		map[int]float64{0: 20, 500: 50, 2000: 22, 4000: 24, 6000: 26, 8000: 28})
	equal(t, "batt after conflicts", e.points(t, ws.ID, 1, runlet.MetricBatt),
		map[int]float64{0: 90, 500: 70, 2000: 88, 4000: 86, 6000: 84, 8000: 82})
	equal(t, "archive of sensor 1", len(e.archived(t, ws.ID, 1)), 9)

	// Twice in one batch: archived once.
	e.add(t, ws.ID, 1, reading(2, "pi", 200, 20000, 1, 1), reading(2, "pi", 200, 20000, 1, 1))
	e.add(t, ws.ID, 0) // an empty batch
	_, err := e.AddReadings(e.ctx, "nowhere", batch)
	code(t, err, runlet.ENOTFOUND)
	bad := reading(1, "", 1, 0, 1, 1)
	_, err = e.AddReadings(e.ctx, ws.ID, []runlet.RawReading{bad})
	code(t, err, runlet.EINVALID)
}

func testSensorLatest(t *testing.T, e *env) {
	ws := e.workspace(t, "default")
	e.sensor(t, ws.ID, 1)
	e.sensor(t, ws.ID, 2)
	latest := func(want time.Time, values map[runlet.Metric]float64) {
		t.Helper()
		s, err := e.Sensor(e.ctx, ws.ID, 1)
		ok(t, err)
		equal(t, "LastSeen", s.LastSeen, want)
		equal(t, "Latest", s.Latest, values)
		list, err := e.ListSensors(e.ctx, ws.ID)
		ok(t, err)
		equal(t, "ListSensors' first", list[0], s)
	}
	latest(time.Time{}, nil)
	e.add(t, ws.ID, 3, reading(1, "pi", 1, 5000, 20, 80), reading(1, "pi", 2, 3000, 21, 81), reading(2, "pi", 3, 9000, 1, 1))
	latest(t0.Add(5*time.Second), map[runlet.Metric]float64{runlet.MetricTemp: 20, runlet.MetricBatt: 80})
	// Older readings do not move them back.
	e.add(t, ws.ID, 1, reading(1, "pi", 4, 4000, 30, 70))
	latest(t0.Add(5*time.Second), map[runlet.Metric]float64{runlet.MetricTemp: 20, runlet.MetricBatt: 80})
	// A newer reading of one metric moves that one only; an older one of
	// the other metric that is newer than its last value moves it.
	e.add(t, ws.ID, 1, reading(1, "pi", 5, 8000, none, 60))
	latest(t0.Add(8*time.Second), map[runlet.Metric]float64{runlet.MetricTemp: 20, runlet.MetricBatt: 60})
	e.add(t, ws.ID, 1, reading(1, "pi", 6, 6000, 25, none))
	latest(t0.Add(8*time.Second), map[runlet.Metric]float64{runlet.MetricTemp: 25, runlet.MetricBatt: 60})
	s2, err := e.Sensor(e.ctx, ws.ID, 2)
	ok(t, err)
	equal(t, "LastSeen of sensor 2", s2.LastSeen, t0.Add(9*time.Second))
}

func testRawReadings(t *testing.T, e *env) {
	a, b := e.workspace(t, "a"), e.workspace(t, "b")
	e.sensor(t, a.ID, 1)
	e.sensor(t, b.ID, 2)
	// Insertion order is not time order: the archive keeps insertion's.
	var rs []runlet.RawReading
	for i, ms := range []int{5000, 1000, 3000, 2000, 4000, 0, 6000} {
		rs = append(rs, reading(1, "pi", uint64(i+1), ms, float64(ms), none))
	}
	e.add(t, a.ID, 4, rs[:4]...)
	e.add(t, a.ID, 3, rs[4:]...)
	all := e.archived(t, a.ID, 1)
	var got []int
	for _, r := range all {
		got = append(got, int(r.Time.Sub(t0)/time.Millisecond))
	}
	equal(t, "archive in insertion order", got, []int{5000, 1000, 3000, 2000, 4000, 0, 6000})

	// [from, to): from included, to excluded.
	page, err := e.RawReadings(e.ctx, a.ID, 1, t0.Add(time.Second), t0.Add(4*time.Second), 0, 0)
	ok(t, err)
	got = nil
	for _, r := range page {
		got = append(got, int(r.Time.Sub(t0)/time.Millisecond))
	}
	equal(t, "archive in [1s, 4s)", got, []int{1000, 3000, 2000})
	page, err = e.RawReadings(e.ctx, a.ID, 1, time.Time{}, time.Time{}, all[2].ID, 2)
	ok(t, err)
	equal(t, "a page after the third", page, all[3:5])
	page, err = e.RawReadings(e.ctx, a.ID, 1, time.Time{}, time.Time{}, all[6].ID, 0)
	ok(t, err)
	equal(t, "a page after the last", len(page), 0)

	_, err = e.RawReadings(e.ctx, b.ID, 1, time.Time{}, time.Time{}, 0, 0)
	code(t, err, runlet.ENOTFOUND) // another workspace's
	_, err = e.RawReadings(e.ctx, a.ID, 3, time.Time{}, time.Time{}, 0, 0)
	code(t, err, runlet.ENOTFOUND)
	_, err = e.RawReadings(e.ctx, a.ID, 1, t0.Add(time.Second), t0, 0, 0)
	code(t, err, runlet.EINVALID)
	_, err = e.RawReadings(e.ctx, a.ID, 1, time.Time{}, time.Time{}, 0, -1)
	code(t, err, runlet.EINVALID)

	// A limit of 0 is DefaultLimit, more than MaxLimit is MaxLimit.
	var many []runlet.RawReading
	for i := range store.MaxLimit + 1 {
		many = append(many, reading(2, "mac", uint64(i), i, 1, none))
	}
	e.add(t, b.ID, len(many), many...)
	for limit, want := range map[int]int{0: store.DefaultLimit, store.MaxLimit + 5: store.MaxLimit, 7: 7} {
		page, err := e.RawReadings(e.ctx, b.ID, 2, time.Time{}, time.Time{}, 0, limit)
		ok(t, err)
		equal(t, "readings with a limit", len(page), want)
		ps, err := e.Series(e.ctx, b.ID, 2, runlet.MetricTemp, time.Time{}, time.Time{}, 0, limit)
		ok(t, err)
		equal(t, "points with a limit", len(ps), want)
	}
}

func testSeries(t *testing.T, e *env) {
	a, b := e.workspace(t, "a"), e.workspace(t, "b")
	e.sensor(t, a.ID, 1)
	e.sensor(t, b.ID, 2)
	// Values every 1.5 s from t0 for 30 s; step 7 s is not a divisor of
	// the time since year 1, so buckets on multiples of 7 s since the
	// unix epoch differ from time.Truncate's.
	var rs []runlet.RawReading
	values := map[int]float64{}
	for i := range 20 {
		ms := 1500 * i
		v := float64(i*i%17) - 3.5
		values[ms] = v
		rs = append(rs, reading(1, "pi", uint64(i), ms, v, 100-float64(i)))
	}
	e.add(t, a.ID, len(rs), rs...)
	const step = 7 * time.Second
	from, to := t0.Add(2*time.Second), t0.Add(25*time.Second)
	type bucket struct {
		min, max, sum float64
		n             int
	}
	want := map[int64]*bucket{} // start in unix microseconds → bucket
	var starts []int64
	for ms, v := range values {
		at := t0.Add(time.Duration(ms) * time.Millisecond)
		if at.Before(from) || !at.Before(to) {
			continue
		}
		us := at.UnixMicro()
		start := us - us%step.Microseconds()
		bk := want[start]
		if bk == nil {
			bk = &bucket{min: v, max: v}
			want[start] = bk
			starts = append(starts, start)
		}
		bk.min, bk.max, bk.sum, bk.n = min(bk.min, v), max(bk.max, v), bk.sum+v, bk.n+1
	}
	sortInt64(starts)
	var wantPoints []runlet.SeriesPoint
	for _, s := range starts {
		bk := want[s]
		wantPoints = append(wantPoints, runlet.SeriesPoint{Time: time.UnixMicro(s).UTC(), Min: bk.min, Max: bk.max, Mean: bk.sum / float64(bk.n), Count: bk.n})
	}
	got, err := e.Series(e.ctx, a.ID, 1, runlet.MetricTemp, from, to, step, 0)
	ok(t, err)
	if len(got) != len(wantPoints) {
		t.Fatalf("buckets:\n got  %+v\n want %+v", got, wantPoints)
	}
	for i := range got {
		g, w := got[i], wantPoints[i]
		if !g.Time.Equal(w.Time) || g.Min != w.Min || g.Max != w.Max || g.Count != w.Count || math.Abs(g.Mean-w.Mean) > 1e-9 {
			t.Fatalf("bucket %d:\n got  %+v\n want %+v", i, g, w)
		}
	}
	got, err = e.Series(e.ctx, a.ID, 1, runlet.MetricTemp, from, to, step, 2)
	ok(t, err)
	equal(t, "buckets with a limit of 2", len(got), 2)
	equal(t, "the first bucket", got[0].Time, wantPoints[0].Time)

	// Step 0: every point of [from, to), from included, to excluded.
	got, err = e.Series(e.ctx, a.ID, 1, runlet.MetricBatt, t0.Add(3*time.Second), t0.Add(6*time.Second), 0, 0)
	ok(t, err)
	equal(t, "points in [3s, 6s)", got, []runlet.SeriesPoint{
		{Time: t0.Add(3 * time.Second), Min: 98, Max: 98, Mean: 98, Count: 1},
		{Time: t0.Add(4500 * time.Millisecond), Min: 97, Max: 97, Mean: 97, Count: 1},
	})
	// A whole day in one bucket: the mean of everything.
	got, err = e.Series(e.ctx, a.ID, 1, runlet.MetricBatt, time.Time{}, time.Time{}, 24*time.Hour, 0)
	ok(t, err)
	equal(t, "one day", got, []runlet.SeriesPoint{{Time: t0.Truncate(24 * time.Hour), Min: 81, Max: 100, Mean: 90.5, Count: 20}})

	_, err = e.Series(e.ctx, a.ID, 1, "humidity", time.Time{}, time.Time{}, 0, 0)
	code(t, err, runlet.EINVALID)
	_, err = e.Series(e.ctx, a.ID, 1, runlet.MetricTemp, time.Time{}, time.Time{}, -time.Second, 0)
	code(t, err, runlet.EINVALID)
	_, err = e.Series(e.ctx, a.ID, 1, runlet.MetricTemp, to, from, 0, 0)
	code(t, err, runlet.EINVALID)
	_, err = e.Series(e.ctx, b.ID, 1, runlet.MetricTemp, time.Time{}, time.Time{}, 0, 0)
	code(t, err, runlet.ENOTFOUND) // another workspace's
	got, err = e.Series(e.ctx, b.ID, 2, runlet.MetricTemp, time.Time{}, time.Time{}, step, 0)
	ok(t, err)
	equal(t, "series of a silent sensor", len(got), 0)
}

func sortInt64(s []int64) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func testTelemetrySettings(t *testing.T, e *env) {
	ws := e.workspace(t, "default")
	s, err := e.TelemetrySettings(e.ctx, ws.ID)
	ok(t, err)
	equal(t, "default settings", s, store.TelemetrySettings{Retention: store.DefaultRetention})
	set := store.TelemetrySettings{Retention: 90 * time.Minute, AutoRegister: true}
	ok(t, e.SetTelemetrySettings(e.ctx, ws.ID, set))
	s, err = e.TelemetrySettings(e.ctx, ws.ID)
	ok(t, err)
	equal(t, "settings", s, set)
	set = store.TelemetrySettings{Retention: 30 * 24 * time.Hour}
	ok(t, e.SetTelemetrySettings(e.ctx, ws.ID, set))
	s, err = e.TelemetrySettings(e.ctx, ws.ID)
	ok(t, err)
	equal(t, "settings changed", s, set)
	code(t, e.SetTelemetrySettings(e.ctx, ws.ID, store.TelemetrySettings{Retention: 59 * time.Minute}), runlet.EINVALID)
	code(t, e.SetTelemetrySettings(e.ctx, ws.ID, store.TelemetrySettings{}), runlet.EINVALID)
	code(t, e.SetTelemetrySettings(e.ctx, "nowhere", store.TelemetrySettings{Retention: time.Hour}), runlet.ENOTFOUND)
	_, err = e.TelemetrySettings(e.ctx, "nowhere")
	code(t, err, runlet.ENOTFOUND)
}

func testPruneReadings(t *testing.T, e *env) {
	a, b := e.workspace(t, "a"), e.workspace(t, "b")
	e.sensor(t, a.ID, 1)
	e.sensor(t, b.ID, 2)
	for _, s := range []struct {
		ws     string
		sensor int64
	}{{a.ID, 1}, {b.ID, 2}} {
		var rs []runlet.RawReading
		for i := range 10 {
			rs = append(rs, reading(s.sensor, "pi", uint64(s.sensor*100)+uint64(i), 1000*i, float64(i), none))
		}
		e.add(t, s.ws, 10, rs...)
	}
	n, err := e.PruneReadings(e.ctx, a.ID, t0.Add(4*time.Second))
	ok(t, err)
	equal(t, "rows pruned (4 points, 4 readings)", n, int64(8))
	equal(t, "series left", len(e.points(t, a.ID, 1, runlet.MetricTemp)), 6)
	left := e.archived(t, a.ID, 1)
	equal(t, "archive left", len(left), 6)
	equal(t, "oldest left", left[0].Time, t0.Add(4*time.Second))
	equal(t, "other workspace's series", len(e.points(t, b.ID, 2, runlet.MetricTemp)), 10)
	equal(t, "other workspace's archive", len(e.archived(t, b.ID, 2)), 10)
	n, err = e.PruneReadings(e.ctx, a.ID, t0.Add(4*time.Second))
	ok(t, err)
	equal(t, "pruned again", n, int64(0))
}

// testDeleteSensorData: a deleted sensor's series and archive go with
// it; registering its id again starts empty.
func testDeleteSensorData(t *testing.T, e *env) {
	ws := e.workspace(t, "default")
	e.sensor(t, ws.ID, 1)
	e.sensor(t, ws.ID, 2)
	e.add(t, ws.ID, 2, reading(1, "pi", 1, 0, 1, 1), reading(2, "pi", 2, 0, 2, 2))
	ok(t, e.DeleteSensor(e.ctx, ws.ID, 1))
	e.sensor(t, ws.ID, 1)
	equal(t, "archive of a sensor registered again", len(e.archived(t, ws.ID, 1)), 0)
	equal(t, "series of a sensor registered again", len(e.points(t, ws.ID, 1, runlet.MetricTemp)), 0)
	s, err := e.Sensor(e.ctx, ws.ID, 1)
	ok(t, err)
	equal(t, "LastSeen of a sensor registered again", s.LastSeen, time.Time{})
	equal(t, "the other sensor's archive", len(e.archived(t, ws.ID, 2)), 1)
}

// testReadingsConcurrent: one batch delivered to several consumers at
// once (a redelivery racing the first delivery) is archived once in all,
// and no call fails (no deadlock between them).
func testReadingsConcurrent(t *testing.T, e *env) {
	ws := e.workspace(t, "default")
	for id := range int64(20) {
		e.sensor(t, ws.ID, id+1)
	}
	var batch []runlet.RawReading
	for i := range 200 {
		batch = append(batch, reading(int64(i%20+1), "pi", uint64(i), 100*i, float64(i), 50))
	}
	const consumers = 4
	archived := make(chan int, consumers)
	errs := make(chan error, consumers)
	for range consumers {
		go func() {
			n, err := e.AddReadings(e.ctx, ws.ID, batch)
			archived <- n
			errs <- err
		}()
	}
	total := 0
	for range consumers {
		total += <-archived
		ok(t, <-errs)
	}
	equal(t, "archived by all consumers", total, len(batch))
	for id := range int64(20) {
		equal(t, "archive of a sensor", len(e.archived(t, ws.ID, id+1)), 10)
		equal(t, "series of a sensor", len(e.points(t, ws.ID, id+1, runlet.MetricTemp)), 10)
	}
}
