package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// freeAddr is a loopback address with a port free a moment ago, for the
// daemon's readings endpoint.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// gatewayCost posts rounds of n readings (one per sensor, in one request)
// to the daemon's readings endpoint, as sensors do, waits after each round
// until the broker confirmed everything the daemon published for it, and
// returns what one batch cost on the daemon's broker connection, its
// confirmation included. The gateway decides how readings make batches
// (within its batching time, gateway.MaxBatchTime).
func gatewayCost(ctx context.Context, m *meter, endpoint string, rounds, n int) (publish, error) {
	s0 := m.snapshot()
	for r := range rounds {
		var b strings.Builder
		b.WriteString("[")
		for i := range n {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"device":{"id":%d,"auth":64089519511846157},"reading":{"temp":%.1f,"time":%d,"batt":%d}}`,
				1000+i, -18.5+float64(i)/10, time.Now().Unix()+int64(r), 75+i%5)
		}
		b.WriteString("]")
		resp, err := http.Post(endpoint, "application/json", bytes.NewReader([]byte(b.String())))
		if err != nil {
			return publish{}, fmt.Errorf("post readings: %w", err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return publish{}, fmt.Errorf("post readings: %s", resp.Status)
		}
		if err := waitConfirmed(ctx, m, s0); err != nil {
			return publish{}, err
		}
	}
	t, batches := telemetryTally(m.snapshot().since(s0))
	if batches == 0 {
		return publish{}, fmt.Errorf("the daemon published no telemetry")
	}
	for i := range 2 {
		t.Bytes[i] /= batches
	}
	return publish{tally: t, readings: int(int64(rounds*n) / batches), real: true, viaGateway: true}, nil
}

// telemetryTally sums the telemetry publishes of d and their
// confirmations, and counts the batches (the broker's confirmations: on
// both brokers a durable publish is confirmed once, then copied for the
// transient subscribers unconfirmed).
func telemetryTally(d snapshot) (t tally, batches int64) {
	for src, v := range d.By {
		if !strings.HasPrefix(src, "telemetry") && !strings.HasPrefix(src, "AMQP ack") {
			continue
		}
		for i := range 2 {
			t.Bytes[i] += v.Bytes[i]
			t.Msgs[i] += v.Msgs[i]
		}
	}
	return t, confirmations(d)
}

// published counts the telemetry publishes of d, copies included.
func published(d snapshot) int64 {
	return d.By["telemetry"].Msgs[up] + d.By["telemetry (copy for transient subscribers)"].Msgs[up]
}

// waitConfirmed returns once the broker confirmed one more telemetry batch
// than before and the daemon copied every confirmed one for the transient
// subscribers (bus.PublishDurable), so that every byte of them is counted.
func waitConfirmed(ctx context.Context, m *meter, s0 snapshot) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	before := m.snapshot().since(s0)
	_, had := telemetryTally(before)
	for {
		d := m.snapshot().since(s0)
		_, batches := telemetryTally(d)
		if batches > had && published(d) >= 2*batches {
			return nil
		}
		select {
		case <-ctx.Done():
			var seen []string
			for src, v := range d.By {
				seen = append(seen, fmt.Sprintf("%s: %d up, %d down", src, v.Msgs[up], v.Msgs[down]))
			}
			return fmt.Errorf("the daemon did not publish the readings, or the broker did not confirm them (seen: %s): %w", strings.Join(seen, "; "), ctx.Err())
		case <-tick.C:
		}
	}
}

// confirmations counts the broker's answers to telemetry publishes.
func confirmations(d snapshot) int64 {
	return d.By["telemetry (answer)"].Msgs[down] + d.By["AMQP ack/confirm"].Msgs[down]
}
