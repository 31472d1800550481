//go:build !windows

package main

import (
	"context"
	"testing"
	"time"

	"github.com/runlet/runlet/bench/internal/benchkit"
	"github.com/runlet/runlet/internal/testenv"
)

// TestThroughputSmoke runs every stage and both brokers with a tiny output
// and two viewers: the program works and every reader gets every byte
// (run fails otherwise). It says nothing about speed.
func TestThroughputSmoke(t *testing.T) {
	defer testenv.HermeticHome()()
	for _, broker := range []string{benchkit.NATS, benchkit.RabbitMQ} {
		t.Run(broker, func(t *testing.T) {
			if broker == benchkit.RabbitMQ {
				testenv.RabbitMQ(t) // skips (or fails) without RabbitMQ
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			rep, err := run(ctx, options{MB: 1, Viewers: []int{1, 2}, Brokers: []string{broker}, Stages: true}, nil)
			if err != nil {
				t.Fatal(err)
			}
			// 2 outputs × (terminal, runner, bare subscriber, 1 and 2 viewers)
			if got := len(rep.Results); got != 10 {
				t.Fatalf("%d results, want 10: %+v", got, rep.Results)
			}
			for _, r := range rep.Results {
				if r.Value <= 0 || r.Unit != "MB/s" {
					t.Errorf("%s, %s: %v %s", r.Bench, r.Case, r.Value, r.Unit)
				}
				if (r.Target != "") != (r.Met != nil) {
					t.Errorf("%s, %s: target %q without a verdict", r.Bench, r.Case, r.Target)
				}
			}
		})
	}
}

func TestExpectedOutput(t *testing.T) {
	dir := t.TempDir()
	_, outs, err := payload(dir, 1)
	if err != nil {
		t.Fatal(err)
	}
	// 1 MiB → 1,398,104 base64 characters; 18,397 lines of 76 (the last
	// shorter), each ending in \r\n at the terminal.
	const chars = 4 * ((1<<20 + 2) / 3)
	lines := (chars + 75) / 76
	if outs[0].Len != chars+2*int64(lines) || outs[1].Len != chars {
		t.Errorf("lengths %d and %d, want %d and %d", outs[0].Len, outs[1].Len, chars+2*lines, chars)
	}
}
