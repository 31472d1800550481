package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
)

func (m *Main) stopCommand() *cobra.Command {
	return m.controlCommand("stop", "Stop an execution: SIGTERM, then SIGKILL after a grace period",
		`stop asks the device running EXEC to end it gently: the job gets SIGTERM
(Ctrl-Break on Windows) and, if it is still there after a grace period,
SIGKILL. Without --device every target of the execution is stopped. Any
device of the workspace may stop any execution; it ends as Stopped (in
'runlet activity' and the web UI). When every target has already ended there
is nothing to stop: runlet says how each ended and exits 1.`)
}

func (m *Main) killCommand() *cobra.Command {
	return m.controlCommand("kill", "Kill an execution now (SIGKILL)",
		`kill ends EXEC at once with SIGKILL, on --device or on every target of
the execution; it ends as Killed. Prefer 'runlet stop', which lets the job
clean up. An execution that has already ended is left alone: runlet says so
and exits 1.`)
}

func (m *Main) controlCommand(op, short, long string) *cobra.Command {
	var (
		device string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   op + " EXEC [--device NAME]",
		Short: short,
		Long:  long,
		Example: fmt.Sprintf(`  runlet %[1]s 01jd3k5m7n9p1q3r5s7t9v1w3x
  runlet %[1]s 01jd3k5m7n9p1q3r5s7t9v1w3x --device pi-2 --json`, op),
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.control(cmd.Context(), op, args[0], device, asJSON)
		},
	}
	cmd.Flags().StringVar(&device, "device", "", "only the run on this device")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the request as JSON")
	return cmd
}

func (m *Main) control(ctx context.Context, op, exec, device string, asJSON bool) error {
	_, client, err := m.signedIn()
	if err != nil {
		return err
	}
	call := client.Stop
	if op == "kill" {
		call = client.Kill
	}
	if err := call(ctx, exec, device); err != nil {
		return err
	}
	if asJSON {
		return m.printJSON(struct {
			Execution string `json:"execution"`
			Device    string `json:"device,omitempty"`
			Op        string `json:"op"`
		}{exec, device, op})
	}
	where := "every device running it"
	if device != "" {
		where = safe(device)
	}
	fmt.Fprintf(m.Stdout, "Asked %s to %s execution %s.\n", where, op, exec)
	return nil
}
