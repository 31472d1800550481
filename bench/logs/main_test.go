//go:build !windows

package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet/internal/testenv"
)

// TestSmoke runs every measure on small sizes: it checks the program
// works, not how fast.
func TestSmoke(t *testing.T) {
	defer testenv.HermeticHome()()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rep, err := run(ctx, config{MB: 2, LogMB: 3, Runs: 1})
	if err != nil {
		t.Fatal(err)
	}
	var table bytes.Buffer
	if err := rep.Print(&table, false); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"output throughput", "encryption's cost", "log writers alone", "ciphertext overhead", "time to first screen", "Range requests", "whole download", "local copy", "`runlet logs` (the binary)"} {
		if !strings.Contains(table.String(), c) {
			t.Errorf("no %q in the table:\n%s", c, table.String())
		}
	}
}
