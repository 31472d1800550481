package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/runlet/runlet/bench/internal/benchkit"
	"github.com/runlet/runlet/bus"
	busconnect "github.com/runlet/runlet/bus/connect"
	"github.com/runlet/runlet/daemon"
	"github.com/runlet/runlet/home"
)

// measureBroker runs a server on broker and one daemon behind the counting
// proxies, and reports its idle traffic per source and what telemetry adds.
func measureBroker(ctx context.Context, o options, broker string, rep *benchkit.Report, progress func(string, ...any)) error {
	progress("%s: starting a server", broker)
	f, err := benchkit.StartFleet(ctx, broker)
	if err != nil {
		return err
	}
	defer f.Close()
	device := "bandwidth-" + broker
	dir, c, err := f.Enroll(ctx, device)
	if err != nil {
		return err
	}
	m := newMeter()
	bp, err := proxyFor(c.Broker, m, brokerParsers(broker, m))
	if err != nil {
		return err
	}
	defer bp.Close()
	hp, err := proxyFor(c.Server, m, func() [2]parser {
		return [2]parser{countAs(m, "HTTP API", up), countAs(m, "HTTP API", down)}
	})
	if err != nil {
		return err
	}
	defer hp.Close()
	pc := *c
	pc.Broker, pc.Server = viaProxy(c.Broker, bp), viaProxy(c.Server, hp)

	listen, err := freeAddr()
	if err != nil {
		return err
	}
	d, err := daemon.New(daemon.Config{
		Home: dir, Credentials: &pc, Dial: busconnect.Open, Logger: benchkit.Quiet,
		HeartbeatInterval: o.Heartbeat, Version: "bench", TelemetryListen: listen,
	})
	if err != nil {
		return err
	}
	runCtx, stop := context.WithCancel(ctx)
	ended := make(chan error, 1)
	go func() { ended <- d.Run(runCtx) }()
	defer func() { stop(); <-ended }()
	if err := f.WaitOnline(ctx, device, ended); err != nil {
		return err
	}
	start := m.snapshot()
	progress("%s: online after %d B; settling %s, then watching it idle for %s", broker, start.Total[up]+start.Total[down], o.Settle, o.Window)
	if err := sleep(ctx, o.Settle); err != nil {
		return err
	}
	s0 := m.snapshot()
	t0 := time.Now()
	if err := sleep(ctx, o.Window); err != nil {
		return err
	}
	idle := m.snapshot().since(s0)
	took := time.Since(t0)
	reportIdle(rep, broker, s0, idle, took)

	endpoint := "http://" + listen + "/v1/readings"
	progress("%s: posting %d rounds of one reading, then of %d, to the daemon's %s", broker, o.Publishes, o.Sensors, endpoint)
	one, err := gatewayCost(ctx, m, endpoint, o.Publishes, 1)
	if err != nil {
		progress("%s: through the daemon's gateway: %v; publishing batches directly instead", broker, err)
		if one, err = publishCost(ctx, o, broker, &pc, m, 1); err != nil {
			return err
		}
	}
	all, err := gatewayCost(ctx, m, endpoint, o.Publishes, o.Sensors)
	if err != nil {
		progress("%s: through the daemon's gateway: %v; publishing batches directly instead", broker, err)
		if all, err = publishCost(ctx, o, broker, &pc, m, o.Sensors); err != nil {
			return err
		}
	}
	reportMonth(rep, o, broker, idle, took, one, all)
	return nil
}

// brokerParsers makes the protocol parsers of one broker connection.
func brokerParsers(broker string, m *meter) func() [2]parser {
	if broker == benchkit.RabbitMQ {
		return func() [2]parser { return [2]parser{newAMQPStream(m, up), newAMQPStream(m, down)} }
	}
	return func() [2]parser {
		c := newNATSConn(m)
		return [2]parser{
			parserFunc(func(p []byte) { c.feed(up, p) }),
			parserFunc(func(p []byte) { c.feed(down, p) }),
		}
	}
}

// countAs attributes every byte of one direction to source.
func countAs(m *meter, source string, dir int) parser {
	return parserFunc(func(p []byte) { m.add(source, dir, int64(len(p))) })
}

// proxyFor starts a counting proxy to the host of rawURL.
func proxyFor(rawURL string, m *meter, parsers func() [2]parser) (*proxy, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", rawURL, err)
	}
	return startProxy(u.Host, m, parsers)
}

// viaProxy is rawURL with its host replaced by the proxy's.
func viaProxy(rawURL string, p *proxy) string {
	u, _ := url.Parse(rawURL)
	u.Host = p.Addr()
	return u.String()
}

// publish is what one telemetry batch cost on the wire.
type publish struct {
	tally
	body       int  // bytes of its body
	real       bool // the real batch encoding, else a stand-in (telemetryMessage)
	readings   int  // in the batch
	viaGateway bool // posted to the daemon's endpoint, else published directly
}

