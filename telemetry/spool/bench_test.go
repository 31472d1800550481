package spool

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Appends of one 50-byte record each, from 1, 8 and 64 goroutines: the
// records/s and the fsyncs/s that group commit makes of them.
func BenchmarkAppend(b *testing.B) {
	for _, appenders := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("appenders=%d", appenders), func(b *testing.B) {
			s, _ := open(b, b.TempDir(), Options{})
			data := make([]byte, 50)
			var left atomic.Int64
			left.Store(int64(b.N))
			syncs := s.syncs.Load()
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for range appenders {
				wg.Go(func() {
					for left.Add(-1) >= 0 {
						if _, err := s.Append(context.Background(), data); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start).Seconds()
			b.ReportMetric(float64(b.N)/elapsed, "records/s")
			b.ReportMetric(float64(s.syncs.Load()-syncs)/elapsed, "fsyncs/s")
		})
	}
}

// Draining a spool of 1 million 50-byte records: Read 1,000 at a time
// from the files, and Ack after every read (as the gateway does after
// each batch the broker confirmed) or after every 100 reads, which shows
// what the reads alone cost. Run with -benchtime=1x: each iteration
// fills anew.
func BenchmarkDrain(b *testing.B) {
	for _, ackEvery := range []int{1, 100} {
		b.Run(fmt.Sprintf("ack-every=%d-reads", ackEvery), func(b *testing.B) { drainBench(b, ackEvery) })
	}
}

func drainBench(b *testing.B, ackEvery int) {
	const n, batch = 1_000_000, 1000
	for range b.N {
		b.StopTimer()
		s, _ := open(b, b.TempDir(), Options{})
		fill(b, s, n, 50)
		// Start cold on the files: the tail in memory is dropped.
		s.mu.Lock()
		s.tail = tail{}
		s.mu.Unlock()
		b.StartTimer()
		start := time.Now()
		var after uint64
		read, reads := 0, 0
		for {
			recs, err := s.Read(after, batch, 0)
			if err != nil {
				b.Fatal(err)
			}
			if len(recs) == 0 {
				break
			}
			after = recs[len(recs)-1].Seq
			if reads++; reads%ackEvery == 0 {
				if err := s.Ack(after); err != nil {
					b.Fatal(err)
				}
			}
			read += len(recs)
		}
		elapsed := time.Since(start).Seconds()
		if read != n {
			b.Fatalf("drained %d of %d", read, n)
		}
		b.ReportMetric(float64(n)/elapsed, "records/s")
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
}

// fill appends n records of size bytes, 1,000 per Append.
func fill(tb testing.TB, s *Spool, n, size int) {
	tb.Helper()
	data := make([]byte, size)
	recs := make([][]byte, 1000)
	for i := range recs {
		recs[i] = data
	}
	for i := 0; i < n; i += len(recs) {
		if _, err := s.Append(context.Background(), recs[:min(len(recs), n-i)]...); err != nil {
			tb.Fatal(err)
		}
	}
}
