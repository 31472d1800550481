package main

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/bench/internal/benchkit"
	"github.com/runlet/runlet/server"
	"github.com/runlet/runlet/telemetry/sim"
)

// The targets.
const (
	targetThreshold = 2 * time.Second  // crossing → notification handed to the channel, p99
	targetSilence   = 10 * time.Second // silence deadline → notification, p99
)

// The sensors' IDs.
const (
	firstSteady = 2_000_000
	firstQuiet  = 3_000_000
)

func run(ctx context.Context, o options, rep *benchkit.Report, progress func(string, ...any)) error {
	if o.Gateways < 1 || o.Sensors < 1 || o.Crossings <= 0 {
		return fmt.Errorf("want at least one gateway, one sensor and crossings > 0")
	}
	progress("starting the server on %s", o.Stack)
	bs, err := benchkit.StartStack(ctx, o.Stack, nil)
	if err != nil {
		return err
	}
	s := stack{bs}
	defer s.Close()
	rec := newRecorder()
	defer rec.srv.Close()
	if _, err := s.Admin.AddChannel(ctx, api.NewChannel{Kind: runlet.ChannelWebhook, Target: rec.srv.URL + "/hook", Secret: hookSecret}); err != nil {
		return fmt.Errorf("add the webhook channel: %w", err)
	}
	settings, err := s.Admin.AlertSettings(ctx)
	if err != nil {
		return fmt.Errorf("read the alert settings: %w", err)
	}
	if o.Every > 0 {
		settings.Every = runlet.Duration(o.Every)
		if settings, err = s.Admin.SetAlertSettings(ctx, settings); err != nil {
			return fmt.Errorf("set the alert settings: %w", err)
		}
	}

	progress("enrolling %d gateways, registering %d sensors with a threshold and %d that fall silent", o.Gateways, o.Sensors, o.Quiet)
	devs, quiet, err := s.startFleet(ctx, o)
	if err != nil {
		return err
	}
	defer func() {
		for _, d := range devs {
			_ = d.bus.Close()
		}
	}()
	var l load
	runCtx, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i, d := range devs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.run(runCtx, float64(o.Rate)/float64(len(devs)), o.BatchTime, rec, &l, uint64(i))
		}()
	}
	defer func() {
		stopLoad()
		wg.Wait()
	}()

	// Warm-up: the pipeline's queue declared, readings stored, the alert
	// service's caches (2 s) holding the sensors.
	progress("warming up: %d readings/s in range", o.Rate)
	if !waitFor(ctx, time.Minute, func() bool {
		st, err := s.Admin.TelemetryStats(ctx)
		return err == nil && st.Stored > 0
	}) {
		return fmt.Errorf("no reading was stored within a minute of the start (%s)", l.note())
	}
	time.Sleep(o.Warm)

	if err := crossings(ctx, o, settings.Period(), devs, rec, &l, rep, progress); err != nil {
		return err
	}
	if o.Quiet > 0 {
		if err := silences(ctx, o, devs, quiet, rec, &l, rep, progress); err != nil {
			return err
		}
	}

	stopLoad()
	wg.Wait()
	waitFor(ctx, 30*time.Second, func() bool {
		st, err := s.Admin.TelemetryStats(ctx)
		return err == nil && st.Accepted >= l.published.Load()
	})
	rec.mu.Lock()
	others, bad, unmatched := maps.Clone(rec.others), slices.Clone(rec.bad), rec.unmatched
	rec.mu.Unlock()
	st, err := s.Admin.TelemetryStats(ctx)
	if err != nil {
		return err
	}
	rep.Note("stack %s: %d gateways, batches every %s; %d readings published in %d batches; the pipeline counted %+v", o.Stack, o.Gateways, o.BatchTime, l.published.Load(), l.batches.Load(), st)
	if len(others) > 0 {
		rep.Note("other webhooks (not measured): %v", others)
	}
	if unmatched > 0 {
		rep.Note("%d threshold webhooks matched no crossing the bench made", unmatched)
	}
	if len(bad) > 0 {
		rep.Note("the webhook receiver refused %d requests; the first: %s", len(bad), bad[0])
	}
	if n := l.note(); n != "" {
		rep.Note("%s", n)
	}
	return nil
}

