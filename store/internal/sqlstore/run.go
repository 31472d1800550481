package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
)

// runTargetCols are executionCols of the targets' alias e.
var runTargetCols = func() string {
	cols := strings.Split(executionCols, ",")
	for i, c := range cols {
		cols[i] = "e." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}()

// params numbers the parameters of a query as they are added.
type params []any

func (a *params) add(v any) string {
	*a = append(*a, v)
	return fmt.Sprintf("$%d", len(*a))
}

// ListRuns implements store.Executions in one statement: the page of runs
// (from the runs table, newest first along an index, the device and
// outcome filters as EXISTS on the targets), joined with their targets.
// One more run than the page holds is read, to know whether a page
// follows.
func (db *DB) ListRuns(ctx context.Context, workspace string, f store.RunFilter) (store.RunPage, error) {
	switch {
	case f.Limit < 0:
		return store.RunPage{}, invalid("A page needs a limit of 0 or more.")
	case f.Outcome != "" && !f.Outcome.Valid():
		return store.RunPage{}, invalid("Unknown outcome %q: use Pending, Running, Finished, Error, Stopped or Killed.", f.Outcome)
	case !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To):
		return store.RunPage{}, invalid("The start of the time range (%s) must come before its end (%s).",
			f.From.UTC().Format(timeLayout), f.To.UTC().Format(timeLayout))
	}
	limit := min(f.Limit, store.MaxLimit)
	if limit == 0 {
		limit = store.DefaultLimit
	}
	a := params{workspace}
	where := []string{"r.workspace_id = $1"}
	if f.Job != "" {
		where = append(where, "r.job = "+a.add(f.Job))
	}
	if f.Client != "" {
		where = append(where, "r.client = "+a.add(f.Client))
	}
	if !f.From.IsZero() {
		where = append(where, "r.created >= "+a.add(db.t(f.From)))
	}
	if !f.To.IsZero() {
		where = append(where, "r.created < "+a.add(db.t(f.To)))
	}
	if !f.After.IsZero() {
		where = append(where, fmt.Sprintf("(r.created, r.id) < (%s, %s)", a.add(db.t(f.After.Created)), a.add(f.After.ID)))
	}
	target := "EXISTS (SELECT 1 FROM executions o WHERE o.workspace_id = r.workspace_id AND o.id = r.id AND %s)"
	if f.Device != "" {
		where = append(where, fmt.Sprintf(target, "o.device = "+a.add(f.Device)))
	}
	if f.Outcome != "" {
		where = append(where, fmt.Sprintf(target, outcomeSQL(f.Outcome, &a)))
	}
	q := fmt.Sprintf(`SELECT r.id, r.job, r.client, r.created, %s
		FROM (SELECT r.id, r.job, r.client, r.created FROM runs r WHERE %s ORDER BY r.created DESC, r.id DESC LIMIT %s) r
		JOIN executions e ON e.workspace_id = $1 AND e.id = r.id
		ORDER BY r.created DESC, r.id DESC, e.device`,
		runTargetCols, strings.Join(where, " AND "), a.add(limit+1))
	rows, err := db.r.QueryContext(ctx, q, a...)
	if err != nil {
		return store.RunPage{}, wrap(err, "list runs")
	}
	defer rows.Close()
	var page store.RunPage
	for rows.Next() {
		var (
			r runlet.Run
			e runlet.Execution
		)
		err := rows.Scan(&r.ID, &r.Job, &r.Client, timeCol{&r.Created},
			&e.Workspace, &e.ID, &e.Device, &e.Job, &e.Client, &e.Status,
			timeCol{&e.Created}, timeCol{&e.Scheduled}, timeCol{&e.Started}, timeCol{&e.Finished}, timeCol{&e.Expires},
			&e.ExitCode, &e.Signal, &e.Killed, &e.Reason)
		if err != nil {
			return store.RunPage{}, wrap(err, "list runs")
		}
		if n := len(page.Runs); n == 0 || page.Runs[n-1].ID != r.ID {
			page.Runs = append(page.Runs, r)
		}
		last := &page.Runs[len(page.Runs)-1]
		last.Targets = append(last.Targets, e)
	}
	if err := rows.Err(); err != nil {
		return store.RunPage{}, wrap(err, "list runs")
	}
	if len(page.Runs) > limit {
		page.Runs = page.Runs[:limit]
		page.Next = page.Runs[limit-1].Cursor()
	}
	return page, nil
}

// timeLayout is how a message shows a time.
const timeLayout = "2006-01-02 15:04:05 MST"

// outcomeSQL is the condition that the target o has outcome out, as
// runlet.Execution.Outcome decides it: the status, except that an Error
// asked to stop (killed) whose reason starts with one of
// runlet.RequestReasons is Stopped or Killed. The reasons come from there,
// and the contract suite checks that both agree.
func outcomeSQL(out runlet.Outcome, a *params) string {
	onRequest := func(outs ...runlet.Outcome) string {
		var ors []string
		for _, o := range outs {
			for _, r := range runlet.RequestReasons(o) {
				ors = append(ors, fmt.Sprintf("substr(o.reason, 1, %s) = %s", a.add(utf8.RuneCountInString(r)), a.add(r)))
			}
		}
		return "o.killed = TRUE AND (" + strings.Join(ors, " OR ") + ")"
	}
	switch out {
	case runlet.OutcomeStopped, runlet.OutcomeKilled:
		return "o.status = 'Error' AND " + onRequest(out)
	case runlet.OutcomeError:
		return "o.status = 'Error' AND NOT (" + onRequest(runlet.OutcomeStopped, runlet.OutcomeKilled) + ")"
	}
	return "o.status = " + a.add(string(out))
}
