//go:build !windows

package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet/bench/internal/benchkit"
	"github.com/runlet/runlet/internal/testenv"
)

// TestFanOutSmoke runs the benchmark on five simulated devices and checks
// that every measure comes out; it asserts nothing about the times.
func TestFanOutSmoke(t *testing.T) {
	defer testenv.HermeticHome()()
	for _, broker := range []string{benchkit.NATS, benchkit.RabbitMQ} {
		t.Run(broker, func(t *testing.T) {
			if broker == benchkit.RabbitMQ {
				testenv.RabbitMQ(t) // skips (or fails) without RabbitMQ, and holds its lock
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			r := benchkit.NewReport("bench/fanout")
			var progress bytes.Buffer
			if failed := run(ctx, options{Sizes: []int{5}, Brokers: []string{broker}, Parallel: 4}, r, &progress); failed > 0 {
				t.Fatalf("%d case failed: %v\n%s", failed, r.Notes, progress.String())
			}
			for _, metric := range []string{"run request answered", "all Running, on the bus", "all Running, in the store",
				"viewer has all output", "all Finished, in the store", "RSS per device, idle"} {
				found := false
				for _, res := range r.Results {
					if res.Metric == metric && strings.HasSuffix(res.Case, "N=5") && res.Value > 0 {
						found = true
					}
				}
				if !found {
					t.Errorf("no positive %q in the report", metric)
				}
			}
			if err := r.Print(io.Discard, true); err != nil {
				t.Error(err)
			}
		})
	}
}
