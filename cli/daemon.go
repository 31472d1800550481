package cli

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/cmd/assemble"
	"github.com/runlet/runlet/daemon"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/internal/osservice"
)

// daemonCommand is `runlet daemon`: this device's executor, until SIGINT or
// SIGTERM.
func (m *Main) daemonCommand() *cobra.Command {
	var parallel int
	var heartbeat time.Duration
	var verbose bool
	var tel telemetryFlags
	c := &cobra.Command{
		Use:   "daemon",
		Short: "Run this device's jobs: take executions from the server and stream their output",
		Long: `The daemon takes the executions dispatched to this device, runs them in a
terminal, streams their output to every viewer, obeys input, resize, stop and
kill from any device of the workspace, and tells the server the status of
each run and how busy this device is. It needs the device to be signed in
(runlet @signin) and runs until interrupted (SIGINT, SIGTERM). When the
device is not signed in, or is signed out while it runs, it exits with
status 78, and the service that 'runlet daemon install' makes is not
restarted in vain.

It is also the gateway of the sensors around it: it takes their readings
on a local HTTP endpoint (--telemetry-listen, 127.0.0.1:8736 by default;
see 'runlet telemetry push') and, with --mqtt, from an MQTT broker the
sensors publish to, keeps them in an outbox under the home (telemetry/)
until the server has them, and sends them in batches.

To run it as a service of the operating system, started at boot and
restarted after a failure: runlet daemon install (see its --help).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Under the Windows service control manager, Serve answers it
			// and hands over the event log for the logs.
			return osservice.Serve(cmd.Context(), m.Stdout, m.Stderr, func(ctx context.Context, _, stderr io.Writer) error {
				return m.runDaemon(ctx, stderr, parallel, heartbeat, verbose, tel)
			})
		},
	}
	c.Flags().IntVar(&parallel, "parallel", 0, "executions that run at once (0: one per CPU)")
	c.Flags().DurationVar(&heartbeat, "heartbeat", daemon.DefaultHeartbeatInterval,
		"longest time between heartbeats; one also goes when the running or queued executions change (docs/bandwidth.md)")
	c.Flags().BoolVarP(&verbose, "verbose", "v", false, "log debug details")
	tel.add(c.Flags())
	c.AddCommand(m.serviceCommands(m.daemonService(c.Flags()))...)
	return c
}

// runDaemon runs the daemon of the home until ctx ends. A device that is
// not (or no longer) signed in ends it with osservice.ExitNoRestart: a
// service manager starting it again could not help.
func (m *Main) runDaemon(ctx context.Context, stderr io.Writer, parallel int, heartbeat time.Duration, verbose bool, tel telemetryFlags) error {
	dir := home.Dir(m.home)
	creds, err := dir.Credentials()
	if err == nil {
		level := slog.LevelInfo
		if verbose {
			level = slog.LevelDebug
		}
		var d *daemon.Daemon
		var cfg daemon.Config
		cfg, err = tel.config()
		if err != nil {
			return err
		}
		d, err = daemon.New(daemon.Config{
			TelemetryListen:     cfg.TelemetryListen,
			MQTT:                cfg.MQTT,
			TelemetrySpoolBytes: cfg.TelemetrySpoolBytes,
			Home:                dir,
			Credentials:         creds,
			Parallel:            parallel,
			HeartbeatInterval:   heartbeat,
			Logger:              slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})),
			Version:             Version,
			RootCAs:             m.RootCAs,
			Dial:                assemble.Dial,
		})
		if err == nil {
			err = d.Run(ctx)
		}
	}
	if runlet.ErrorCode(err) == runlet.EUNAUTHORIZED {
		return noRestart{err}
	}
	return err
}
