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

// The benchmarks of docs/benchmarks.md, named as the NATS adapter's:
//
//	go test -run '^$' -bench . -benchtime 2000x ./bus/amqp/
//
// The work queue runs at several prefetch values: DefaultPrefetch was
// chosen from them.
func BenchmarkRabbitMQ(b *testing.B) {
	h := benchHarness(b)
	b.Run("FanOut/subscribers=1", func(b *testing.B) { bustest.BenchFanOut(b, h, 1) })
	b.Run("FanOut/subscribers=50", func(b *testing.B) { bustest.BenchFanOut(b, h, 50) })
	b.Run("DurablePublish", func(b *testing.B) { bustest.BenchDurablePublish(b, h) })
	b.Run("DurablePublish/parallel=16", func(b *testing.B) { benchDurableParallel(b, h, 16) })
	for _, consumers := range []int{1, 3} {
		for _, prefetch := range []int{1, 16, 64, 128, 256} {
			b.Run(fmt.Sprintf("WorkQueue/consumers=%d/prefetch=%d", consumers, prefetch), func(b *testing.B) {
				bustest.BenchWorkQueue(b, h, consumers, prefetch)
			})
		}
	}
}

// benchHarness connects as guest to one vhost for the whole benchmark:
// permissions do not change the figures, and creating users would dominate.
func benchHarness(b *testing.B) bustest.Harness {
	url := testenv.RabbitMQ(b)
	return bustest.Harness{
		Open:      func(tb testing.TB, _ ...string) bus.Bus { return open(tb, url, bus.Options{}) },
		Workspace: func(testing.TB) string { return testenv.RandomName("ws-") },
	}
}

// benchDurableParallel: PublishDurable from several goroutines of one bus,
// whose confirms are pipelined on one channel (msgs/s).
func benchDurableParallel(b *testing.B, h bustest.Harness, publishers int) {
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
	for range publishers {
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
