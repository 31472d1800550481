package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/runlet/runlet/bench/internal/benchkit"
	"github.com/runlet/runlet/telemetry/gateway"
	"github.com/runlet/runlet/telemetry/sensormsg"
	"github.com/runlet/runlet/telemetry/sim"
	"github.com/runlet/runlet/telemetry/spool"
)

// The outage: 10 minutes at 1,000 readings a second, drained at
// 10 times that rate at least.
const (
	liveRate     = 1000
	drainFactor  = 10
	drainTimeout = 10 * time.Minute
)

// drain measures the daemon's real gateway (telemetry/gateway over its
// spool, in this process): n readings accepted while it cannot send (an
// outage), then its sender started; the rate at which the outbox empties
// (the broker confirmed every batch) and at which the server stores them.
func (s *stack) drain(ctx context.Context, n int, fl *fleet, rep *benchkit.Report, progress func(string, ...any)) error {
	c, err := s.EnrollDevice(ctx, "gw-drain")
	if err != nil {
		return err
	}
	b, err := benchkit.OpenBus(ctx, c)
	if err != nil {
		return fmt.Errorf("connect gw-drain to the broker: %w", err)
	}
	defer b.Close()
	dir := filepath.Join(s.Dir, "drain-spool")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	sp, err := spool.Open(dir, spool.Options{})
	if err != nil {
		return err
	}
	defer sp.Close()
	g, err := gateway.New(gateway.Config{Spool: sp, Bus: b, Workspace: c.Workspace, Device: c.Device})
	if err != nil {
		return err
	}
	progress("accepting %d readings into the outbox of gw-drain while it cannot send", n)
	st := sim.NewStream(4, fl.plan.Sensors[:min(len(fl.plan.Sensors), 100)])
	// The readings are ten minutes old at most, as after a real outage.
	at := time.Now().Add(-time.Duration(n/liveRate) * time.Second)
	for left := n; left > 0; {
		k := min(left, 5000)
		msgs := make([]sensormsg.Message, k)
		for i, m := range st.Next(k, at) {
			r := sim.ReadingOf(m)
			msgs[i] = sensormsg.Message{Sensor: m.Sensor, Secret: m.Secret, Time: m.Time, HasTime: true, Values: r.Values, Has: r.Has}
		}
		if _, err := g.Accept(ctx, msgs); err != nil {
			return fmt.Errorf("accept readings into the outbox: %w", err)
		}
		left -= k
		at = at.Add(time.Duration(k) * time.Second / liveRate)
	}
	before, err := s.Admin.TelemetryStats(ctx)
	if err != nil {
		return err
	}
	pending := g.Stats().Pending
	progress("draining %d readings", pending)
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- g.Run(rctx) }()
	defer func() { stop(); <-done }()
	deadline := time.Now().Add(drainTimeout)
	for g.Stats().Pending > 0 {
		if time.Now().After(deadline) {
			return fmt.Errorf("the outbox still holds %d readings after %s: %s", g.Stats().Pending, drainTimeout, g.Stats().LastError)
		}
		time.Sleep(10 * time.Millisecond)
	}
	sent := time.Since(start)
	if err := s.waitStored(ctx, before.Stored+int64(n), drainTimeout); err != nil {
		return err
	}
	stored := time.Since(start)
	want := float64(liveRate * drainFactor)
	for _, r := range []struct {
		metric string
		d      time.Duration
	}{{"sent (broker confirmed)", sent}, {"stored", stored}} {
		rep.Add(benchkit.Result{Bench: "outbox drain after an outage", Case: fmt.Sprintf("%s, %d readings (%s at %d/s), the real gateway and spool", s.Name, n, time.Duration(n/liveRate)*time.Second, liveRate),
			Metric: r.metric, Value: float64(n) / r.d.Seconds(), Unit: "readings/s", Target: fmt.Sprintf("≥ %.0f", want),
			Note: r.d.Round(time.Millisecond).String()}, func(v float64) bool { return v >= want })
	}
	return nil
}
