package batch_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/runlet/runlet/telemetry/batch"
)

// The seed's load (15 sensors every 15 minutes) and a heavy one (1,000
// sensors every second), in batches of 1 to 1,000 readings.
var workloads = []struct {
	name     string
	sensors  int
	interval time.Duration
}{
	{"15sensors-15min", 15, 15 * time.Minute},
	{"1000sensors-1s", 1000, time.Second},
}

var sizes = []int{1, 15, 100, 1000}

// BenchmarkEncode reports bytes on the wire per reading (B/reading) and
// readings encoded per second.
func BenchmarkEncode(b *testing.B) {
	for _, w := range workloads {
		for _, n := range sizes {
			bt := realistic(rand.New(rand.NewPCG(13, 7)), w.sensors, w.interval, n)
			b.Run(fmt.Sprintf("%s/%d", w.name, n), func(b *testing.B) {
				b.ReportAllocs()
				var size int
				for b.Loop() {
					p, err := batch.Encode(bt)
					if err != nil {
						b.Fatal(err)
					}
					size = len(p)
				}
				b.ReportMetric(float64(size)/float64(n), "B/reading")
				b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "readings/s")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
	// The server's Readings batches carry no secrets: what the readings
	// alone cost.
	bt := realistic(rand.New(rand.NewPCG(13, 7)), 1000, time.Second, 1000)
	bt.Secrets = nil
	p, err := batch.Encode(bt)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("1000sensors-1s/1000/no-secrets", func(b *testing.B) {
		for b.Loop() {
			if _, err := batch.Encode(bt); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(p))/1000, "B/reading")
	})
}

// BenchmarkDecode reports readings decoded per second.
func BenchmarkDecode(b *testing.B) {
	for _, w := range workloads {
		for _, n := range sizes {
			p, err := batch.Encode(realistic(rand.New(rand.NewPCG(13, 7)), w.sensors, w.interval, n))
			if err != nil {
				b.Fatal(err)
			}
			b.Run(fmt.Sprintf("%s/%d", w.name, n), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := batch.Decode(p); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "readings/s")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}
