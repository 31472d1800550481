// Command bandwidth measures what a device's daemon sends and receives on
// the network (issue 13, "a device's bandwidth"): a real server (cmd/assemble,
// on embedded NATS or the machine's RabbitMQ) and a real daemon signed in
// to it, with every byte between them relayed through counting TCP proxies
// that parse the broker's protocol and attribute each message to its source
// (heartbeats, broker keepalives, JetStream pulls, AMQP heartbeats, the
// API). It watches the idle daemon for a window, then publishes telemetry
// batches the way the device's gateway does, and extrapolates the month.
//
//	go run ./bench/bandwidth [-brokers nats,rabbitmq] [-window 10m] [-heartbeat 0] [--json]
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

// The target for a device's month, idle and with 15 sensors
// reporting every 15 minutes, heartbeats included.
const targetMonthMB = 10

// month is the month the figures are extrapolated to.
const month = 30 * 24 * time.Hour

type options struct {
	Brokers   []string
	Window    time.Duration // the idle measure
	Settle    time.Duration // after the daemon is online, before the window
	Heartbeat time.Duration // the daemon's heartbeat interval; 0 its default
	Publishes int           // telemetry publishes measured
	Body      int           // bytes of one telemetry batch body
	Sensors   int           // sensors of the month's projection
	Every     time.Duration // how often each sensor reports
}

func main() {
	var o options
	brokers := flag.String("brokers", "nats,rabbitmq", "comma-separated brokers to measure on: nats (embedded), rabbitmq (the machine's)")
	flag.DurationVar(&o.Window, "window", 10*time.Minute, "how long the idle daemon is watched; the month is extrapolated from it")
	flag.DurationVar(&o.Settle, "settle", 40*time.Second, "how long after the daemon is online before the window opens (start-up is reported apart)")
	flag.DurationVar(&o.Heartbeat, "heartbeat", 0, "the daemon's heartbeat interval (daemon.Config.HeartbeatInterval); 0 means its default")
	flag.IntVar(&o.Publishes, "publishes", 50, "telemetry batches published to measure one")
	flag.IntVar(&o.Body, "body", 60, "bytes of one telemetry batch body (one reading is about 60)")
	flag.IntVar(&o.Sensors, "sensors", 15, "sensors of the month's projection")
	flag.DurationVar(&o.Every, "every", 15*time.Minute, "how often each sensor reports, in the month's projection")
	asJSON := benchkit.JSONFlag()
	flag.Parse()
	o.Brokers = strings.Split(*brokers, ",")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := run(ctx, o, os.Stderr)
	if rep != nil {
		if perr := rep.Print(os.Stdout, *asJSON); perr != nil && err == nil {
			err = perr
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bandwidth:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options, log *os.File) (*benchkit.Report, error) {
	rep := benchkit.NewReport("bench/bandwidth")
	progress := func(format string, args ...any) {
		if log != nil {
			fmt.Fprintf(log, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
		}
	}
	for _, b := range o.Brokers {
		if err := measureBroker(ctx, o, b, rep, progress); err != nil {
			return rep, fmt.Errorf("%s: %w", b, err)
		}
	}
	rep.Note("Bytes are TCP payload as the daemon's sockets carry them. IP and TCP headers (52 B a segment: %d B a month for one segment a minute each way) are only estimated (the IP+TCP rows); TLS records (about 22-29 B each with AES-GCM) are not counted: the broker is reached without TLS on loopback.", 2*52*int(month/time.Minute))
	rep.Note("Month = %s; idle bytes extrapolated linearly from the window; telemetry: %d sensors every %s, %d batches measured of each size, their cost multiplied out.", month, o.Sensors, o.Every, o.Publishes)
	return rep, nil
}
