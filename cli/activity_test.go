package cli_test

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/store"
)

// activityTargets reads what `runlet activity --json` printed and returns
// the targets of its runs, newest run first.
func activityTargets(out string) ([]api.Execution, error) {
	var page api.Runs
	if err := json.Unmarshal([]byte(out), &page); err != nil {
		return nil, err
	}
	var execs []api.Execution
	for _, r := range page.Runs {
		execs = append(execs, r.Targets...)
	}
	return execs, nil
}

// activityFleet is a server with three runs of one workspace, made in its
// store: today's deploy by ada on pi-1 (finished) and pi-2 (killed), the
// scheduler's backup three days ago on pi-1 (exit 3), and mac's build ten
// days ago (an error by a signal); and one run of another workspace.
type activityFleet struct {
	*fleet
	home, workspace       string
	deploy, backup, build string
}

func startActivityFleet(t *testing.T) *activityFleet {
	t.Helper()
	f := startFleet(t)
	h := f.signin("mac")
	cred, err := home.Dir(h).Credentials()
	if err != nil {
		t.Fatal(err)
	}
	db, ctx := f.srv.Store, context.Background()
	now := time.Now().Truncate(time.Second)
	put := func(ws, job, client string, created time.Time, ends map[string]store.StatusUpdate) string {
		t.Helper()
		id := store.NewID()
		var xs []*runlet.Execution
		for _, d := range []string{"pi-1", "pi-2", "mac"} {
			if _, ok := ends[d]; ok {
				xs = append(xs, &runlet.Execution{Workspace: ws, ID: id, Job: job, Client: client, Device: d, Created: created})
			}
		}
		if err := db.CreateExecutions(ctx, xs); err != nil {
			t.Fatal(err)
		}
		for d, u := range ends {
			if u.Status == runlet.StatusError && strings.HasPrefix(u.Reason, runlet.ReasonKilled) {
				if _, err := db.MarkExecutionKilled(ctx, ws, id, d); err != nil {
					t.Fatal(err)
				}
			}
			if _, _, err := db.UpdateExecutionStatus(ctx, ws, id, d, store.StatusUpdate{Status: runlet.StatusRunning, Time: created.Add(time.Second)}); err != nil {
				t.Fatal(err)
			}
			u.Time = created.Add(4 * time.Second)
			if _, _, err := db.UpdateExecutionStatus(ctx, ws, id, d, u); err != nil {
				t.Fatal(err)
			}
		}
		return id
	}
	a := &activityFleet{fleet: f, home: h, workspace: cred.Workspace}
	// Today, but never in the future: a minute ago, or just after
	// midnight if the test runs in the day's first minute.
	today := now.Add(-time.Minute)
	if y, m, d := now.Date(); today.Day() != d {
		today = time.Date(y, m, d, 0, 0, 0, 0, time.Local)
	}
	a.deploy = put(cred.Workspace, "deploy", "ada@example.com", today, map[string]store.StatusUpdate{
		"pi-1": {Status: runlet.StatusFinished},
		"pi-2": {Status: runlet.StatusError, Signal: "SIGKILL", Reason: runlet.ReasonKilled + " (SIGKILL)"},
	})
	a.backup = put(cred.Workspace, "backup", "scheduler", now.AddDate(0, 0, -3), map[string]store.StatusUpdate{
		"pi-1": {Status: runlet.StatusFinished, ExitCode: 3},
	})
	a.build = put(cred.Workspace, "build", "mac", now.AddDate(0, 0, -10), map[string]store.StatusUpdate{
		"mac": {Status: runlet.StatusError, Signal: "SIGSEGV", Reason: "ended by SIGSEGV"},
	})
	other := runlet.Workspace{Name: "other"}
	if err := db.CreateWorkspace(ctx, &other); err != nil {
		t.Fatal(err)
	}
	put(other.ID, "deploy", "ada@example.com", now, map[string]store.StatusUpdate{"pi-1": {Status: runlet.StatusFinished}})
	return a
}

// rows returns the table rows of out (without the header), each as the
// run's ID and the whole line.
func rows(t *testing.T, out string) map[string]string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "ID ") || !strings.Contains(lines[0], "DEVICES") {
		t.Fatalf("no table header:\n%s", out)
	}
	m := map[string]string{}
	for _, l := range lines[1:] {
		m[strings.Fields(l)[0]] = l
	}
	return m
}

