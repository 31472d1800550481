package main

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/bench/internal/benchkit"
	"github.com/runlet/runlet/cmd/assemble"
	"github.com/runlet/runlet/telemetry/batch"
	"github.com/runlet/runlet/telemetry/sim"
)

// The targets (2 cores, loopback).
var (
	targetIngest  = map[string]float64{natsSQLite: 100_000, rabbitPostgres: 50_000}
	targetLatency = map[int]map[string]time.Duration{
		10_000: {"p50": 100 * time.Millisecond, "p99": 500 * time.Millisecond},
		70_000: {"p99": 2 * time.Second},
	}
	targetQueryP99   = 20 * time.Millisecond
	targetWireBatch  = 50.0 // bytes a reading, batched
	seedArchiveBytes = 6e12 // the seed's 6 TB
)

// fleet is the simulated gateways and the two sensors of the latency
// measures: the probe, sending one reading at a time, and the query
// sensor, holding 1,000 points.
type fleet struct {
	devs         []*device
	plan         *sim.Plan
	probe, query sim.Sensor
}

func run(ctx context.Context, o options, rep *benchkit.Report, progress func(string, ...any)) error {
	progress("starting the server on %s", o.Stack)
	// Without alerts (-alerts=false), the ingest does not tell the
	// alert service (assemble.Config.NoAlerts).
	bs, err := benchkit.StartStack(ctx, o.Stack, func(c *assemble.Config) { c.NoAlerts = !o.Alerts })
	if err != nil {
		return err
	}
	s := stack{bs}
	defer s.Close()
	progress("enrolling %d gateways, registering %d sensors", o.Gateways, o.Gateways*o.Sensors)
	fl, err := s.startFleet(ctx, o)
	if err != nil {
		return err
	}
	defer func() {
		for _, d := range fl.devs {
			_ = d.bus.Close()
		}
	}()
	wireSizes(fl, o, rep)

	from, to, err := s.preloadQuery(ctx, fl)
	if err != nil {
		return err
	}
	diskBefore, err := s.DiskBytes(ctx)
	if err != nil {
		return err
	}
	statsBefore, err := s.Admin.TelemetryStats(ctx)
	if err != nil {
		return err
	}

	var l load
	pollCtx, stopPoll := context.WithCancel(ctx)
	defer stopPoll()
	go s.pollStored(pollCtx, &l)

	// Each phase starts once the one before is stored: a backlog would
	// count in the next phase's latencies.
	drain := func(after string) {
		progress("waiting for the backlog of the %s to be stored", after)
		start := time.Now()
		if err := s.waitStored(ctx, statsBefore.Stored+l.published.Load(), 5*time.Minute); err != nil {
			rep.Note("backlog after the %s: %v", after, err)
			return
		}
		progress("stored in %s", time.Since(start).Round(time.Millisecond))
	}
	if err := s.sustained(ctx, o, fl, &l, rep, progress); err != nil {
		return err
	}
	drain("sustained ingest")
	if o.Latency > 0 {
		for _, rate := range o.Rates {
			if err := s.latencyPhase(ctx, o, fl, rate, from, to, &l, rep, progress); err != nil {
				return err
			}
			drain(fmt.Sprintf("phase at %d/s", rate))
		}
	}
	stopPoll()
	if o.Outage > 0 {
		if err := s.drain(ctx, o.Outage, fl, rep, progress); err != nil {
			rep.Note("outbox drain: %v", err)
		}
	}

	statsAfter, err := s.Admin.TelemetryStats(ctx)
	if err != nil {
		return err
	}
	s.diskSize(ctx, diskBefore, statsAfter.Stored-statsBefore.Stored, rep)
	rep.Note("stack %s: %d gateways × %d sensors; the pipeline counted %+v", o.Stack, o.Gateways, o.Sensors, statsAfter)
	if n := l.errors.Load(); n > 0 {
		rep.Note("%d batches failed to publish; the last: %v", n, l.lastErr.Load())
	}
	return nil
}

// startFleet enrolls the gateways, opens their broker connections and
// registers their sensors, the probe and the query sensor.
func (s *stack) startFleet(ctx context.Context, o options) (*fleet, error) {
	fl := &fleet{plan: sim.NewPlan(sim.Config{Seed: 1, Gateways: o.Gateways, Sensors: o.Sensors, Readings: 1, FirstID: 1_000_000})}
	next := fl.plan.Config.FirstID + int64(len(fl.plan.Sensors))
	fl.probe = sim.Sensor{ID: next, Name: "probe", Secret: "64089519511846157"}
	fl.query = sim.Sensor{ID: next + 1, Name: "query", Secret: "64089519511846158"}
	streams := fl.plan.Split(2)
	for g := range o.Gateways {
		c, err := s.EnrollDevice(ctx, fmt.Sprintf("gw-%03d", g))
		if err != nil {
			return nil, err
		}
		b, err := benchkit.OpenBus(ctx, c)
		if err != nil {
			return nil, fmt.Errorf("connect %s to the broker: %w", c.Device, err)
		}
		fl.devs = append(fl.devs, &device{creds: c, bus: b, stream: streams[g]})
	}
	sensors := append([]sim.Sensor{fl.probe, fl.query}, fl.plan.Sensors...)
	work := make(chan sim.Sensor)
	errs := make(chan error, len(sensors))
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for sn := range work {
				if _, err := s.Admin.AddSensor(ctx, api.NewSensor{ID: sn.ID, Name: sn.Name, Secret: api.SensorSecret(sn.Secret)}); err != nil {
					errs <- fmt.Errorf("register sensor %d: %w", sn.ID, err)
				}
			}
		}()
	}
	for _, sn := range sensors {
		work <- sn
	}
	close(work)
	wg.Wait()
	close(errs)
	return fl, <-errs
}

