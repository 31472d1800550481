// Command runlet is Runlet in one binary: the CLI verbs, and (as they land)
// the server and the device daemon. It only wires; the work is in cli.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/runlet/runlet/cli"
)

func main() {
	// SIGINT and SIGTERM cancel the context: commands clean up (restore
	// the terminal, stop jobs) and return. In raw mode Ctrl-C is a byte for
	// the job, not a signal, so this does not steal it from the job.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.NewMain().Run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
