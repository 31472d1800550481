// Command footprint measures what the daemon costs a device (issue 6,
// "footprint"): the size of the runlet binary for every platform CI builds,
// and the real daemon (`runlet daemon`, a separate process signed in to a
// server on embedded NATS) idle — its resident memory and the share of one
// core it uses over a minute — and its memory while it runs ten jobs at
// once.
//
//	go run ./bench/footprint [-idle 60s] [-sizes=false] [--json]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/runlet/runlet/bench/internal/benchkit"
)

// The targets for an idle daemon.
const (
	targetIdleRSSMB = 15
	targetIdleCPU   = 0.5 // % of one core
)

// targets are the platforms .ci/run cross-compiles (GOOS/GOARCH[/GOARM]).
var targets = []string{"linux/amd64", "linux/arm/6", "linux/arm/7", "linux/arm64", "darwin/amd64", "darwin/arm64", "windows/amd64"}

type options struct {
	Idle      time.Duration
	Settle    time.Duration
	Jobs      int
	Sizes     bool
	Bin       string
	Reference bool     // also measure bench/footprint/daemononly
	Env       []string // added to the daemon's environment
	Targets   []string
}

func main() {
	var o options
	flag.DurationVar(&o.Idle, "idle", 60*time.Second, "how long the idle daemon is watched")
	flag.DurationVar(&o.Settle, "settle", 5*time.Second, "how long after the daemon is online before the idle measure starts")
	flag.IntVar(&o.Jobs, "jobs", 10, "jobs the daemon runs at once for the busy measure")
	flag.BoolVar(&o.Sizes, "sizes", true, "cross-compile every target and report its size (slow on a busy machine)")
	flag.BoolVar(&o.Reference, "reference", true, "also measure the daemon package alone (bench/footprint/daemononly): what the daemon costs without the rest of the binary")
	flag.StringVar(&o.Bin, "bin", "", "measure this runlet binary as the daemon instead of building one")
	env := flag.String("env", "", "comma-separated VAR=value added to the daemon's environment (GOMEMLIMIT=8MiB, GODEBUG=…)")
	tl := flag.String("targets", strings.Join(targets, ","), "comma-separated GOOS/GOARCH[/GOARM] for -sizes")
	asJSON := benchkit.JSONFlag()
	flag.Parse()
	o.Targets = strings.Split(*tl, ",")
	if *env != "" {
		o.Env = strings.Split(*env, ",")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := run(ctx, o, os.Stderr)
	if rep != nil {
		if perr := rep.Print(os.Stdout, *asJSON); perr != nil && err == nil {
			err = perr
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "footprint:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options, log *os.File) (*benchkit.Report, error) {
	rep := benchkit.NewReport("bench/footprint")
	progress := func(format string, args ...any) {
		if log != nil {
			fmt.Fprintf(log, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
		}
	}
	if err := daemonFootprint(ctx, o, rep, progress); err != nil {
		return rep, err
	}
	if o.Sizes {
		if err := binarySizes(ctx, o.Targets, rep, progress); err != nil {
			return rep, err
		}
	}
	return rep, nil
}
