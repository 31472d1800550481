package bustest

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runlet/runlet/bus"
)

// BenchFanOut measures transient fan-out latency from one publisher to
// subscribers, each on its own connection: one message at a time, each
// awaited by every subscriber. It reports p50-µs and p99-µs over all
// (message, subscriber) pairs.
func BenchFanOut(b *testing.B, h Harness, subscribers int) {
	ws := h.Workspace(b)
	pub := h.Open(b, ws)
	got := make(chan time.Duration, subscribers)
	for range subscribers {
		_, err := h.Open(b, ws).Subscribe(benchCtx(b), ws, "job.*.*.io.output.v1", func(m bus.Message) {
			sent, _ := strconv.ParseInt(m.Header["sent"], 10, 64)
			got <- time.Since(time.Unix(0, sent))
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	body := make([]byte, 256)
	lat := make([]time.Duration, 0, b.N*subscribers)
	c := benchCtx(b)
	b.ResetTimer()
	for i := range b.N {
		m := bus.Message{ID: strconv.Itoa(i), Key: bus.OutputKey("e", "d"), Body: body,
			Header: map[string]string{"sent": strconv.FormatInt(time.Now().UnixNano(), 10)}}
		if err := pub.Publish(c, ws, m); err != nil {
			b.Fatal(err)
		}
		for range subscribers {
			select {
			case d := <-got:
				lat = append(lat, d)
			case <-time.After(Wait):
				b.Fatalf("message %d did not reach every subscriber within %v", i, Wait)
			}
		}
	}
	b.StopTimer()
	reportLatency(b, lat)
}

// BenchDurablePublish measures PublishDurable one message at a time, each
// waiting for the broker's confirm: throughput (msgs/s) and latency.
func BenchDurablePublish(b *testing.B, h Harness) {
	ws := h.Workspace(b)
	pub := h.Open(b, ws)
	q := bus.Queue{Name: QueueNames[0], Pattern: bus.AllStatus}
	declare(b, pub, ws, q)
	body := make([]byte, 256)
	lat := make([]time.Duration, 0, b.N)
	c := benchCtx(b)
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		t0 := time.Now()
		if err := pub.PublishDurable(c, ws, bus.Message{Key: bus.StatusKey("e", "d"), Body: body}); err != nil {
			b.Fatalf("publish durable %d: %v", i, err)
		}
		lat = append(lat, time.Since(t0))
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	reportLatency(b, lat)
	_ = pub.DeleteQueue(ctx(b), ws, q.Name)
}

// BenchWorkQueue measures how fast consumers, each on its own connection,
// drain a work queue of b.N waiting messages, acking each one (msgs/s).
// Filling the queue is not timed.
func BenchWorkQueue(b *testing.B, h Harness, consumers, prefetch int) {
	ws := h.Workspace(b)
	pub := h.Open(b, ws)
	q := bus.Queue{Name: QueueNames[0], Pattern: bus.AllTelemetry, Prefetch: prefetch}
	declare(b, pub, ws, q)
	fill(b, pub, ws, b.N)
	var done atomic.Int64
	all := make(chan struct{})
	b.ResetTimer()
	start := time.Now()
	for range consumers {
		_, err := h.Open(b, ws).Consume(benchCtx(b), ws, q, func(d bus.Delivery) {
			if err := d.Ack(); err != nil {
				b.Errorf("ack: %v", err)
			}
			if done.Add(1) == int64(b.N) {
				close(all)
			}
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-all:
	case <-time.After(Wait + time.Duration(b.N)*time.Millisecond):
		b.Fatalf("consumed %d of %d", done.Load(), b.N)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	_ = pub.DeleteQueue(ctx(b), ws, q.Name)
}

// fill publishes n durable telemetry messages from 8 goroutines.
func fill(b *testing.B, pub bus.Bus, ws string, n int) {
	var wg sync.WaitGroup
	var next atomic.Int64
	body := make([]byte, 256)
	c := benchCtx(b)
	for range 8 {
		wg.Go(func() {
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				m := bus.Message{ID: fmt.Sprint("w", i), Key: bus.TelemetryKey("d"), Body: body}
				if err := pub.PublishDurable(c, ws, m); err != nil {
					b.Errorf("fill: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
}

func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	q := func(p float64) float64 {
		return float64(lat[int(p*float64(len(lat)-1))].Nanoseconds()) / 1e3
	}
	b.ReportMetric(q(0.50), "p50-µs")
	b.ReportMetric(q(0.99), "p99-µs")
	b.ReportMetric(0, "ns/op") // latency, not ns/op, is the figure here
}

// benchCtx lasts as long as the benchmark, however long b.N makes it.
func benchCtx(b *testing.B) context.Context {
	c, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	return c
}
