//go:build !windows

package server_test

import (
	"slices"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/cmd/assemble"
)

// BenchmarkSeriesQuery is one 1,000-point query through the API (the
// issue's "a 1,000-point query": p99 ≤ 20 ms), over a sensor with a week
// of readings every 10 s (60,480) on SQLite: every point of a 10,000 s
// range, and the week in buckets of step=auto. It reports the p50
// and p99 of the answers' latency.
func BenchmarkSeriesQuery(b *testing.B) {
	s := startServer(b, func(c *assemble.Config) { c.AdminPassword = "admin-password" })
	ctx := b.Context()
	admin := s.adminClient(b)
	who, err := admin.Whoami(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := admin.AddSensor(ctx, api.NewSensor{ID: 1, Secret: "1"}); err != nil {
		b.Fatal(err)
	}
	const every, n = 10 * time.Second, 7 * 24 * 360
	end := s.clock.Now().Truncate(time.Hour)
	start := end.Add(-n * every)
	var batch []runlet.RawReading
	for i := range n {
		r := runlet.RawReading{Device: "pi-1", Seq: uint64(i + 1), Accepted: start.Add(time.Duration(i) * every)}
		r.Sensor, r.Time = 1, r.Accepted
		r.Set(runlet.MetricTemp, 4+float64(i%100)/100)
		r.Set(runlet.MetricBatt, 97)
		if batch = append(batch, r); len(batch) == 5000 || i == n-1 {
			if _, err := s.Store.AddReadings(ctx, who.Workspace, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	for _, c := range []struct {
		name string
		q    api.SeriesQuery
		want int
	}{
		{"points", api.SeriesQuery{From: end.Add(-1000 * every).Format(time.RFC3339), To: end.Format(time.RFC3339)}, 1000},
		// auto takes 15 min over a week: 672 buckets of 90 points each.
		{"buckets", api.SeriesQuery{From: start.Format(time.RFC3339), To: end.Format(time.RFC3339), Step: "auto"}, 672},
	} {
		b.Run(c.name, func(b *testing.B) {
			var lat []time.Duration
			for b.Loop() {
				t0 := time.Now()
				got, err := admin.Series(ctx, 1, c.q)
				lat = append(lat, time.Since(t0))
				if err != nil || len(got.Points) != c.want {
					b.Fatalf("%d points, %v", len(got.Points), err)
				}
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
