package cli

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
)

func (m *Main) activityCommand() *cobra.Command {
	var (
		asJSON       bool
		since, until string
		f            api.RunFilter
	)
	cmd := &cobra.Command{
		Use:   "activity",
		Short: "List the workspace's recent runs",
		Long: `activity lists the workspace's runs, newest first, one a line: each start
of a job with its devices and how each stands or ended ("pi-1 ✓, pi-2 ✗
Killed"), when it was started (the time for today's runs, the date and
time for older ones), how long it ran and who started it. Use an ID with
'runlet attach', 'runlet stop' or 'runlet kill'.

A page holds --limit runs; when more are older, the command that shows the
next page follows the table (on stderr): the same filters with --more and
a cursor. Paging by cursor holds while jobs run: the next page starts
after the last run shown, however many have started since.

--status picks the runs with a device in that state: Pending, Running,
Finished, Error, Stopped (by 'runlet stop') or Killed (by 'runlet kill').
--since and --until take a duration back from now (90m, 2h, 7d), a date
(2026-03-01, which --until takes to its end), a date and time
(2026-03-01 15:04), or today and yesterday; times are this computer's.`,
		Example: `  runlet activity
  runlet activity --job deploy --device pi-1 --since 7d
  runlet activity --by ada@example.com --status Killed
  runlet activity --since 2026-03-01 --until 2026-03-07 --limit 100
  runlet activity --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			now := time.Now()
			var err error
			if f.From, err = parseWhen(now, "--since", since, false); err != nil {
				return err
			}
			if f.To, err = parseWhen(now, "--until", until, true); err != nil {
				return err
			}
			return m.activity(cmd, f, asJSON)
		},
	}
	cmd.Flags().IntVar(&f.Limit, "limit", 20, "how many runs to show")
	cmd.Flags().StringVar(&f.Job, "job", "", "only the runs of this job")
	cmd.Flags().StringVar(&f.Device, "device", "", "only the runs on this device")
	cmd.Flags().StringVar(&f.Client, "by", "", "only the runs started by this user (email), device or the scheduler")
	cmd.Flags().StringVar(&f.Outcome, "status", "", "only the runs with a device in this state (Pending, Running, Finished, Error, Stopped, Killed)")
	cmd.Flags().StringVar(&since, "since", "", "only the runs started since then: 2h, 7d, 2026-03-01, today")
	cmd.Flags().StringVar(&until, "until", "", "only the runs started before then: 2h, 2026-03-07, yesterday")
	cmd.Flags().StringVar(&f.Cursor, "more", "", "the page after this cursor (the command after a full page gives it)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the page as JSON: {\"runs\": [...], \"next\": cursor}")
	return cmd
}

func (m *Main) activity(cmd *cobra.Command, f api.RunFilter, asJSON bool) error {
	if f.Limit <= 0 {
		return runlet.Errorf(runlet.EINVALID, "--limit %d: give a positive number", f.Limit)
	}
	_, client, err := m.signedIn()
	if err != nil {
		return err
	}
	page, err := client.Runs(cmd.Context(), f)
	if err != nil {
		return err
	}
	if asJSON {
		return m.printJSON(page)
	}
	if len(page.Runs) == 0 {
		switch {
		case f.Cursor != "":
			fmt.Fprintln(m.Stdout, "No older runs.")
		case filtered(cmd):
			fmt.Fprintln(m.Stdout, "No runs match these filters.")
		default:
			fmt.Fprintln(m.Stdout, "No runs yet.")
		}
		return nil
	}
	now := time.Now()
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tJOB\tSTATUS\tWHEN\tDURATION\tBY\tDEVICES")
	for _, r := range page.Runs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			safe(r.ID), safe(r.Job), safe(string(r.Outcome)), listTime(now, r.Created), runDuration(now, r), dash(r.Client), runTargets(r))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if page.Next != "" {
		fmt.Fprintln(m.Stderr, "Older runs: "+safe(m.command(moreArgs(cmd, page.Next))))
	}
	return nil
}

// filtered reports whether a filter flag was given.
func filtered(cmd *cobra.Command) bool {
	some := false
	cmd.Flags().Visit(func(fl *pflag.Flag) {
		if !slices.Contains([]string{"home", "limit", "json", "more"}, fl.Name) {
			some = true
		}
	})
	return some
}

// moreArgs is this activity command again with --more next instead of
// the cursor it had (m.command adds --home).
func moreArgs(cmd *cobra.Command, next string) string {
	args := []string{"activity"}
	cmd.Flags().Visit(func(fl *pflag.Flag) {
		if fl.Name != "home" && fl.Name != "more" {
			args = append(args, "--"+fl.Name+"="+shellQuote(fl.Value.String()))
		}
	})
	return strings.Join(append(args, "--more", shellQuote(next)), " ")
}

// runTargets is the devices of r and how each stands or ended:
// "pi-1 ✓, pi-2 ✗ Killed, mac ✗ exit 3".
func runTargets(r api.Run) string {
	var out []string
	for _, e := range r.Targets {
		out = append(out, safe(e.Device)+" "+targetMark(e))
	}
	return strings.Join(out, ", ")
}

func targetMark(e api.Execution) string {
	switch e.Outcome {
	case runlet.OutcomeFinished:
		if e.ExitCode == 0 {
			return "✓"
		}
		return fmt.Sprintf("✗ exit %d", e.ExitCode)
	case runlet.OutcomeError:
		if e.Signal != "" {
			return "✗ Error (" + safe(e.Signal) + ")"
		}
		return "✗ Error"
	case runlet.OutcomeStopped, runlet.OutcomeKilled:
		return "✗ " + string(e.Outcome)
	}
	return safe(string(e.Outcome)) // Pending, Running, or what a newer server says
}

// listTime is t as a person reads it in a list: the time alone for today,
// the date and the time for another day.
func listTime(now, t time.Time) string {
	t, now = t.Local(), now.Local()
	if y, m, d := t.Date(); y == now.Year() && m == now.Month() && d == now.Day() {
		return t.Format("15:04:05")
	}
	return t.Format("2006-01-02 15:04")
}

// runDuration is how long r ran, from its first start to its last end,
// and up to now with "…" while it runs.
func runDuration(now time.Time, r api.Run) string {
	switch {
	case r.Started.IsZero():
		return "-"
	case r.Finished.IsZero():
		return now.Sub(r.Started).Round(time.Second).String() + "…"
	}
	d := r.Finished.Sub(r.Started)
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// parseWhen reads the value of --since or --until (flag): a duration back
// from now (90m, 2h, 7d), today, yesterday, a date (its start, or its end
// for --until: end), a date and a time to the minute or second, or an RFC
// 3339 time. Dates and times are local. "" is the zero time.
func parseWhen(now time.Time, flag, v string, end bool) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, nil
	}
	day := func(t time.Time) time.Time {
		y, m, d := t.Date()
		start := time.Date(y, m, d, 0, 0, 0, 0, time.Local)
		if end {
			return start.AddDate(0, 0, 1)
		}
		return start
	}
	switch strings.ToLower(v) {
	case "today":
		return day(now.Local()), nil
	case "yesterday":
		return day(now.Local().AddDate(0, 0, -1)), nil
	}
	if n, ok := strings.CutSuffix(v, "d"); ok {
		if days, err := strconv.Atoi(n); err == nil && days >= 0 {
			return now.AddDate(0, 0, -days), nil
		}
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	if t, err := time.ParseInLocation("2006-01-02", v, time.Local); err == nil {
		return day(t), nil
	}
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, v, time.Local); err == nil {
			return t, nil
		}
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	return time.Time{}, runlet.Errorf(runlet.EINVALID,
		"%s %s: give a duration back from now such as 90m, 2h or 7d, a date such as 2026-03-01, a date and time such as \"2026-03-01 15:04\", today or yesterday",
		flag, safe(v))
}
