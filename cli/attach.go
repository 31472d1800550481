package cli

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/runlet/runlet"
)

func (m *Main) attachCommand() *cobra.Command {
	var device string
	cmd := &cobra.Command{
		Use:   "attach EXEC [--device NAME]",
		Short: "Join a running execution from this terminal",
		Long: `attach joins the execution EXEC (an id from 'runlet activity' or
'runlet @run --detach') from any device of the workspace: it shows all the
output so far, then the live output, and every key typed here goes to the
job, as if it ran in this terminal. Several people may attach to one
execution and type into it; the job's window has the size of whoever
acted last: this terminal's when you attach and whenever you type here,
another viewer's once they type there. A piped
standard input goes to the job as typed keys, but its end does not end the
job's input (others may still type): that is @run's.

An execution that runs on several devices needs --device to say which one.
runlet exits with the job's exit code when it ends. To leave the job
running and get your terminal back, type Enter, then ~. (as in ssh);
~~ sends a single ~.`,
		Example: `  runlet attach 01jd3k5m7n9p1q3r5s7t9v1w3x
  runlet attach 01jd3k5m7n9p1q3r5s7t9v1w3x --device pi-2`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.attachRemote(cmd.Context(), args[0], device)
		},
	}
	cmd.Flags().StringVar(&device, "device", "", "the device whose run to join, when the execution has several")
	return cmd
}

func (m *Main) attachRemote(ctx context.Context, exec, device string) error {
	cred, client, err := m.signedIn()
	if err != nil {
		return err
	}
	targets, err := client.Execution(ctx, exec)
	if err != nil {
		return err
	}
	device, err = m.chooseTarget(exec, targets, device)
	if err != nil {
		return err
	}
	s, err := m.newSession(ctx, cred, client, exec)
	if err != nil {
		return err
	}
	defer s.close()
	rec, err := s.interactive(ctx, device, joining{})
	if err != nil {
		return err
	}
	return exitFor(rec)
}

// chooseTarget picks the device of exec to act on: the one named, or the
// only one. With several and none named it lists them.
func (m *Main) chooseTarget(exec string, targets []runlet.Execution, device string) (string, error) {
	if len(targets) == 0 {
		return "", runlet.Errorf(runlet.ENOTFOUND, "execution %s has no target device", exec)
	}
	names := make([]string, len(targets))
	for i, t := range targets {
		names[i] = t.Device
		if device != "" && t.Device == device {
			return device, nil
		}
	}
	if device != "" {
		return "", runlet.Errorf(runlet.EINVALID, "execution %s does not run on %q; it runs on %s", exec, device, strings.Join(names, ", "))
	}
	if len(targets) == 1 {
		return targets[0].Device, nil
	}
	tw := tabwriter.NewWriter(m.Stderr, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DEVICE\tSTATUS")
	for _, t := range targets {
		fmt.Fprintf(tw, "%s\t%s\n", safe(t.Device), safe(string(t.Outcome())))
	}
	tw.Flush()
	return "", runlet.Errorf(runlet.EINVALID, "execution %s runs on %d devices (%s): choose one with --device", exec, len(targets), strings.Join(names, ", "))
}
