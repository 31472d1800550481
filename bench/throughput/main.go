//go:build !windows

// Command throughput measures how fast a job's output gets from the
// device's terminal to its viewers (issue 6, "output throughput"): MB/s to
// one viewer and to ten, for output with newlines (`base64`, which the
// terminal's line discipline turns into \r\n) and without (`base64 -w0`),
// on embedded NATS and on RabbitMQ. Every viewer is a real viewer.Viewer
// on its own bus connection that must receive every byte in order (length
// and CRC checked). To say where the time goes, the same output is also
// measured stage by stage: a bare read loop on the terminal, the runner
// alone (terminal, frames, log file, ring, one cursor), and the daemon
// publishing to a bare bus subscription.
//
//	go run ./bench/throughput [-mb 200] [-viewers 1,10] [-broker nats,rabbitmq] [--json]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/runlet/runlet/bench/internal/benchkit"
)

// targetMBps is the target for output to one viewer.
const targetMBps = 100

// options are the command's flags.
type options struct {
	MB      int
	Viewers []int
	Brokers []string
	Stages  bool // measure the stages before the bus too
}

func main() {
	var o options
	flag.IntVar(&o.MB, "mb", 200, "MiB of random bytes each job prints as base64 (the output is 4/3 of it)")
	viewers := flag.String("viewers", "1,10", "comma-separated numbers of viewers following one job")
	brokers := flag.String("broker", "nats,rabbitmq", "comma-separated brokers: nats (embedded), rabbitmq; empty for the stages alone")
	flag.BoolVar(&o.Stages, "stages", true, "also measure the terminal alone, the runner alone and the bus without a viewer")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run (server, daemon and viewers are in this process) to this file")
	asJSON := benchkit.JSONFlag()
	flag.Parse()
	for _, v := range strings.Split(*viewers, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "throughput: -viewers: %q is not a number of viewers\n", v)
			os.Exit(2)
		}
		o.Viewers = append(o.Viewers, n)
	}
	for _, b := range strings.Split(*brokers, ",") {
		if b = strings.TrimSpace(b); b != "" {
			o.Brokers = append(o.Brokers, b)
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if len(o.Brokers) == 0 && !o.Stages {
		fmt.Fprintln(os.Stderr, "throughput: nothing to measure: give -broker or -stages")
		os.Exit(2)
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "throughput:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "throughput:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	rep, err := run(ctx, o, os.Stderr)
	if rep != nil {
		if perr := rep.Print(os.Stdout, *asJSON); perr != nil && err == nil {
			err = perr
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "throughput:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

// run measures everything o asks for; progress goes to log.
func run(ctx context.Context, o options, log *os.File) (*benchkit.Report, error) {
	rep := benchkit.NewReport("bench/throughput")
	dir, err := os.MkdirTemp("", "runlet-throughput-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	file, outs, err := payload(dir, o.MB)
	if err != nil {
		return nil, err
	}
	rep.Note("each job prints base64 of %d MiB of random bytes read from a file: %s", o.MB, describe(outs))
	progress := func(format string, args ...any) {
		if log != nil {
			fmt.Fprintf(log, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
		}
	}

	if o.Stages {
		for _, out := range outs {
			progress("terminal alone, %s", out.Name)
			cpu := cpuTime()
			took, per, err := ptyOnly(file, out)
			cpu = cpuTime() - cpu
			if err != nil {
				return rep, fmt.Errorf("terminal alone: %w", err)
			}
			rep.Add(rate("stage: terminal read loop", out, took, cpu, fmt.Sprintf("%.0f B/read", per)), nil)
		}
		for _, out := range outs {
			progress("runner alone, %s", out.Name)
			cpu := cpuTime()
			took, per, err := runnerOnly(dir, file, out)
			cpu = cpuTime() - cpu
			if err != nil {
				return rep, fmt.Errorf("runner alone: %w", err)
			}
			rep.Add(rate("stage: runner (frames, log, ring, cursor)", out, took, cpu, fmt.Sprintf("%.0f B/frame", per)), nil)
		}
	}
	for _, broker := range o.Brokers {
		if err := runBroker(ctx, o, broker, file, outs, rep, progress); err != nil {
			return rep, fmt.Errorf("%s: %w", broker, err)
		}
	}
	return rep, nil
}

func runBroker(ctx context.Context, o options, broker, file string, outs []Output, rep *benchkit.Report, progress func(string, ...any)) error {
	progress("starting a server on %s", broker)
	fb, err := startFleetBench(ctx, broker, file, outs, slices.Max(o.Viewers))
	if err != nil {
		return err
	}
	defer fb.Close()
	name := map[string]string{benchkit.NATS: "embedded NATS", benchkit.RabbitMQ: "RabbitMQ"}[broker]
	for _, out := range outs {
		if o.Stages {
			progress("%s, bare subscriber, %s", broker, out.Name)
			cpu := cpuTime()
			res, err := fb.run(ctx, out, 1, true)
			cpu = cpuTime() - cpu
			if err != nil {
				return fmt.Errorf("bare subscriber, %s: %w", out.Name, err)
			}
			r := rate("stage: daemon → bus → bare subscriber", out, res.took, cpu, fmt.Sprintf("%d frames", res.frames))
			r.Case = name + ", " + out.Name
			rep.Add(r, nil)
		}
		for _, n := range o.Viewers {
			progress("%s, %d viewers, %s", broker, n, out.Name)
			cpu := cpuTime()
			res, err := fb.run(ctx, out, n, false)
			cpu = cpuTime() - cpu
			if err != nil {
				return fmt.Errorf("%d viewers, %s: %w", n, out.Name, err)
			}
			r := rate("output to viewers", out, res.took, cpu, fmt.Sprintf("%d frames", res.frames))
			r.Case = fmt.Sprintf("%s, %d viewer%s, %s", name, n, map[bool]string{true: "s"}[n > 1], out.Name)
			var want func(float64) bool
			if n == 1 {
				r.Target = fmt.Sprintf("≥ %d MB/s", targetMBps)
				want = func(v float64) bool { return v >= targetMBps }
			}
			rep.Add(r, want)
		}
	}
	return nil
}

// rate is the result of out's bytes read in took, in MB/s (10⁶ bytes).
// cpu is the CPU time this process (server, broker, daemon, viewers: all
// but the job) used meanwhile; per MB it is steadier than MB/s on a busy
// machine.
func rate(bench string, out Output, took, cpu time.Duration, note string) benchkit.Result {
	mb := float64(out.Len) / 1e6
	return benchkit.Result{
		Bench: bench, Case: out.Name, Metric: "throughput",
		Value: mb / took.Seconds(), Unit: "MB/s",
		Note: fmt.Sprintf("%s; %.0f MB in %s; CPU %.1f ms/MB", note, mb, took.Round(time.Millisecond), float64(cpu.Microseconds())/1e3/mb),
	}
}

// cpuTime is the user and system CPU time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func describe(outs []Output) string {
	var parts []string
	for _, o := range outs {
		parts = append(parts, fmt.Sprintf("%s (`%s`, %.1f MB at the terminal)", o.Name, fmt.Sprintf(o.Script, "FILE"), float64(o.Len)/1e6))
	}
	return strings.Join(parts, ", ")
}
