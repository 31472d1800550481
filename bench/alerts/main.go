// Command alerts measures the alert latencies of issue 14 against its
// targets: a real server in this process (cmd/assemble) on one stack,
// simulated gateways in this process publishing their sensors' readings
// as bench/telemetry's do (each a device enrolled on the server,
// publishing compact batches on its own telemetry key with its broker
// connection, as the daemon's gateway does), and a webhook receiver
// (httptest, the signature checked) that records when each notification
// arrives. It reports two latencies:
//
//   - a threshold crossing: from the moment the batch holding a reading
//     above its sensor's threshold is handed to the broker to the arrival
//     of the alert's "opened" webhook, while the other sensors send
//     readings in range at a steady rate (target p99 ≤ 2 s);
//   - a silence: from the moment a silent sensor's period ran out, as the
//     server recorded it (the alert's At, its silence due time), to the
//     arrival of the alert's "opened" webhook (target p99 ≤ 10 s).
//
// The server runs with its default alert and notification settings (the
// alert leader sleeps at most 2 s, the sender polls every second and is
// kicked on each decision).
//
//	go run ./bench/alerts [-stack nats-sqlite|rabbit-postgres] [-duration 60s] [-rate 1000] [--json]
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
	Gateways  int
	BatchTime time.Duration
	Warm      time.Duration // after the first reading is stored
	// Threshold crossings.
	Sensors   int           // with a threshold, sending in range
	Rate      int           // in-range readings a second, in all
	Duration  time.Duration // of the crossings
	Crossings float64       // a second, on average, at random moments
	Every     time.Duration // AlertSettings.Every; 0 keeps the default
	// Silences.
	Quiet    int           // sensors that fall silent
	Silence  time.Duration // their silence period
	Interval time.Duration // between their readings while they report
	Stagger  time.Duration // over which they stop
}

func main() {
	var o options
	flag.StringVar(&o.Stack, "stack", natsSQLite, "the stack: "+natsSQLite+" (embedded NATS, SQLite) or "+rabbitPostgres+" (the machine's RabbitMQ and PostgreSQL)")
	flag.IntVar(&o.Gateways, "gateways", 4, "simulated gateways (devices); the sensors are shared among them")
	flag.DurationVar(&o.BatchTime, "batch-time", gateway.DefaultBatchTime, "how long a gateway gathers readings into a batch (the gateway's default)")
	flag.DurationVar(&o.Warm, "warm", 5*time.Second, "how long the in-range load runs before the first crossing (the alert service caches sensors 2 s)")
	flag.IntVar(&o.Sensors, "sensors", 200, "sensors with a threshold (temperature above 8 °C)")
	flag.IntVar(&o.Rate, "rate", 1000, "in-range readings a second of those sensors, in all, during both phases")
	flag.DurationVar(&o.Duration, "duration", 60*time.Second, "how long threshold crossings are made")
	flag.Float64Var(&o.Crossings, "crossings", 2, "threshold crossings a second, on average, at random moments")
	flag.DurationVar(&o.Every, "every", 0, "the workspace's once-per-period rule (AlertSettings.Every); 0 keeps the default (1h). A sensor crosses again only once this has passed since its last crossing")
	flag.IntVar(&o.Quiet, "quiet", 500, "sensors that stop reporting (0 skips the silence phase)")
	flag.DurationVar(&o.Silence, "silence", 5*time.Second, "the silence period of those sensors")
	flag.DurationVar(&o.Interval, "interval", time.Second, "how often each of those sensors reports until it stops")
	flag.DurationVar(&o.Stagger, "stagger", 30*time.Second, "the time over which those sensors stop, each at a random moment")
	asJSON := benchkit.JSONFlag()
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep := benchkit.NewReport("bench/alerts")
	err := run(ctx, o, rep, progress)
	if perr := rep.Print(os.Stdout, *asJSON); perr != nil && err == nil {
		err = perr
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "alerts:", err)
		os.Exit(1)
	}
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}
