package ingest_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/store"
	"github.com/runlet/runlet/telemetry/batch"
	"github.com/runlet/runlet/telemetry/ingest"
)

// benchSensors is how many sensors the benchmark's readings come from,
// one reading of each per batch.
const benchSensors = 1000

// timedStore measures the time spent in AddReadings, to tell the
// pipeline's cost from the store's.
type timedStore struct {
	store.Store
	d atomic.Int64 // nanoseconds
}

func (t *timedStore) AddReadings(ctx context.Context, ws string, rs []runlet.RawReading) (int, error) {
	start := time.Now()
	defer func() { t.d.Add(int64(time.Since(start))) }()
	return t.Store.AddReadings(ctx, ws, rs)
}

// BenchmarkIngest measures readings per second through the whole
// pipeline (consume, decode, authenticate with a warm cache, store in
// one transaction per several batches, publish, ack), on each stack:
// b.N batches of 1,000 readings over 1,000 sensors wait in the queue,
// then the consumer starts and the clock runs until all are acked.
// %in-store is the share of that time spent in store.AddReadings.
//
//	go test -run '^$' -bench Ingest -benchtime 200x ./telemetry/ingest
func BenchmarkIngest(b *testing.B) {
	for _, st := range stacks {
		b.Run(st.name, func(b *testing.B) {
			tm := &timedStore{}
			e := newEnv(b, st.open, func(e *env, cfg *ingest.Config) { tm.Store = e.db; cfg.Store = tm })
			for id := int64(1); id <= benchSensors; id++ {
				e.sensor(b, e.ws, id, secret(id), runlet.SensorActive)
			}
			var seq uint64 = 1
			// queue publishes n batches and returns how many readings
			// will then have been accepted.
			queue := func(b *testing.B, n int) (want int64, size int) {
				for range n {
					rs := make([]runlet.RawReading, benchSensors)
					for s := range rs {
						rs[s] = readings(int64(s+1), seq, int(seq), 1)[0]
						seq++
					}
					body, err := batch.Encode(batchOf(rs))
					if err != nil {
						b.Fatal(err)
					}
					e.sendRaw(b, bus.TelemetryKey("pi"), body)
					size = len(body)
				}
				return e.svc.Stats(e.ws).Accepted + int64(n*benchSensors), size
			}
			// consume runs the pipeline until want readings are accepted.
			consume := func(b *testing.B, want int64) {
				sub, err := e.svc.Consumer(e.ctx, e.ws)
				if err != nil {
					b.Fatal(err)
				}
				defer sub.Close()
				testenv.EventuallyEvery(b, "every reading stored", 10*patience, time.Millisecond, func() bool {
					return e.svc.Stats(e.ws).Accepted >= want
				})
			}
			// One batch first, for the authentication cache: a sensor's
			// secret is checked once a CacheTTL, not per batch.
			want, _ := queue(b, 1)
			consume(b, want)
			b.Run("batch=1000", func(b *testing.B) {
				want, size := queue(b, b.N)
				b.SetBytes(int64(size))
				tm.d.Store(0)
				b.ResetTimer()
				consume(b, want)
				b.StopTimer()
				if s := e.svc.Stats(e.ws); s.Refused() != 0 || s.Duplicate != 0 {
					b.Fatalf("counts %+v: want nothing refused or duplicate", s)
				}
				b.ReportMetric(float64(b.N*benchSensors)/b.Elapsed().Seconds(), "readings/s")
				b.ReportMetric(100*float64(tm.d.Load())/float64(b.Elapsed()), "%in-store")
			})
		})
	}
}
