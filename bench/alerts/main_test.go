package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/runlet/runlet/bench/internal/benchkit"
	"github.com/runlet/runlet/internal/testenv"
)

// TestSmoke runs both phases with tiny counts on embedded NATS and SQLite:
// it checks the program works (every crossing and every silence told by
// webhook), not how fast.
func TestSmoke(t *testing.T) {
	defer testenv.HermeticHome()()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	o := options{Stack: natsSQLite, Gateways: 2, BatchTime: 50 * time.Millisecond, Warm: 3 * time.Second,
		Sensors: 20, Rate: 100, Duration: 3 * time.Second, Crossings: 4,
		Quiet: 10, Silence: 2 * time.Second, Interval: 500 * time.Millisecond, Stagger: time.Second}
	rep := benchkit.NewReport("bench/alerts")
	if err := run(ctx, o, rep, t.Logf); err != nil {
		t.Fatal(err)
	}
	var table bytes.Buffer
	if err := rep.Print(&table, false); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", table.String())
	counts := 0
	for _, r := range rep.Results {
		if r.Metric == "count" {
			counts++
			if r.Met == nil || !*r.Met {
				t.Errorf("%s: %v alerts told, some missing: %s", r.Bench, r.Value, r.Note)
			}
		}
	}
	if counts != 2 {
		t.Errorf("%d phases reported, want 2:\n%s", counts, table.String())
	}
}