// startFleet enrolls the gateways, opens their broker connections and
// registers the sensors: those with a threshold, shared round robin among
// the gateways, and those that fall silent (given to the gateways later).
func (s *stack) startFleet(ctx context.Context, o options) ([]*device, []*quietSensor, error) {
	var devs []*device
	for g := range o.Gateways {
		c, err := s.EnrollDevice(ctx, fmt.Sprintf("gw-%03d", g))
		if err != nil {
			return nil, nil, err
		}
		b, err := benchkit.OpenBus(ctx, c)
		if err != nil {
			return nil, nil, fmt.Errorf("connect %s to the broker: %w", c.Device, err)
		}
		devs = append(devs, &device{creds: c, bus: b})
	}
	max8 := thresholdMax
	type reg struct {
		sn    sim.Sensor
		rules runlet.SensorRules
	}
	var regs []reg
	for i := range o.Sensors {
		sn := sensor(firstSteady + int64(i))
		devs[i%len(devs)].steady = append(devs[i%len(devs)].steady, sn)
		regs = append(regs, reg{sn, runlet.SensorRules{Thresholds: runlet.Thresholds{TempMax: &max8}}})
	}
	var quiet []*quietSensor
	for i := range o.Quiet {
		q := &quietSensor{Sensor: sensor(firstQuiet + int64(i)), every: o.Interval}
		quiet = append(quiet, q)
		regs = append(regs, reg{q.Sensor, runlet.SensorRules{Silence: runlet.Duration(o.Silence)}})
	}
	work := make(chan reg)
	errs := make(chan error, len(regs))
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range work {
				if _, err := s.Admin.AddSensor(ctx, api.NewSensor{ID: r.sn.ID, Name: r.sn.Name, Secret: api.SensorSecret(r.sn.Secret),
					Owner: server.AdminEmail, Location: "bench", Rules: &r.rules}); err != nil {
					errs <- fmt.Errorf("register sensor %d: %w", r.sn.ID, err)
				}
			}
		}()
	}
	for _, r := range regs {
		work <- r
	}
	close(work)
	wg.Wait()
	close(errs)
	return devs, quiet, <-errs
}

func sensor(id int64) sim.Sensor {
	return sim.Sensor{ID: id, Name: fmt.Sprintf("bench %d", id), Secret: fmt.Sprint(64089519511846157 + id)}
}

