package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/jobspec"
)

// whereText is where a job runs, for a table cell: "custom: pi-1,pi-2".
func whereText(j *jobspec.Job) string {
	if j.Where == jobspec.WhereCustom {
		return string(j.Where) + ": " + strings.Join(j.WhereCustom, ",")
	}
	return string(j.Where)
}

// schedules returns the workspace's scheduled jobs by name; none, without
// error, from a server too old to say (404) or that runs no scheduler.
func schedules(ctx context.Context, client *apiclient.Client) (map[string]runlet.ScheduledJob, error) {
	list, err := client.Schedules(ctx)
	switch runlet.ErrorCode(err) {
	case "":
	case runlet.ENOTFOUND, runlet.EUNAVAILABLE:
		return nil, nil
	default:
		return nil, err
	}
	m := make(map[string]runlet.ScheduledJob, len(list))
	for _, sj := range list {
		m[sj.Job] = sj
	}
	return m, nil
}

// scheduleTable is jobTable with each scheduled job's next run and last
// run, then, below it, why a last tick failed or was skipped.
func (m *Main) scheduleTable(jobs []*jobspec.Job, scheds map[string]runlet.ScheduledJob) {
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tWHERE\tEVERY\tNEXT RUN\tLAST RUN\tDESCRIPTION")
	var notes []string
	for _, j := range jobs {
		next, last := "-", "-"
		if sj, ok := scheds[j.Name]; ok {
			next, last = when(sj.Next), lastRun(sj)
			if l := sj.Last; l != nil && l.Reason != "" && (l.State == runlet.TickFailed || l.State == runlet.TickSkipped) {
				notes = append(notes, fmt.Sprintf("%s: the run of %s %s: %s", safe(j.Name), when(l.At), l.State, safe(l.Reason)))
			}
		}
		// Any member may have written the job: its text is escaped.
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", safe(j.Name), safe(whereText(j)), dash(j.Every), next, last, safe(j.Description))
	}
	tw.Flush()
	for _, n := range notes {
		fmt.Fprintln(m.Stdout, n)
	}
}

// when is a time of a schedule for a table cell, in local time.
func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04")
}

// lastRun is the last tick of a scheduled job and how it went: "2026-12-14
// 08:00 Finished", "… 2 Finished, 1 Error", "… failed", "… skipped".
func lastRun(sj runlet.ScheduledJob) string {
	l := sj.Last
	if l == nil {
		return "not yet"
	}
	switch l.State {
	case runlet.TickStarted:
		return when(l.At) + " " + results(sj.Results)
	case runlet.TickClaimed:
		return when(l.At) + " starting"
	}
	return when(l.At) + " " + safe(string(l.State))
}

// results says how the targets of a run stand: "Finished" for one target,
// "2 Finished, 1 Error" for several.
func results(counts map[runlet.Outcome]int) string {
	total := 0
	for _, n := range counts {
		total += n
	}
	if total == 0 {
		return "started"
	}
	var parts []string
	for _, o := range runlet.Outcomes {
		switch n := counts[o]; {
		case n > 0 && total == 1:
			return string(o)
		case n > 0:
			parts = append(parts, fmt.Sprintf("%d %s", n, o))
		}
	}
	return strings.Join(parts, ", ")
}

// listJSON is the jobs as list --json prints them: each scheduled job with
// its "next", "last" and "results" besides its fields.
func listJSON(jobs []*jobspec.Job, scheds map[string]runlet.ScheduledJob) ([]any, error) {
	out := make([]any, len(jobs))
	for i, j := range jobs {
		sj, ok := scheds[j.Name]
		if !ok {
			out[i] = j
			continue
		}
		b, err := json.Marshal(j)
		if err != nil {
			return nil, err
		}
		var fields map[string]any
		if err := json.Unmarshal(b, &fields); err != nil {
			return nil, err
		}
		if !sj.Next.IsZero() {
			fields["next"] = sj.Next
		}
		if sj.Last != nil {
			fields["last"] = sj.Last
		}
		if len(sj.Results) > 0 {
			fields["results"] = sj.Results
		}
		out[i] = fields
	}
	return out, nil
}
