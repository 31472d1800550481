package amqp_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/bus/bustest"
	"github.com/runlet/runlet/internal/testenv"
)

// Benchmarks mirror the NATS adapter's through bustest's helpers. Run:
//
//	go test -run '^$' -bench . -benchtime 1000x ./bus/amqp/

// benchHarness connects as guest to one vhost for the whole benchmark:
// permissions do not change the figures, and creating users would dominate.
func benchHarness(b *testing.B) bustest.Harness {
	url := testenv.RabbitMQ(b)
	return bustest.Harness{
		Open:      func(tb testing.TB, _ ...string) bus.Bus { return open(tb, url, bus.Options{}) },
		Workspace: func(testing.TB) string { return testenv.RandomName("ws-") },
	}
}

func BenchmarkFanOut(b *testing.B) {
	h := benchHarness(b)
	for _, n := range []int{1, 50} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) { bustest.BenchFanOut(b, h, n) })
	}
}

func BenchmarkDurablePublish(b *testing.B) {
	bustest.BenchDurablePublish(b, benchHarness(b))
}

// BenchmarkDurablePublishParallel: PublishDurable from 16 goroutines of one
// bus, whose confirms are pipelined on one channel (msgs/s).
func BenchmarkDurablePublishParallel(b *testing.B) {
	h := benchHarness(b)
	ws := h.Workspace(b)
	pub := h.Open(b, ws)
	ctx := testCtx(b)
	q := bus.Queue{Name: "work", Pattern: bus.AllStatus}
	must(b, "declare", pub.DeclareQueue(ctx, ws, q))
	body := make([]byte, 256)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range 16 {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				if err := pub.PublishDurable(ctx, ws, bus.Message{Key: bus.StatusKey("e", "d"), Body: body}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	b.ReportMetric(0, "ns/op")
	b.StopTimer()
	_ = pub.DeleteQueue(ctx, ws, q.Name)
}

// BenchmarkWorkQueue drains a queue with 1 and 3 consumers at several
// prefetch values; DefaultPrefetch was chosen from it.
func BenchmarkWorkQueue(b *testing.B) {
	h := benchHarness(b)
	for _, consumers := range []int{1, 3} {
		for _, prefetch := range []int{1, 16, 64, 256} {
			b.Run(fmt.Sprintf("consumers=%d/prefetch=%d", consumers, prefetch), func(b *testing.B) {
				bustest.BenchWorkQueue(b, h, consumers, prefetch)
			})
		}
	}
}
