//go:build !windows

package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet/internal/testenv"
)

// TestSmoke reads a small log in the browser: it checks the program
// works, not how fast.
func TestSmoke(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		if testenv.Required() {
			t.Fatalf("RUNLET_REQUIRE_SERVICES=1 and there is no Chromium at %s: %v", chromium, err)
		}
		t.Skipf("needs Chromium at %s: %v", chromium, err)
	}
	defer testenv.HermeticHome()()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rep, err := run(ctx, config{MB: 2, Runs: 1})
	if err != nil {
		t.Fatal(err)
	}
	var table bytes.Buffer
	if err := rep.Print(&table, false); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"browser: time to first screen", "browser: unlock", "browser: whole log in the panel", "ChaCha20-Poly1305", "readSegment"} {
		if !strings.Contains(table.String(), c) {
			t.Errorf("no %q in the table:\n%s", c, table.String())
		}
	}
}
