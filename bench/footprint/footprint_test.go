package main

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet/internal/testenv"
)

// TestFootprintSmoke measures both daemons for a second and builds the
// binary for this platform: the program works end to end. It says nothing
// about size or speed.
func TestFootprintSmoke(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("footprint reads /proc")
	}
	defer testenv.HermeticHome()()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	o := options{Idle: time.Second, Jobs: 2, Reference: true, Sizes: true, Targets: []string{runtime.GOOS + "/" + runtime.GOARCH}}
	rep, err := run(ctx, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	var daemons, sizes int
	for _, r := range rep.Results {
		if r.Value < 0 || (r.Value == 0 && r.Metric != "CPU") {
			t.Errorf("%s, %s, %s: %v", r.Bench, r.Case, r.Metric, r.Value)
		}
		switch {
		case r.Bench == "binary size":
			sizes++
		case strings.HasPrefix(r.Case, "runlet daemon") && r.Target != "":
			daemons++
		}
	}
	if daemons != 2 || sizes != 1 {
		t.Errorf("%d results with a daemon target (want 2: RSS, CPU), %d sizes (want 1): %+v", daemons, sizes, rep.Results)
	}
}
