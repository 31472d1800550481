package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/runlet/runlet"
	"github.com/spf13/cobra"
)

func (m *Main) devicesCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "devices",
		Short: "List the workspace's devices and whether they are online",
		Long: `devices lists every device of the workspace: whether its daemon is online
(it sent a heartbeat lately), its system, the runlet version it runs, when
it was last seen, its CPU and memory use from the last heartbeat, and how
many executions it is running, and its labels. 'runlet devices rm NAME'
removes a device; 'runlet devices label NAME KEY=VALUE' labels one.`,
		Example: `  runlet devices
  runlet devices --json
  runlet devices rm pi-3`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.devices(cmd.Context(), asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the devices as JSON")
	cmd.AddCommand(m.devicesRmCommand(), m.devicesLabelCommand())
	return cmd
}

func (m *Main) devices(ctx context.Context, asJSON bool) error {
	_, client, err := m.signedIn()
	if err != nil {
		return err
	}
	devs, err := client.Devices(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		return m.printJSON(devs)
	}
	if len(devs) == 0 {
		fmt.Fprintln(m.Stdout, "No devices yet.")
		return nil
	}
	now := time.Now()
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tONLINE\tOS\tARCH\tVERSION\tLAST SEEN\tCPU\tMEM\tRUNNING\tLABELS")
	for _, d := range devs {
		online, cpu, mem := "no", "-", "-"
		if d.Online {
			online = "yes"
			cpu, mem = fmt.Sprintf("%.0f%%", d.CPU), fmt.Sprintf("%.0f%%", d.Memory)
		}
		// The OS, arch and version come from the device's heartbeats:
		// escaped, they cannot drive this terminal.
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n",
			safe(d.Name), online, dash(d.OS), dash(d.Arch), dash(d.Version), ago(now, d.LastSeen), cpu, mem, d.Running, dash(runlet.FormatLabels(d.Labels)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// Readings being lost are said below the table, loudly.
	for _, d := range devs {
		if t := d.Telemetry; t != nil && (t.Full || t.Dropped > 0) {
			state := "has dropped"
			if t.Full {
				state = "is full and has dropped"
			}
			fmt.Fprintf(m.Stderr, "warning: %s's outbox of sensor readings %s %d readings, oldest first (%d waiting for the broker).\n",
				safe(d.Name), state, t.Dropped, t.Pending)
		}
	}
	return nil
}

// dash is a table cell of other parties' text: escaped (runlet.SafeText),
// "-" when empty.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return safe(s)
}

// ago says how long before now t was, the way a person reads it.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	switch {
	case d < 0:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return t.Local().Format("2006-01-02")
}