// preloadQuery sends the query sensor's 1,000 readings, a second apart
// and ending a minute ago, and waits until they are stored.
func (s *stack) preloadQuery(ctx context.Context, fl *fleet) (from, to time.Time, err error) {
	before, err := s.Admin.TelemetryStats(ctx)
	if err != nil {
		return from, to, fmt.Errorf("the pipeline's counts (is telemetry wired in the server?): %w", err)
	}
	to = time.Now().Add(-time.Minute).Truncate(time.Second)
	from = to.Add(-api.MaxPoints * time.Second)
	ms := make([]sim.Send, api.MaxPoints)
	for i := range ms {
		ms[i] = sim.Send{Sensor: fl.query.ID, Time: from.Add(time.Duration(i) * time.Second).UnixMilli(), Temp: float64(i % 10), Batt: 80, Secret: fl.query.Secret}
	}
	now := time.Now()
	if _, err := fl.devs[0].publish(ctx, ms, func(int) time.Time { return now }); err != nil {
		return from, to, fmt.Errorf("preload the query sensor: %w", err)
	}
	return from, to.Add(time.Second), s.waitStored(ctx, before.Stored+api.MaxPoints, 2*time.Minute)
}

// sustained measures the ingest rate over o.Duration, after a warm-up
// of a tenth of it.
func (s *stack) sustained(ctx context.Context, o options, fl *fleet, l *load, rep *benchkit.Report, progress func(string, ...any)) error {
	what := "as fast as stored"
	if o.Rate > 0 {
		what = fmt.Sprintf("at %d/s", o.Rate)
	}
	progress("sustained ingest %s for %s", what, o.Duration)
	lctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		runLoad(lctx, fl.devs, o.Rate, o.BatchTime, o.MaxBatch, o.Backlog, l)
		close(done)
	}()
	warm := o.Duration / 10
	time.Sleep(warm)
	if o.CPUProfile != "" {
		f, err := os.Create(o.CPUProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			stop()
			<-done
			return fmt.Errorf("start the CPU profile: %w", err)
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	st0, err := s.Admin.TelemetryStats(ctx)
	if err != nil {
		stop()
		<-done
		return err
	}
	b0, m0, p0 := l.bytes.Load(), l.messages.Load(), l.published.Load()
	cpu0, cpuErr := benchkit.CPUTime(os.Getpid())
	start := time.Now()
	time.Sleep(o.Duration)
	st1, err := s.Admin.TelemetryStats(ctx)
	el := time.Since(start)
	cpu1, cpuErr1 := benchkit.CPUTime(os.Getpid())
	b1, m1, p1 := l.bytes.Load(), l.messages.Load(), l.published.Load()
	stop()
	<-done
	if err != nil {
		return err
	}
	rate := float64(st1.Stored-st0.Stored) / el.Seconds()
	tgt := targetIngest[o.Stack]
	alerts := "alerts on"
	if !o.Alerts {
		alerts = "alerts off"
	}
	rep.Add(benchkit.Result{Bench: "ingest, sustained", Case: fmt.Sprintf("%s, one node, %s, %s, %s", o.Stack, what, o.Duration, alerts),
		Metric: "stored", Value: rate, Unit: "readings/s", Target: fmt.Sprintf("≥ %.0f", tgt),
		Note: fmt.Sprintf("published %.0f/s", float64(p1-p0)/el.Seconds())}, func(v float64) bool { return v >= tgt })
	// The process's CPU time per reading stored is steadier than the rate
	// on a shared machine; it counts the simulated gateways too, and on
	// PostgreSQL not the database's work.
	if stored := st1.Stored - st0.Stored; cpuErr == nil && cpuErr1 == nil && stored > 0 {
		rep.Add(benchkit.Result{Bench: "ingest, sustained", Case: fmt.Sprintf("%s, %s: this process's CPU (server and gateways)", o.Stack, alerts),
			Metric: "CPU", Value: float64((cpu1 - cpu0).Microseconds()) / float64(stored), Unit: "µs/reading"}, nil)
	}
	if p1 > p0 {
		rep.Add(benchkit.Result{Bench: "bytes on the wire per reading", Case: "batched, as sent during the sustained ingest (the random stream: 1 ms apart per sensor, compresses well)",
			Metric: "body", Value: float64(b1-b0) / float64(p1-p0), Unit: "B", Target: fmt.Sprintf("≤ %.0f", targetWireBatch),
			Note: fmt.Sprintf("%.0f readings a batch", float64(p1-p0)/float64(max(m1-m0, 1)))}, func(v float64) bool { return v <= targetWireBatch })
	}
	return nil
}

// latencyPhase sends rate readings a second and times the probe's
// readings from accepted to visible; at the first rate, it also times
// 1,000-point queries meanwhile.
func (s *stack) latencyPhase(ctx context.Context, o options, fl *fleet, rate int, from, to time.Time, l *load, rep *benchkit.Report, progress func(string, ...any)) error {
	progress("latency at %d readings/s for %s", rate, o.Latency)
	lctx, stop := context.WithTimeout(ctx, o.Latency)
	defer stop()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		runLoad(lctx, fl.devs, rate, o.BatchTime, o.MaxBatch, o.Backlog, l)
	}()
	var query benchkit.Sample
	var qerr error
	if rate == o.Rates[0] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			query, qerr = s.queryLatency(lctx, fl.query.ID, from, to, 50*time.Millisecond)
		}()
	}
	start, p0 := time.Now(), l.published.Load()
	probes, censored, perr := s.probeLatency(lctx, fl.devs[0], fl.probe, o.Poll)
	sent := float64(l.published.Load()-p0) / time.Since(start).Seconds()
	stop()
	wg.Wait()
	if perr != nil {
		return perr
	}
	cas := fmt.Sprintf("%s, %d readings/s (%.0f sent), batches every %s", o.Stack, rate, sent, o.BatchTime)
	if len(probes) == 0 {
		return fmt.Errorf("no probe was sent at %d/s", rate)
	}
	rep.AddLatency("accepted on the device → visible in the query API", cas, probes, targetLatency[rate])
	if censored > 0 {
		rep.Note("at %d/s, %d probe(s) of %d were still invisible when the phase ended: counted at their age then, a lower bound", rate, censored, len(probes))
	}
	if qerr != nil {
		return qerr
	}
	if len(query) > 0 {
		rep.AddLatency("a 1,000-point query through the API, while ingesting", cas, query, map[string]time.Duration{"p99": targetQueryP99})
	}
	return nil
}

