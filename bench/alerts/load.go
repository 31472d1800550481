package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/telemetry/batch"
	"github.com/runlet/runlet/telemetry/sim"
)

// The readings the bench sends: in range (3-5 °C) and above the
// threshold of 8 °C.
const (
	thresholdMax = 8.0
	crossingTemp = 12.0
)

// device is a simulated gateway: a real device's broker connection,
// publishing its sensors' readings as its gateway does, one batch per
// message on its telemetry key, a batch every batch time.
type device struct {
	creds  *home.Credentials
	bus    bus.Bus
	steady []sim.Sensor // sensors with a threshold, in range unless crossing
	seq    uint64       // the next reading's sequence number (the loop's)

	mu        sync.Mutex
	quiet     []*quietSensor // sensors that report until they stop
	crossings []sim.Sensor   // to send above the threshold in the next batch
}

// quietSensor reports every interval until stop, then falls silent.
type quietSensor struct {
	sim.Sensor
	every      time.Duration
	next, stop time.Time    // the device loop's
	last       atomic.Int64 // unix nanoseconds its last batch was handed to the broker
}

// load is what the devices have published.
type load struct {
	published atomic.Int64
	batches   atomic.Int64
	errors    atomic.Int64
	lastErr   atomic.Value
}

// publish sends ms as one batch, numbered from the device's sequence,
// each reading accepted when the batch is sent.
func (d *device) publish(ctx context.Context, ms []sim.Send, accepted time.Time) error {
	b := sim.Batch(ms, d.seq, accepted)
	d.seq += uint64(len(ms))
	body, err := batch.Encode(b)
	if err != nil {
		return err
	}
	m := bus.Message{ID: d.creds.Device + "/" + b.ID(), Key: bus.TelemetryKey(d.creds.Device), Body: body}
	for {
		pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err = d.bus.PublishDurable(pctx, d.creds.Workspace, m)
		cancel()
		if err == nil || ctx.Err() != nil {
			return err
		}
		if !errors.Is(err, bus.ErrNoQueue) {
			return err
		}
		// The pipeline's consumer has not declared its queue yet.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// run sends, every batchTime until ctx ends, rate in-range readings a
// second among the device's steady sensors (round robin), a reading of
// each quiet sensor whose turn it is, and the crossings asked for, each
// registered with rec just before its batch is handed to the broker.
func (d *device) run(ctx context.Context, rate float64, batchTime time.Duration, rec *recorder, l *load, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 14))
	last := map[int64]int64{} // each sensor's last reading time (unix ms): one reading a millisecond at most
	stamp := func(sensor int64, now time.Time) int64 {
		t := max(now.UnixMilli(), last[sensor]+1)
		last[sensor] = t
		return t
	}
	per := rate * batchTime.Seconds()
	carry, next := 0.0, 0
	tick := time.NewTicker(batchTime)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now := time.Now()
		var ms []sim.Send
		if len(d.steady) > 0 {
			carry += per
			n := int(carry)
			carry -= float64(n)
			for range n {
				sn := d.steady[next%len(d.steady)]
				next++
				ms = append(ms, sim.Send{Sensor: sn.ID, Time: stamp(sn.ID, now), Temp: 3 + 2*rng.Float64(), Batt: 90, Secret: sn.Secret})
			}
		}
		d.mu.Lock()
		quiet, crossings := d.quiet, d.crossings
		d.crossings = nil
		d.mu.Unlock()
		var heard []*quietSensor
		for _, q := range quiet {
			if !now.Before(q.next) && now.Before(q.stop) {
				ms = append(ms, sim.Send{Sensor: q.ID, Time: stamp(q.ID, now), Temp: 4, Batt: 90, Secret: q.Secret})
				q.next = now.Add(q.every)
				heard = append(heard, q)
			}
		}
		type sent struct {
			key string
			at  int64
		}
		var cross []sent
		for _, sn := range crossings {
			t := stamp(sn.ID, now)
			ms = append(ms, sim.Send{Sensor: sn.ID, Time: t, Temp: crossingTemp, Batt: 90, Secret: sn.Secret})
			cross = append(cross, sent{runlet.ThresholdKey(sn.ID, runlet.MetricTemp), t})
		}
		if len(ms) == 0 {
			continue
		}
		handed := time.Now()
		for _, c := range cross {
			rec.expect(c.key, c.at, handed)
		}
		if err := d.publish(ctx, ms, now); err != nil {
			for _, c := range cross {
				rec.unexpect(c.key)
			}
			if ctx.Err() == nil {
				l.errors.Add(1)
				l.lastErr.Store(err.Error())
			}
			continue
		}
		for _, q := range heard {
			q.last.Store(handed.UnixNano())
		}
		l.published.Add(int64(len(ms)))
		l.batches.Add(1)
	}
}

// waitFor polls cond every 50 ms until it holds, ctx ends or timeout
// passes; it says whether cond held.
func waitFor(ctx context.Context, timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if ctx.Err() != nil || time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

func (l *load) note() string {
	if n := l.errors.Load(); n > 0 {
		return fmt.Sprintf("%d batches failed to publish; the last: %v", n, l.lastErr.Load())
	}
	return ""
}