// TestActivityOneRowPerRun: `runlet activity` shows one row per run with
// its devices and how each ended, the time for today's runs and the date
// for older ones, and never another workspace's runs.
func TestActivityOneRowPerRun(t *testing.T) {
	a := startActivityFleet(t)
	r := runIn(t, a.home, "", "activity")
	if r.code != 0 {
		t.Fatalf("activity: exit %d\n%s%s", r.code, r.out, r.err)
	}
	got := rows(t, r.out)
	if len(got) != 3 {
		t.Fatalf("activity shows %d rows, want 3 (one per run of this workspace):\n%s", len(got), r.out)
	}
	clock, date := regexp.MustCompile(`\b\d\d:\d\d:\d\d\b`), regexp.MustCompile(`\b\d{4}-\d\d-\d\d \d\d:\d\d\b`)
	for _, c := range []struct {
		id       string
		has      []string
		today    bool
		daysBack int
	}{
		{a.deploy, []string{"deploy", "Killed", "ada@example.com", "pi-1 ✓, pi-2 ✗ Killed", "3s"}, true, 0},
		{a.backup, []string{"backup", "Finished", "scheduler", "pi-1 ✗ exit 3"}, false, 3},
		{a.build, []string{"build", "Error", "mac", "mac ✗ Error (SIGSEGV)"}, false, 10},
	} {
		line, ok := got[c.id]
		if !ok {
			t.Errorf("run %s is not listed:\n%s", c.id, r.out)
			continue
		}
		for _, s := range c.has {
			if !strings.Contains(line, s) {
				t.Errorf("the row of %s lacks %q:\n%s", c.id, s, line)
			}
		}
		if c.today && (!clock.MatchString(line) || date.MatchString(line)) {
			t.Errorf("today's run shows more than its time:\n%s", line)
		}
		if want := time.Now().AddDate(0, 0, -c.daysBack).Format("2006-01-02"); !c.today && !strings.Contains(line, want) {
			t.Errorf("the run of %d days ago does not show its date %s:\n%s", c.daysBack, want, line)
		}
	}
	if i, j := strings.Index(r.out, a.deploy), strings.Index(r.out, a.build); i > j {
		t.Errorf("not newest first:\n%s", r.out)
	}

	r = runIn(t, a.home, "", "activity", "--json")
	var page api.Runs
	if err := json.Unmarshal([]byte(r.out), &page); err != nil || len(page.Runs) != 3 || page.Next != "" {
		t.Fatalf("activity --json: %v\n%s", err, r.out)
	}
	if d := page.Runs[0]; d.ID != a.deploy || d.Outcome != runlet.OutcomeKilled || len(d.Targets) != 2 ||
		d.Targets[1].Device != "pi-2" || d.Targets[1].Outcome != runlet.OutcomeKilled || d.Started.IsZero() || d.Finished.IsZero() {
		t.Errorf("the deploy in JSON: %+v", d)
	}
}

// TestActivityFilters: --job, --device, --by, --status, --since and
// --until pick the runs; a filter that matches nothing says so.
func TestActivityFilters(t *testing.T) {
	a := startActivityFleet(t)
	day := func(n int) string { return time.Now().AddDate(0, 0, -n).Format("2006-01-02") }
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"--job", "backup"}, []string{a.backup}},
		{[]string{"--device", "pi-2"}, []string{a.deploy}},
		{[]string{"--device", "pi-1"}, []string{a.deploy, a.backup}},
		{[]string{"--by", "scheduler"}, []string{a.backup}},
		{[]string{"--by", "ada@example.com"}, []string{a.deploy}},
		{[]string{"--status", "Killed"}, []string{a.deploy}},
		{[]string{"--status", "Finished"}, []string{a.deploy, a.backup}},
		{[]string{"--since", "2d"}, []string{a.deploy}},
		{[]string{"--since", "today"}, []string{a.deploy}},
		{[]string{"--until", "48h"}, []string{a.backup, a.build}},
		{[]string{"--since", day(5), "--until", day(2)}, []string{a.backup}},
		{[]string{"--until", day(3)}, []string{a.backup, a.build}}, // a date is taken to its end
		{[]string{"--job", "deploy", "--device", "mac"}, nil},
	} {
		r := runIn(t, a.home, "", append([]string{"activity"}, c.args...)...)
		if r.code != 0 {
			t.Errorf("activity %v: exit %d %s", c.args, r.code, r.err)
			continue
		}
		if c.want == nil {
			if strings.TrimSpace(r.out) != "No runs match these filters." {
				t.Errorf("activity %v printed %q, want a sentence saying nothing matches", c.args, r.out)
			}
			continue
		}
		got := rows(t, r.out)
		ok := len(got) == len(c.want)
		for _, id := range c.want {
			_, in := got[id]
			ok = ok && in
		}
		if !ok {
			t.Errorf("activity %v:\n%s\nwant the runs %v", c.args, r.out, c.want)
		}
	}
}

