package benchkit

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet/daemon"
	"github.com/runlet/runlet/internal/testenv"
)

func TestQuantile(t *testing.T) {
	var s Sample
	for i := 1; i <= 100; i++ {
		s = append(s, time.Duration(i)*time.Millisecond)
	}
	for q, want := range map[float64]time.Duration{0.5: 50 * time.Millisecond, 0.99: 99 * time.Millisecond, 0.999: 100 * time.Millisecond, 0: time.Millisecond} {
		if got := s.Quantile(q); got != want {
			t.Errorf("Quantile(%v) = %v, want %v", q, got, want)
		}
	}
	if got := (Sample{}).Quantile(0.5); got != 0 {
		t.Errorf("empty sample: %v", got)
	}
}

func TestReportTableAndJSON(t *testing.T) {
	r := NewReport("bench/x")
	r.AddLatency("echo", "nats", Sample{time.Millisecond, 2 * time.Millisecond}, map[string]time.Duration{"p50": time.Millisecond, "p99": time.Millisecond})
	var table, js bytes.Buffer
	if err := r.Print(&table, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "≤ 1 ms") || !strings.Contains(table.String(), "yes") {
		t.Errorf("table lacks the target or its verdict:\n%s", table.String())
	}
	if err := r.Print(&js, true); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Results) != 3 || back.Results[1].Met == nil || !*back.Results[0].Met || *back.Results[1].Met || back.Results[2].Met != nil {
		t.Errorf("JSON does not round-trip (%v): %s", err, js.String())
	}
}

func TestFleetDaemonComesOnline(t *testing.T) {
	defer testenv.HermeticHome()()
	for _, broker := range []string{NATS, RabbitMQ} {
		t.Run(broker, func(t *testing.T) {
			if broker == RabbitMQ {
				testenv.RabbitMQ(t) // skips (or fails) without RabbitMQ, and holds its lock
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			f, err := StartFleet(ctx, broker)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			d, err := f.StartDaemon(ctx, "sim-1", daemon.Config{HeartbeatInterval: 100 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			if err := d.Stop(); err != nil {
				t.Errorf("stop the daemon: %v", err)
			}
		})
	}
}