// crossings makes, for o.Duration, a sensor's reading cross its threshold
// at random moments (o.Crossings a second on average), each on a sensor
// that has not crossed within the period (period, plus 2 s) so that its
// alert is told, and times each from its batch handed to the broker to
// its "opened" webhook. The sensor's next reading, in range, resolves the
// alert.
func crossings(ctx context.Context, o options, period time.Duration, devs []*device, rec *recorder, l *load, rep *benchkit.Report, progress func(string, ...any)) error {
	progress("threshold crossings, %.1f a second on average, for %s", o.Crossings, o.Duration)
	rng := rand.New(rand.NewPCG(7, 14))
	crossed := make([]time.Time, o.Sensors) // each sensor's last crossing
	cooldown := period + 2*time.Second
	made, skipped := 0, 0
	end := time.Now().Add(o.Duration)
	for {
		wait := time.Duration(rng.ExpFloat64() / o.Crossings * float64(time.Second))
		if time.Now().Add(wait).After(end) {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		now := time.Now()
		i := -1
		for range 32 {
			if j := rng.IntN(o.Sensors); crossed[j].IsZero() || now.Sub(crossed[j]) >= cooldown {
				i = j
				break
			}
		}
		if i < 0 {
			skipped++
			continue
		}
		crossed[i] = now
		d := devs[i%len(devs)]
		d.mu.Lock()
		d.crossings = append(d.crossings, d.steady[i/len(devs)])
		d.mu.Unlock()
		made++
	}
	progress("%d crossings made; waiting for their webhooks", made)
	waitFor(ctx, 60*time.Second, func() bool { return rec.told(made) })
	rec.mu.Lock()
	got, missing := slices.Clone(rec.threshold), made-len(rec.threshold)
	rec.mu.Unlock()
	cas := fmt.Sprintf("%s, %d sensors, %d readings/s in range, %.1f crossings/s", o.Stack, o.Sensors, o.Rate, o.Crossings)
	addLatency(rep, "threshold crossing handed to the broker → webhook", cas, got, targetThreshold, missing)
	if skipped > 0 {
		rep.Note("%d crossings were skipped: no sensor was free of the once-per-period rule (%s); use more sensors or a shorter -every", skipped, period)
	}
	return nil
}

// silences makes the quiet sensors report every o.Interval and stop, each
// at a random moment over o.Stagger, and times each silence alert from
// its At (the due time the server recorded: heard + the silence period)
// to its "opened" webhook.
func silences(ctx context.Context, o options, devs []*device, quiet []*quietSensor, rec *recorder, l *load, rep *benchkit.Report, progress func(string, ...any)) error {
	progress("%d sensors report every %s and fall silent over %s (silence period %s)", len(quiet), o.Interval, o.Stagger, o.Silence)
	rng := rand.New(rand.NewPCG(9, 14))
	start := time.Now()
	for i, q := range quiet {
		q.next = start
		q.stop = start.Add(2*o.Interval + time.Duration(rng.Int64N(int64(max(o.Stagger, 1)))))
		d := devs[i%len(devs)]
		d.mu.Lock()
		d.quiet = append(d.quiet, q)
		d.mu.Unlock()
	}
	timeout := 2*o.Interval + o.Stagger + o.Silence + 2*time.Minute
	waitFor(ctx, timeout, func() bool { return rec.silences() >= len(quiet) })
	rec.mu.Lock()
	got := slices.Clone(rec.silence)
	ats := rec.silenceAt
	var lags benchkit.Sample // the due time the server recorded − (handed to the broker + the period)
	for _, q := range quiet {
		if at, ok := ats[q.ID]; ok && q.last.Load() > 0 {
			lags = append(lags, at.Sub(time.Unix(0, q.last.Load()).Add(o.Silence)))
		}
	}
	rec.mu.Unlock()
	missing := len(quiet) - len(got)
	cas := fmt.Sprintf("%s, %d sensors stopping over %s, silence %s, %d readings/s in range meanwhile", o.Stack, len(quiet), o.Stagger, o.Silence, o.Rate)
	addLatency(rep, "silence due (the alert's At) → webhook", cas, got, targetSilence, missing)
	if len(lags) > 0 {
		rep.Note("a silence alert's At is its sensor's last batch handed to the broker + the period + p50 %s (max %s): the time the server took to record the sensor heard, which the silence latency does not count",
			lags.Quantile(0.5).Round(time.Millisecond), lags.Quantile(1).Round(time.Millisecond))
	}
	return nil
}

// addLatency records the count, p50, p90, p99 (against target) and max
// of s in milliseconds; missing are the alerts never told within the
// bench's patience.
func addLatency(rep *benchkit.Report, bench, cas string, s benchkit.Sample, target time.Duration, missing int) {
	note := ""
	if missing > 0 {
		note = fmt.Sprintf("%d never told within the bench's patience", missing)
	}
	rep.Add(benchkit.Result{Bench: bench, Case: cas, Metric: "count", Value: float64(len(s)), Unit: "alerts", Target: "no alert missing", Note: note},
		func(float64) bool { return missing == 0 && len(s) > 0 })
	for _, q := range []struct {
		name string
		q    float64
	}{{"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}, {"max", 1}} {
		res := benchkit.Result{Bench: bench, Case: cas, Metric: q.name, Value: benchkit.Millis(s.Quantile(q.q)), Unit: "ms", Note: fmt.Sprintf("n=%d", len(s))}
		var want func(float64) bool
		if q.name == "p99" {
			res.Target = fmt.Sprintf("≤ %.0f ms", benchkit.Millis(target))
			want = func(v float64) bool { return len(s) > 0 && v <= benchkit.Millis(target) }
		}
		rep.Add(res, want)
	}
}
