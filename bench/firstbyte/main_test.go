package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet/bench/internal/benchkit"
	"github.com/runlet/runlet/bench/internal/sshd"
	"github.com/runlet/runlet/internal/testenv"
)

// TestSmoke runs every case a few times: it checks the program works, not
// how fast.
func TestSmoke(t *testing.T) {
	defer testenv.HermeticHome()()
	testenv.RabbitMQ(t) // skips (or fails) without RabbitMQ, and holds its lock
	if err := sshd.Available(); err != nil {
		testenv.Unavailable(t, "OpenSSH", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rep, err := run(ctx, config{runs: 3, brokers: []string{benchkit.NATS, benchkit.RabbitMQ}, ssh: true})
	if err != nil {
		t.Fatal(err)
	}
	var table bytes.Buffer
	if err := rep.Print(&table, false); err != nil {
		t.Fatal(err)
	}
	for _, n := range rep.Notes {
		if strings.Contains(n, "not measured") {
			t.Errorf("note: %s", n)
		}
	}
	for _, c := range []string{"fresh connection", "multiplexed", "CLI process), embedded NATS", "CLI process), RabbitMQ", "in process", "runlet --help"} {
		if !strings.Contains(table.String(), c) {
			t.Errorf("no case %q in the table:\n%s", c, table.String())
		}
	}
}