// TestActivityPages: with --limit, a full page ends with the command of
// the next one, which goes on where it stopped, filters kept, until the
// last page; --json carries the cursor as next.
func TestActivityPages(t *testing.T) {
	a := startActivityFleet(t)
	r := runIn(t, a.home, "", "activity", "--json", "--limit", "2")
	var page api.Runs
	if err := json.Unmarshal([]byte(r.out), &page); err != nil || len(page.Runs) != 2 || page.Next == "" {
		t.Fatalf("activity --json --limit 2: %v\n%s", err, r.out)
	}
	r = runIn(t, a.home, "", "activity", "--json", "--limit", "2", "--more", page.Next)
	page = api.Runs{}
	if err := json.Unmarshal([]byte(r.out), &page); err != nil || len(page.Runs) != 1 || page.Runs[0].ID != a.build || page.Next != "" {
		t.Fatalf("activity --json --more: %v\n%s", err, r.out)
	}
	hint := regexp.MustCompile(`^Older runs: runlet (.*)\n$`)
	args := []string{"activity", "--limit", "1", "--device", "pi-1"}
	var seen []string
	for range 5 {
		r := runIn(t, a.home, "", args...)
		if r.code != 0 {
			t.Fatalf("activity %v: exit %d %s", args, r.code, r.err)
		}
		for id := range rows(t, r.out) {
			seen = append(seen, id)
		}
		m := hint.FindStringSubmatch(r.err)
		if m == nil {
			if r.err != "" {
				t.Errorf("the last page printed %q on stderr", r.err)
			}
			break
		}
		args = strings.Fields(m[1]) // as printed: --home, the filters and --more
		if !strings.Contains(m[1], "--device=pi-1") || !strings.Contains(m[1], "--limit=1") {
			t.Errorf("the next page's command lost the filters: %s", m[1])
		}
		// A run started meanwhile does not shift the pages.
		x := &runlet.Execution{Workspace: a.workspace, Job: "deploy", Client: "mac", Device: "pi-1"}
		if err := a.srv.Store.CreateExecution(context.Background(), x); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Join(seen, " ") != a.deploy+" "+a.backup {
		t.Errorf("paged through %v, want the deploy then the backup", seen)
	}

	r = runIn(t, a.home, "", "activity", "--job", "build", "--more", a.build)
	if r.code != 2 || !strings.Contains(r.err, "cursor") {
		t.Errorf("activity --more with a run's ID: exit %d %q, want 2 and a sentence about the cursor", r.code, r.err)
	}
}

// TestActivityRefusesBadFlags: each bad value exits 2 with a sentence.
func TestActivityRefusesBadFlags(t *testing.T) {
	a := startActivityFleet(t)
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"--since", "soon"}, "--since soon: give a duration back from now such as 90m"},
		{[]string{"--until", "2026-02-30"}, "--until 2026-02-30: give a duration"},
		{[]string{"--since", "-2h"}, "--since -2h: give a duration"},
		{[]string{"--since", "today", "--until", "2d"}, "must come before its end"},
		{[]string{"--status", "Done"}, "Unknown outcome"},
		{[]string{"--limit", "0"}, "--limit 0: give a positive number"},
		{[]string{"--more", "garbage"}, "cursor"},
	} {
		r := runIn(t, a.home, "", append([]string{"activity"}, c.args...)...)
		if r.code != 2 || !strings.Contains(r.err, c.says) || r.out != "" {
			t.Errorf("activity %v: exit %d, out %q, err %q; want 2 and %q", c.args, r.code, r.out, r.err, c.says)
		}
	}
}
