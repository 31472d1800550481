package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/home"
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
~~ sends a single ~. An execution that has ended is printed from its
encrypted log, as 'runlet logs' prints it (asking for the workspace's log
passphrase unless this device saved the keys).`,
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
	var enc *logEncrypted
	if errors.As(err, &enc) {
		// The run has ended and its device keeps only its encrypted log
		// (R-LOG-1): the rest of its output is read from there.
		return m.attachEnded(ctx, cred, client, exec, device, enc.after)
	}
	if err != nil {
		return err
	}
	return exitFor(rec)
}

// attachEnded prints the output of an ended execution from its encrypted
// log, after frame after (shown already), as 'runlet logs' does, and
// exits as the job did.
func (m *Main) attachEnded(ctx context.Context, cred *home.Credentials, client *apiclient.Client, exec, device string, after uint64) error {
	if err := m.readLog(ctx, cred, client, exec, device, &logsFlags{after: after}); err != nil {
		return err
	}
	targets, err := client.Execution(ctx, exec)
	if err != nil {
		return err
	}
	for _, t := range targets {
		if t.Device == device {
			return exitFor(t)
		}
	}
	return nil
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