// wireSizes reports the encoded size of a batch per reading, for a single
// reading and for batches of the deterministic plan's readings (sensors
// reporting every 15 s, fridges and freezers with excursions, batteries
// running down), the size the gateways send at 10k/s among them.
func wireSizes(fl *fleet, o options, rep *benchkit.Report) {
	p := sim.NewPlan(sim.Config{Seed: 3, Gateways: 1, Sensors: o.Sensors, Readings: 5000/o.Sensors + 1, Interval: 15 * time.Second})
	var all []sim.Send
	for _, round := range p.Rounds {
		all = append(all, round[0]...)
	}
	perBatch := max(10_000*int(o.BatchTime/time.Millisecond)/1000/o.Gateways, 1)
	for _, n := range []int{1, 10, perBatch, 1000, 5000} {
		ms := all[:n]
		accepted := runlet.SensorTime(ms[0].Time)
		b := sim.Batch(ms, 1, accepted)
		for i, m := range ms {
			b.Readings[i].Accepted = runlet.SensorTime(m.Time).Add(time.Duration(50+i%7) * time.Millisecond)
		}
		body, err := batch.Encode(b)
		if err != nil {
			rep.Note("encode a batch of %d: %v", n, err)
			return
		}
		res := benchkit.Result{Bench: "bytes on the wire per reading", Case: fmt.Sprintf("a batch of %d, %d sensors every 15 s", n, min(n, o.Sensors)),
			Metric: "body", Value: float64(len(body)) / float64(n), Unit: "B", Note: "the batch's body, without the broker's framing"}
		var want func(float64) bool
		if n > 1 {
			res.Target = fmt.Sprintf("≤ %.0f", targetWireBatch)
			want = func(v float64) bool { return v <= targetWireBatch }
		} else {
			res.Target = "measured"
		}
		rep.Add(res, want)
	}
}

// diskSize reports the bytes the database grew by per reading stored.
func (s *stack) diskSize(ctx context.Context, before, stored int64, rep *benchkit.Report) {
	after, err := s.DiskBytes(ctx)
	if err != nil || stored <= 0 {
		rep.Note("bytes on disk: %v (%d stored)", err, stored)
		return
	}
	per := float64(after-before) / float64(stored)
	rep.Add(benchkit.Result{Bench: "bytes on disk per stored reading (series + raw)", Case: fmt.Sprintf("%s, %d readings", s.Name, stored),
		Metric: "disk", Value: per, Unit: "B", Target: "measured",
		Note: fmt.Sprintf("the seed's 6 TB would hold %.2g readings", seedArchiveBytes/max(per, 1))}, nil)
}
