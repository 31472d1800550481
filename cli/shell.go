package cli

import (
	"github.com/spf13/cobra"
)

func (m *Main) shellCommand() *cobra.Command {
	var r remoteRun
	cmd := &cobra.Command{
		Use:   "shell DEVICE",
		Short: "Open a login shell on a device, attached to this terminal",
		Long: `shell starts the login shell of the user the daemon runs as on DEVICE
($SHELL -l, or cmd.exe on Windows) and attaches this terminal to it, as
'runlet @run' does a job: every key goes to the shell, the window size
follows this terminal's, and runlet exits with the shell's exit code.
Type Enter, then ~. to detach and leave the shell running; rejoin it with
'runlet attach'.

The device must be online: a shell is not queued for later. Activity
records the run as "$ (login shell)", with who opened it, like any run.
A workspace whose job set says commands: false under settings refuses
shells, as it refuses 'runlet @run -- CMD'.`,
		Example: `  runlet shell pi-1
  echo uptime | runlet shell pi-1`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r.shell, r.on = true, args
			return m.runRemote(cmd.Context(), &r, nil)
		},
	}
	return cmd
}
