package cli

import (
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/runlet/runlet/cmd/assemble"
	"github.com/runlet/runlet/daemon"
	"github.com/runlet/runlet/home"
)

// daemonCommand is `runlet daemon`: this device's executor, until SIGINT or
// SIGTERM.
func (m *Main) daemonCommand() *cobra.Command {
	var parallel int
	var verbose bool
	c := &cobra.Command{
		Use:   "daemon",
		Short: "Run this device's jobs: take executions from the server and stream their output",
		Long: `The daemon takes the executions dispatched to this device, runs them in a
terminal, streams their output to every viewer, obeys input, resize, stop and
kill from any device of the workspace, and tells the server the status of
each run and how busy this device is. It needs the device to be signed in
(runlet @signin) and runs until interrupted (SIGINT, SIGTERM).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir := home.Dir(m.home)
			creds, err := dir.Credentials()
			if err != nil {
				return err
			}
			level := slog.LevelInfo
			if verbose {
				level = slog.LevelDebug
			}
			d, err := daemon.New(daemon.Config{
				Home:        dir,
				Credentials: creds,
				Parallel:    parallel,
				Logger:      slog.New(slog.NewTextHandler(m.Stderr, &slog.HandlerOptions{Level: level})),
				Version:     Version,
				RootCAs:     m.RootCAs,
				Dial:        assemble.Dial,
			})
			if err != nil {
				return err
			}
			return d.Run(cmd.Context())
		},
	}
	c.Flags().IntVar(&parallel, "parallel", 0, "executions that run at once (0: one per CPU)")
	c.Flags().BoolVarP(&verbose, "verbose", "v", false, "log debug details")
	return c
}
