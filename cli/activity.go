package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
)

func (m *Main) activityCommand() *cobra.Command {
	var (
		limit  int
		asJSON bool
		filter api.ExecutionFilter
	)
	cmd := &cobra.Command{
		Use:   "activity",
		Short: "List the workspace's recent executions",
		Long: `activity lists the workspace's executions, newest first: each run of a job
on one device, with how it stands or ended (Pending, Running, Finished,
Error, or Stopped and Killed for a run ended by 'runlet stop' or 'runlet
kill'), when it started, how long it ran, its exit code (or the signal that
ended it) and who started it. Use an ID with 'runlet attach', 'runlet stop'
or 'runlet kill'.

--status filters on the stored status, one of Pending, Running, Finished
and Error: a stopped or killed run is in Error.`,
		Example: `  runlet activity
  runlet activity --limit 100 --device pi-1
  runlet activity --status Running --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			filter.Limit = limit
			return m.activity(cmd.Context(), filter, asJSON)
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 20, "how many executions to show")
	cmd.Flags().StringVar(&filter.Device, "device", "", "only the executions on this device")
	cmd.Flags().StringVar(&filter.Job, "job", "", "only the executions of this job")
	cmd.Flags().StringVar(&filter.Status, "status", "", "only the executions in this status (Pending, Running, Finished, Error)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the executions as JSON")
	return cmd
}

func (m *Main) activity(ctx context.Context, f api.ExecutionFilter, asJSON bool) error {
	if f.Limit <= 0 {
		return runlet.Errorf(runlet.EINVALID, "--limit %d: give a positive number", f.Limit)
	}
	_, client, err := m.signedIn()
	if err != nil {
		return err
	}
	execs, err := client.Executions(ctx, f)
	if err != nil {
		return err
	}
	if asJSON {
		return m.printJSON(api.ExecutionsOf(execs))
	}
	if len(execs) == 0 {
		fmt.Fprintln(m.Stdout, "No executions yet.")
		return nil
	}
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tJOB\tDEVICE\tSTATUS\tSTARTED\tDURATION\tEXIT\tCLIENT")
	for _, e := range execs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			safe(e.ID), safe(e.Job), safe(e.Device), safe(string(e.Outcome())), started(e), duration(e), safe(exitText(e)), dash(e.Client))
	}
	return tw.Flush()
}

func started(e runlet.Execution) string {
	if e.Started.IsZero() {
		return "-"
	}
	return e.Started.Local().Format("2006-01-02 15:04:05")
}

func duration(e runlet.Execution) string {
	switch {
	case e.Started.IsZero():
		return "-"
	case e.Finished.IsZero():
		return time.Since(e.Started).Round(time.Second).String() + "…"
	}
	d := e.Duration()
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func exitText(e runlet.Execution) string {
	switch {
	case !e.Status.Final():
		return "-"
	case e.Signal != "":
		return e.Signal
	case e.Status == runlet.StatusError && e.Started.IsZero():
		return "-"
	}
	return fmt.Sprint(e.ExitCode)
}
