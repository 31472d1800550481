package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
)

// BenchTelemetry measures the telemetry paths of a store: AddReadings in
// batches of 1000 readings over 1000 interleaved sensors (the ingest's
// shape), reporting readings/s and the bytes on disk per stored reading
// (series and raw archive) that size reports after the run; a
// 1000-point Series query, raw and bucketed; and CheckSensor. open is
// called once per benchmark; size may be nil.
//
// The disk figure is meaningful with many batches:
// go test -run '^$' -bench 'Telemetry/AddReadings' -benchtime 1000x
// stores 1,000,000 readings.
func BenchTelemetry(b *testing.B, open func(b testing.TB) (s store.Store, size func(context.Context) (int64, error))) {
	const sensors = 1000
	setup := func(b *testing.B, n int) (store.Store, func(context.Context) (int64, error), context.Context, string) {
		s, size := open(b)
		ctx := b.Context()
		ws := runlet.Workspace{Name: "bench"}
		if err := s.CreateWorkspace(ctx, &ws); err != nil {
			b.Fatal(err)
		}
		for i := range n {
			if err := s.AddSensor(ctx, &runlet.Sensor{ID: int64(i + 1), Workspace: ws.ID}, secret1); err != nil {
				b.Fatal(err)
			}
		}
		return s, size, ctx, ws.ID
	}
	// batch returns the k-th batch: one reading per sensor, a second
	// apart from the previous batch's, temperature and battery.
	batch := func(k, nsensors, batchSize int, base time.Time) []runlet.RawReading {
		rs := make([]runlet.RawReading, batchSize)
		for i := range rs {
			at := base.Add(time.Duration(k*batchSize/nsensors+i/nsensors) * time.Second)
			r := runlet.RawReading{Device: "pi", Seq: uint64(k*batchSize + i), Accepted: at}
			r.Sensor, r.Time = int64(i%nsensors+1), at
			r.Set(runlet.MetricTemp, 4+float64((k+i)%60)/10)
			r.Set(runlet.MetricBatt, 100-float64(k%100))
			rs[i] = r
		}
		return rs
	}
	base := time.Now().Add(-24 * time.Hour).Truncate(time.Second)
	addReadings := func(b *testing.B, batchSize int) {
		s, size, ctx, ws := setup(b, sensors)
		k := 0
		start := time.Now()
		for b.Loop() {
			rs := batch(k, sensors, batchSize, base)
			k++
			if n, err := s.AddReadings(ctx, ws, rs); err != nil || n != len(rs) {
				b.Fatalf("AddReadings: %d archived, %v", n, err)
			}
		}
		b.ReportMetric(float64(k*batchSize)/time.Since(start).Seconds(), "readings/s")
		if size != nil {
			bytes, err := size(ctx)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(bytes)/float64(k*batchSize), "disk-B/reading")
		}
	}
	b.Run("AddReadings", func(b *testing.B) { addReadings(b, 1000) })
	// Ten bus batches in one call: the per-sensor pages a batch touches
	// are written once for ten readings each.
	b.Run("AddReadings10k", func(b *testing.B) { addReadings(b, 10000) })
	// One sensor with 20,000 points, a second apart; a page of 1000.
	series := func(b *testing.B, step time.Duration) {
		s, _, ctx, ws := setup(b, 1)
		for k := range 20 { // 20,000 points
			if _, err := s.AddReadings(ctx, ws, batch(k, 1, 1000, base)); err != nil {
				b.Fatal(err)
			}
		}
		from := base.Add(5000 * time.Second)
		for b.Loop() {
			ps, err := s.Series(ctx, ws, 1, runlet.MetricTemp, from, from.Add(1000*max(step, time.Second)), step, store.MaxLimit)
			if err != nil || len(ps) != 1000 {
				b.Fatalf("Series: %d points, %v", len(ps), err)
			}
		}
	}
	b.Run("Series1000Points", func(b *testing.B) {
		series(b, 0)
	})
	b.Run("Series1000Buckets", func(b *testing.B) {
		series(b, 10*time.Second) // 10 points each
	})
	b.Run("CheckSensor", func(b *testing.B) {
		s, _, ctx, _ := setup(b, 1)
		for b.Loop() {
			if _, err := s.CheckSensor(ctx, 1, secret1); err != nil {
				b.Fatal(err)
			}
		}
	})
}
