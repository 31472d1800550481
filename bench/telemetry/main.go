// Command telemetry measures the telemetry path of issue 13 against its
// targets: a real server in this process (cmd/assemble) on one stack, and
// many simulated gateways in this process speaking the real protocol (each
// a device enrolled on the server, publishing compact batches on its own
// telemetry key with its broker connection, as the daemon's gateway does),
// their sensors from the simulator's random mode (telemetry/sim). It
// reports the sustained ingest rate, the time from accepted on the device
// to visible in the query API at 10k and 70k readings a second, a
// 1,000-point query's latency while ingesting, the bytes on the wire and on
// disk per reading, and the drain of the daemon's real outbox after an
// outage.
//
//	go run ./bench/telemetry [-stack nats-sqlite|rabbit-postgres] [-duration 60s] [-rate N] [--json]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/runlet/runlet/bench/internal/benchkit"
	"github.com/runlet/runlet/telemetry/gateway"
)

type options struct {
	Stack     string
	Duration  time.Duration // of the sustained ingest
	Rate      int           // of the sustained ingest; 0: as fast as stored
	Latency   time.Duration // of each latency phase
	Rates     []int         // of the latency phases
	Gateways  int
	Sensors   int // per gateway
	BatchTime time.Duration
	MaxBatch  int
	Backlog   int64
	Poll      time.Duration
	Outage    int // readings in the outbox for the drain; 0 skips it
	// CPUProfile, when set, is where the sustained ingest's CPU profile
	// (the whole process: server and simulated gateways) is written.
	CPUProfile string
	// Alerts runs the alert service on the ingest's path (the server's
	// default); false measures the ingest without it (issue 14, row 3).
	Alerts bool
}

func main() {
	var o options
	flag.StringVar(&o.Stack, "stack", natsSQLite, "the stack: "+natsSQLite+" (embedded NATS, SQLite) or "+rabbitPostgres+" (the machine's RabbitMQ and PostgreSQL)")
	flag.DurationVar(&o.Duration, "duration", 60*time.Second, "how long the sustained ingest is measured")
	flag.IntVar(&o.Rate, "rate", 0, "readings a second of the sustained ingest; 0 sends as fast as the pipeline stores")
	flag.DurationVar(&o.Latency, "latency", 20*time.Second, "how long each latency phase (10k/s, 70k/s) lasts; 0 skips them")
	flag.IntVar(&o.Gateways, "gateways", 20, "simulated gateways (devices)")
	flag.IntVar(&o.Sensors, "sensors", 50, "sensors per gateway")
	flag.DurationVar(&o.BatchTime, "batch-time", gateway.DefaultBatchTime, "how long a gateway gathers readings into a batch (the gateway's default)")
	flag.IntVar(&o.MaxBatch, "max-batch", 5000, "readings of a batch when sending as fast as possible (the gateway's default)")
	flag.Int64Var(&o.Backlog, "backlog", 200_000, "readings published and not yet stored, at most, when sending as fast as possible")
	flag.DurationVar(&o.Poll, "poll", 2*time.Millisecond, "how often a latency probe polls the query API")
	flag.IntVar(&o.Outage, "outage", 600_000, "readings the outbox holds after the outage (10 minutes at 1,000/s); 0 skips the drain")
	flag.StringVar(&o.CPUProfile, "cpuprofile", "", "write the CPU profile of the sustained ingest to this file (go tool pprof)")
	flag.BoolVar(&o.Alerts, "alerts", true, "evaluate alerts on the ingest's path (the server's default); false stores readings without telling the alert service")
	asJSON := benchkit.JSONFlag()
	flag.Parse()
	o.Rates = []int{10_000, 70_000}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep := benchkit.NewReport("bench/telemetry")
	err := run(ctx, o, rep, progress)
	if perr := rep.Print(os.Stdout, *asJSON); perr != nil && err == nil {
		err = perr
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "telemetry:", err)
		os.Exit(1)
	}
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}
