package nats_test

import (
	"fmt"
	"testing"

	"github.com/runlet/runlet/bus/bustest"
)

// The benchmarks of docs/benchmarks.md, on each NATS the tests know:
//
//	go test -run '^$' -bench . -benchtime 2000x ./bus/nats/
func BenchmarkEmbedded(b *testing.B) { bench(b, embeddedHarness(startEmbedded(b))) }

func BenchmarkMachineNATS(b *testing.B) { bench(b, machineHarness(b)) }

func bench(b *testing.B, h bustest.Harness) {
	b.Run("FanOut/subscribers=1", func(b *testing.B) { bustest.BenchFanOut(b, h, 1) })
	b.Run("FanOut/subscribers=50", func(b *testing.B) { bustest.BenchFanOut(b, h, 50) })
	b.Run("DurablePublish", func(b *testing.B) { bustest.BenchDurablePublish(b, h) })
	for _, consumers := range []int{1, 3} {
		for _, prefetch := range []int{1, 16, 64, 256} {
			b.Run(fmt.Sprintf("WorkQueue/consumers=%d/prefetch=%d", consumers, prefetch), func(b *testing.B) {
				bustest.BenchWorkQueue(b, h, consumers, prefetch)
			})
		}
	}
}
