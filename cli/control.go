package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/apiclient"
)

func (m *Main) stopCommand() *cobra.Command {
	return m.controlCommand("stop", "Stop an execution: SIGTERM, then SIGKILL after a grace period",
		`stop asks the device running EXEC to end it gently: the job gets SIGTERM
(Ctrl-Break on Windows) and, if it is still there after a grace period,
SIGKILL. Without --device every target of the execution is stopped. Any
device of the workspace may stop any execution; it ends as Stopped (in
'runlet activity' and the web UI). A target that has not started yet (its
device is offline, or the run waits in its queue) ends at once, Stopped, and
never runs there: the device checks with the server before it starts a run.
When every target has already ended there is nothing to stop: runlet says
how each ended and exits 1.`)
}

func (m *Main) killCommand() *cobra.Command {
	return m.controlCommand("kill", "Kill an execution now (SIGKILL)",
		`kill ends EXEC at once with SIGKILL, on --device or on every target of
the execution; it ends as Killed. A target that has not started yet ends
at once, Killed, and never runs there. Prefer 'runlet stop', which lets the
job clean up. An execution that has already ended is left alone: runlet says
so and exits 1.`)
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
	m.printControlled(ctx, client, op, exec, device)
	return nil
}

// printControlled says what the stop or kill did to each target: a target
// that had not started ended at once and will not run; the others' devices
// were asked.
func (m *Main) printControlled(ctx context.Context, client *apiclient.Client, op, exec, device string) {
	where := "every device running it"
	if device != "" {
		where = safe(device)
	}
	ts, err := client.Execution(ctx, exec)
	if err != nil {
		fmt.Fprintf(m.Stdout, "Asked %s to %s execution %s.\n", where, op, exec)
		return
	}
	var asked []string
	cancelled := false
	for _, t := range ts {
		switch {
		case device != "" && t.Device != device:
		case t.Status == runlet.StatusError && t.Killed &&
			(t.Reason == runlet.ReasonStoppedBeforeStart || t.Reason == runlet.ReasonKilledBeforeStart):
			fmt.Fprintf(m.Stdout, "Execution %s had not started on %s: it will not run there (%s).\n", exec, safe(t.Device), t.Outcome())
			cancelled = true
		case !t.Status.Final() || t.Killed: // asked now, or it obeyed already
			asked = append(asked, safe(t.Device))
		}
	}
	if len(asked) > 0 {
		where = strings.Join(asked, ", ")
	}
	if len(asked) > 0 || !cancelled {
		fmt.Fprintf(m.Stdout, "Asked %s to %s execution %s.\n", where, op, exec)
	}
}
