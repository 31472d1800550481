//go:build !windows

package osservice

import (
	"context"
	"io"
)

// Serve runs run with the process's own streams: systemd and launchd
// take a service's output as it is (the journal, the log file) and stop it
// with SIGTERM, which the caller's context already turns into a
// cancellation.
func Serve(ctx context.Context, stdout, stderr io.Writer, run func(ctx context.Context, stdout, stderr io.Writer) error) error {
	return run(ctx, stdout, stderr)
}
