package main

import (
	"context"
	"fmt"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/bench/internal/benchkit"
	"github.com/runlet/runlet/telemetry/sim"
)

// probeLatency times, until ctx ends, readings of the probe sensor sent
// one at a time through dev's batches: from the time the device accepted
// it to the time the query API first shows it. The API is polled every
// poll, which bounds the resolution. A probe still invisible when ctx
// ends counts at its age then, a lower bound, and is counted in censored.
func (s *stack) probeLatency(ctx context.Context, dev *device, sensor sim.Sensor, poll time.Duration) (out benchkit.Sample, censored int, err error) {
	for ctx.Err() == nil {
		p := &probe{sent: make(chan struct{})}
		p.send = sim.Send{Sensor: sensor.ID, Time: time.Now().UnixMilli(), Temp: 4, Batt: 90, Secret: sensor.Secret}
		dev.mu.Lock()
		dev.probe = p
		dev.mu.Unlock()
		select {
		case <-ctx.Done():
			return out, censored, nil
		case <-p.sent:
		}
		at := runlet.SensorTime(p.send.Time)
		q := api.SeriesQuery{Metric: runlet.MetricTemp, From: at.Format(time.RFC3339Nano), To: at.Add(time.Millisecond).Format(time.RFC3339Nano)}
		for {
			pts, err := s.Admin.Series(ctx, sensor.ID, q)
			if ctx.Err() != nil {
				return append(out, time.Since(p.accepted)), censored + 1, nil
			}
			if err != nil {
				return out, censored, fmt.Errorf("query the probe sensor: %w", err)
			}
			if len(pts.Points) > 0 {
				out = append(out, time.Since(p.accepted))
				break
			}
			time.Sleep(poll)
		}
	}
	return out, censored, nil
}

// queryLatency times, until ctx ends, queries of the 1,000 points of
// sensor from the API, one after the other with pause between them.
func (s *stack) queryLatency(ctx context.Context, sensor int64, from, to time.Time, pause time.Duration) (benchkit.Sample, error) {
	var out benchkit.Sample
	q := api.SeriesQuery{Metric: runlet.MetricTemp, From: from.Format(time.RFC3339Nano), To: to.Format(time.RFC3339Nano), Limit: api.MaxPoints}
	for ctx.Err() == nil {
		start := time.Now()
		pts, err := s.Admin.Series(ctx, sensor, q)
		if ctx.Err() != nil {
			break
		}
		if err != nil {
			return out, fmt.Errorf("query 1,000 points: %w", err)
		}
		if len(pts.Points) != api.MaxPoints {
			return out, fmt.Errorf("the query sensor has %d points, want %d", len(pts.Points), api.MaxPoints)
		}
		out = append(out, time.Since(start))
		time.Sleep(pause)
	}
	return out, nil
}
