//go:build !windows

// Command logs measures what encrypted run logs (issue 15) cost and how
// fast they read back, and prints a results table:
//
//   - output throughput of a job through the runner with its plain frame
//     log alone (runner.FileLogs) and with the encrypted log written beside
//     it frame by frame (castlog.Writer, as the daemon's log store does),
//     target: encryption costs ≤ 5 % of the runner's throughput; and the
//     same frames written to the two writers with no terminal in front, to
//     show the writers' own cost;
//   - the ciphertext's overhead: bytes of the encrypted log beyond the
//     job's output, and beyond the asciicast text it encrypts, per MiB;
//   - time to the first screen of a 100 MB log: through a real server's
//     download path with Range requests (the last 16 bytes, the index, the
//     first segment: what the browser and a reader without a local copy
//     do), after a whole download as the CLI's first read makes, and from
//     a local copy; target ≤ 1 s.
//
// Usage:
//
//	go run ./bench/logs [-mb 200] [-log-mb 100] [-runs 3] [--json]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"

	"github.com/runlet/runlet/bench/internal/benchkit"
)

// config is the command's flags.
type config struct {
	MB    int    // MiB of random bytes the throughput job prints as base64
	LogMB int    // MiB of output in the log of the first-screen measure
	Runs  int    // runs of each throughput case (the median is reported)
	Dir   string // where the logs are written ("": the system's temporary directory)
}

func main() {
	var c config
	flag.IntVar(&c.MB, "mb", 200, "MiB the throughput job prints (random bytes as base64, without newlines)")
	flag.IntVar(&c.LogMB, "log-mb", 100, "MiB of output in the log read back for the first screen")
	flag.IntVar(&c.Runs, "runs", 3, "runs of each throughput case, alternating plain and encrypted; the median is reported")
	flag.StringVar(&c.Dir, "dir", "", "write the logs under this directory (default: the system's temporary directory; /dev/shm takes the disk out)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	asJSON := benchkit.JSONFlag()
	flag.Parse()
	if c.MB < 1 || c.LogMB < 1 || c.Runs < 1 {
		fmt.Fprintln(os.Stderr, "logs: -mb, -log-mb and -runs must be at least 1")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "logs:", err)
			os.Exit(1)
		}
	}
	rep, err := run(ctx, c)
	pprof.StopCPUProfile()
	if err != nil {
		fmt.Fprintln(os.Stderr, "logs:", err)
		os.Exit(1)
	}
	if err := rep.Print(os.Stdout, *asJSON); err != nil {
		fmt.Fprintln(os.Stderr, "logs:", err)
		os.Exit(1)
	}
}

// run measures everything and returns the report.
func run(ctx context.Context, c config) (*benchkit.Report, error) {
	rep := benchkit.NewReport("bench/logs")
	if c.Dir != "" {
		rep.Note("logs written under %s", c.Dir)
	}
	dir, err := os.MkdirTemp(c.Dir, "runlet-bench-logs-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	if err := throughput(ctx, rep, dir, key, c); err != nil {
		return nil, fmt.Errorf("throughput: %w", err)
	}
	if err := firstScreen(ctx, rep, dir, key, c); err != nil {
		return nil, fmt.Errorf("first screen: %w", err)
	}
	return rep, nil
}