// publishCost publishes o.Publishes telemetry batches as the device, each
// confirmed, on a connection of their own through the proxy, and returns
// what one cost on the wire, both directions and acks included.
func publishCost(ctx context.Context, o options, broker string, c *home.Credentials, m *meter, n int) (publish, error) {
	b, err := benchkit.OpenBus(ctx, c)
	if err != nil {
		return publish{}, fmt.Errorf("open the device's bus: %w", err)
	}
	defer b.Close()
	s0 := m.snapshot()
	var real bool
	var extra, size int
	for i := range o.Publishes {
		var msg bus.Message
		msg, real, extra = telemetryMessage(o, c.Device, uint64(i+1), n, broker)
		size = len(msg.Body)
		if err := b.PublishDurable(ctx, c.Workspace, msg); err != nil {
			return publish{}, fmt.Errorf("publish telemetry: %w", err)
		}
	}
	d := m.snapshot().since(s0)
	var t tally
	for src, v := range d.By {
		if !strings.HasPrefix(src, "telemetry") && !strings.HasPrefix(src, "AMQP ack") {
			continue
		}
		for i := range 2 {
			t.Bytes[i] += v.Bytes[i]
			t.Msgs[i] += v.Msgs[i]
		}
	}
	for i := range 2 {
		t.Bytes[i] /= int64(o.Publishes)
	}
	t.Bytes[up] -= int64(extra)
	return publish{tally: t, body: size, real: real, readings: n}, nil
}

// reportIdle adds the idle traffic of each source, per minute.
func reportIdle(rep *benchkit.Report, broker string, startup, idle snapshot, took time.Duration) {
	perMin := func(b int64) float64 { return float64(b) / took.Minutes() }
	cas := broker + ", idle"
	srcs := idle.sources()
	for _, src := range srcs {
		t := idle.By[src]
		rep.Add(benchkit.Result{Bench: "bandwidth", Case: cas, Metric: src, Value: perMin(t.Bytes[up] + t.Bytes[down]), Unit: "B/min",
			Note: fmt.Sprintf("up %.0f B/min in %d msgs, down %.0f B/min in %d msgs over %s", perMin(t.Bytes[up]), t.Msgs[up], perMin(t.Bytes[down]), t.Msgs[down], took.Round(time.Second))}, nil)
	}
	rep.Add(benchkit.Result{Bench: "bandwidth", Case: cas, Metric: "total", Value: perMin(idle.Total[up] + idle.Total[down]), Unit: "B/min",
		Note: fmt.Sprintf("up %.0f, down %.0f B/min; %d new connections; start-up (sign-in to online) cost %d B", perMin(idle.Total[up]), perMin(idle.Total[down]), idle.Conns, startup.Total[up]+startup.Total[down])}, nil)
	rep.Add(benchkit.Result{Bench: "bandwidth", Case: cas, Metric: "IP+TCP headers (estimate)", Value: perMin(idle.ipOverhead()), Unit: "B/min",
		Note: fmt.Sprintf("%.1f segments/min up, %.1f down, 52 B each and as many pure ACKs (upper bound)", perMin(idle.Reads[up]), perMin(idle.Reads[down]))}, nil)
}

// reportMonth adds the month idle and with telemetry, against the target.
func reportMonth(rep *benchkit.Report, o options, broker string, idle snapshot, took time.Duration, one, all publish) {
	perMonth := func(b int64) float64 { return float64(b) / took.Minutes() * month.Minutes() }
	idleMonth := perMonth(idle.Total[up] + idle.Total[down])
	within := func(v float64) bool { return v <= targetMonthMB }
	target := fmt.Sprintf("≤ %d MB", targetMonthMB)
	rep.Add(benchkit.Result{Bench: "bandwidth", Case: broker + ", month", Metric: "idle", Value: idleMonth / 1e6, Unit: "MB", Target: target,
		Note: fmt.Sprintf("up %.2f MB, down %.2f MB; with IP+TCP headers (estimate) %.2f MB",
			perMonth(idle.Total[up])/1e6, perMonth(idle.Total[down])/1e6, (idleMonth+perMonth(idle.ipOverhead()))/1e6)}, within)
	readings := float64(o.Sensors) * float64(month/o.Every)
	for _, c := range []struct {
		p       publish
		batches float64
		how     string
	}{
		{one, readings, "each reading its own batch (sensors out of step)"},
		{all, readings / float64(max(all.readings, 1)), fmt.Sprintf("a round's %d readings posted together", o.Sensors)},
	} {
		cost := c.p.Bytes[up] + c.p.Bytes[down]
		tel := c.batches * float64(cost)
		rep.Add(benchkit.Result{Bench: "bandwidth", Case: broker + ", month", Metric: fmt.Sprintf("%d sensors every %s, %s", o.Sensors, o.Every, c.how), Value: (idleMonth + tel) / 1e6, Unit: "MB", Target: target,
			Note: fmt.Sprintf("idle + %.0f batches × %d B (%s: up %d B, down %d B with its ack)", c.batches, cost, bodyKind(c.p), c.p.Bytes[up], c.p.Bytes[down])}, within)
	}
}

func bodyKind(p publish) string {
	switch {
	case p.viaGateway:
		return fmt.Sprintf("%d readings posted to the daemon's endpoint, its batch", p.readings)
	case p.real:
		return fmt.Sprintf("a telemetry/batch encoding of %d B", p.body)
	}
	return fmt.Sprintf("a stand-in body of %d B (telemetry/batch not built yet)", p.body)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
