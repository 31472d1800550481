//go:build !windows

// Command fanout measures one job run on N devices at once (issue 6, bench
// 3): a real server in this process, on its embedded NATS or the machine's
// RabbitMQ, and N simulated devices (bench/internal/devicesim), each with
// its own broker connection, that speak the daemon's protocol. It times the
// run request until every device has reported Running (seen on the bus, and
// committed to the server's store), until one viewer has every device's
// output, and until every device is Finished in the store; and it reads the
// memory of the process (server, embedded broker and the simulated devices)
// and of the RabbitMQ broker.
//
//	go run ./bench/fanout [-n 100,1000,5000] [-broker nats,rabbitmq] [--json]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"

	"github.com/runlet/runlet/bench/internal/benchkit"
)

func main() {
	var o options
	ns := flag.String("n", "100,1000,5000", "numbers of devices, comma-separated")
	brokers := flag.String("broker", "nats,rabbitmq", "brokers, comma-separated: nats (embedded), rabbitmq (127.0.0.1:5672)")
	flag.IntVar(&o.Parallel, "parallel", 16, "enrollments and device connections made at a time")
	flag.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of each run (from the run request until every output is in) to FILE-BROKER-N.pprof")
	flag.StringVar(&o.MemProfile, "memprofile", "", "write a heap profile of each case with its devices online and idle to FILE-BROKER-N.heap.pprof")
	asJSON := benchkit.JSONFlag()
	flag.Parse()
	var err error
	if o.Sizes, err = parseSizes(*ns); err != nil {
		fmt.Fprintln(os.Stderr, "fanout:", err)
		os.Exit(2)
	}
	o.Brokers = strings.Split(*brokers, ",")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	r := benchkit.NewReport("bench/fanout")
	run(ctx, o, r, os.Stderr)
	if err := r.Print(os.Stdout, *asJSON); err != nil {
		fmt.Fprintln(os.Stderr, "fanout:", err)
		os.Exit(1)
	}
}

// options are the flags.
type options struct {
	Sizes      []int
	Brokers    []string
	Parallel   int
	CPUProfile string
	MemProfile string
}

// run measures every broker and size, adding to r; a case that fails
// becomes a note and the others go on.
func run(ctx context.Context, o options, r *benchkit.Report, progress io.Writer) (failed int) {
	for _, broker := range o.Brokers {
		for _, n := range o.Sizes {
			if ctx.Err() != nil {
				return failed + 1
			}
			fmt.Fprintf(progress, "fanout: %s, %d devices\n", broker, n)
			if err := measure(ctx, o, r, broker, n, progress); err != nil {
				failed++
				r.Note("%s with %d devices failed: %v", broker, n, err)
				fmt.Fprintf(progress, "fanout: %s with %d devices failed: %v\n", broker, n, err)
			}
		}
	}
	return failed
}

func parseSizes(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-n: %q is not a number of devices", f)
		}
		out = append(out, n)
	}
	return out, nil
}
