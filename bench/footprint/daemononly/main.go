// Command daemononly runs a device's daemon and nothing else: a binary that
// links only the daemon package and what it needs (the bus clients, the
// runner), without the server, the embedded NATS server, SQLite, pgx or
// the CLI that the runlet binary carries for its other roles. It is not a
// product: bench/footprint measures it beside `runlet daemon` to show how
// much of the daemon's memory is its own and how much comes from sharing
// one binary with the server.
//
//	daemononly -home DIR [-parallel N]
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/runlet/runlet/bus/connect"
	"github.com/runlet/runlet/daemon"
	"github.com/runlet/runlet/home"
)

func main() {
	dir := flag.String("home", "", "the device's home directory (its credentials and logs)")
	parallel := flag.Int("parallel", 0, "executions that run at once (0: one per CPU)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, home.Dir(*dir), *parallel)
	stop()
	if err != nil && ctx.Err() == nil {
		fmt.Fprintln(os.Stderr, "daemononly:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dir home.Dir, parallel int) error {
	creds, err := dir.Credentials()
	if err != nil {
		return err
	}
	d, err := daemon.New(daemon.Config{
		Home: dir, Credentials: creds, Parallel: parallel, Dial: connect.Open,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)),
	})
	if err != nil {
		return err
	}
	return d.Run(ctx)
}
