package storetest

import (
	"cmp"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
)

// runIDs lists the runs of f in ws, every page of limit, and returns their
// IDs in order.
func (e *env) runIDs(t *testing.T, ws string, f store.RunFilter) []string {
	t.Helper()
	out := []string{}
	for range 1000 {
		page, err := e.ListRuns(e.ctx, ws, f)
		ok(t, err)
		for _, r := range page.Runs {
			out = append(out, r.ID)
		}
		if page.Next.IsZero() {
			return out
		}
		f.After = page.Next
	}
	t.Fatalf("ListRuns never reached the last page of %+v", f)
	return nil
}

// testRuns checks ListRuns: one run per ID with its targets, newest first,
// and each filter.
func testRuns(t *testing.T, e *env) {
	ws, other := e.workspace(t, "default"), e.workspace(t, "other")
	start := e.clock.Now()
	fan := func(job, client string, devices ...string) string {
		t.Helper()
		e.clock.Advance(time.Minute)
		id := store.NewID()
		var xs []*runlet.Execution
		for _, d := range devices {
			x := run(ws.ID, id, job, d)
			x.Client = client
			xs = append(xs, x)
		}
		ok(t, e.CreateExecutions(e.ctx, xs))
		return id
	}
	deploy := fan("deploy", "ada@example.com", "pi-2", "pi-1")
	backup := fan("backup", "scheduler", "pi-1")
	build := fan("build", "mac", "mac", "pi-2")
	// A target added to a run later belongs to it and keeps its place.
	e.clock.Advance(time.Minute)
	ok(t, e.CreateExecution(e.ctx, run(ws.ID, backup, "backup", "pi-3")))
	// The other workspace's runs, one with the same ID, are not listed.
	ok(t, e.CreateExecution(e.ctx, run(other.ID, deploy, "deploy", "pi-9")))
	ok(t, e.CreateExecution(e.ctx, run(other.ID, "", "deploy", "pi-1")))

	page, err := e.ListRuns(e.ctx, ws.ID, store.RunFilter{})
	ok(t, err)
	if !page.Next.IsZero() || len(page.Runs) != 3 {
		t.Fatalf("all runs: %d and next %+v, want 3 and no next page", len(page.Runs), page.Next)
	}
	got := page.Runs[2]
	if got.ID != deploy || got.Job != "deploy" || got.Client != "ada@example.com" || !got.Created.Equal(start.Add(time.Minute)) {
		t.Fatalf("the oldest run: %+v", got)
	}
	want, err := e.ExecutionTargets(e.ctx, ws.ID, deploy)
	ok(t, err)
	equal(t, "the targets of the oldest run, by device", got.Targets, want)
	devices := func(r runlet.Run) []string {
		var out []string
		for _, x := range r.Targets {
			out = append(out, x.Device)
		}
		return out
	}
	equal(t, "the targets of the backup", devices(page.Runs[1]), []string{"pi-1", "pi-3"})

	list := func(f store.RunFilter) []string { t.Helper(); return e.runIDs(t, ws.ID, f) }
	equal(t, "newest first", list(store.RunFilter{}), []string{build, backup, deploy})
	equal(t, "job", list(store.RunFilter{Job: "backup"}), []string{backup})
	equal(t, "client", list(store.RunFilter{Client: "ada@example.com"}), []string{deploy})
	equal(t, "client scheduler", list(store.RunFilter{Client: "scheduler"}), []string{backup})
	equal(t, "unknown client", list(store.RunFilter{Client: "bob@example.com"}), []string{})
	equal(t, "device", list(store.RunFilter{Device: "pi-2"}), []string{build, deploy})
	equal(t, "a device added later", list(store.RunFilter{Device: "pi-3"}), []string{backup})
	equal(t, "another workspace's device", list(store.RunFilter{Device: "pi-9"}), []string{})
	equal(t, "job and device", list(store.RunFilter{Job: "deploy", Device: "pi-1"}), []string{deploy})
	equal(t, "job and another's device", list(store.RunFilter{Job: "deploy", Device: "mac"}), []string{})
	from, to := start.Add(2*time.Minute), start.Add(3*time.Minute)
	equal(t, "from, inclusive", list(store.RunFilter{From: from}), []string{build, backup})
	equal(t, "to, exclusive", list(store.RunFilter{To: to}), []string{backup, deploy})
	equal(t, "from and to", list(store.RunFilter{From: from, To: to}), []string{backup})
	equal(t, "a page of one", list(store.RunFilter{Limit: 1}), []string{build, backup, deploy})

	// A filter on the device lists the run with all its targets.
	page, err = e.ListRuns(e.ctx, ws.ID, store.RunFilter{Device: "pi-1", Job: "deploy"})
	ok(t, err)
	equal(t, "the targets of a run found by device", devices(page.Runs[0]), []string{"pi-1", "pi-2"})

	page, err = e.ListRuns(e.ctx, other.ID, store.RunFilter{})
	ok(t, err)
	equal(t, "the other workspace's runs", len(page.Runs), 2)
	if slices.ContainsFunc(page.Runs, func(r runlet.Run) bool { return r.ID == deploy && len(r.Targets) != 1 }) {
		t.Fatalf("the other workspace's run of the same ID has this workspace's targets: %+v", page.Runs)
	}

	for _, bad := range []store.RunFilter{
		{Limit: -1},
		{Outcome: "Done"},
		{Outcome: "finished"},
		{From: to, To: from},
		{From: from, To: from},
	} {
		_, err := e.ListRuns(e.ctx, ws.ID, bad)
		code(t, err, runlet.EINVALID)
	}
}

// testRunOutcomes checks that ListRuns selects by outcome exactly as
// runlet.Execution.Outcome reads it, and lists a run when any of its
// targets has the outcome.
func testRunOutcomes(t *testing.T, e *env) {
	ws := e.workspace(t, "default")
	type end struct {
		killed bool // a stop or kill asked first
		u      store.StatusUpdate
	}
	ends := map[string]*end{
		"pending":                  nil,
		"running":                  {u: store.StatusUpdate{Status: runlet.StatusRunning}},
		"finished":                 {u: store.StatusUpdate{Status: runlet.StatusFinished}},
		"failed":                   {u: store.StatusUpdate{Status: runlet.StatusFinished, ExitCode: 3}},
		"finished before the stop": {killed: true, u: store.StatusUpdate{Status: runlet.StatusFinished}},
		"error":                    {u: store.StatusUpdate{Status: runlet.StatusError, Reason: "cannot start: no such directory"}},
		"stopped":                  {killed: true, u: store.StatusUpdate{Status: runlet.StatusError, Signal: "SIGTERM", Reason: runlet.ReasonStopped + " (SIGTERM)"}},
		"stopped after the grace":  {killed: true, u: store.StatusUpdate{Status: runlet.StatusError, Signal: "SIGKILL", Reason: runlet.ReasonStopped + " (SIGKILL)"}},
		"killed":                   {killed: true, u: store.StatusUpdate{Status: runlet.StatusError, Signal: "SIGKILL", Reason: runlet.ReasonKilled + " (SIGKILL)"}},
		"stopped in the queue":     {killed: true, u: store.StatusUpdate{Status: runlet.StatusError, ExitCode: -1, Reason: runlet.ReasonStoppedBeforeStart}},
		"killed in the queue":      {killed: true, u: store.StatusUpdate{Status: runlet.StatusError, ExitCode: -1, Reason: runlet.ReasonKilledBeforeStart}},
		"asked, then expired":      {killed: true, u: store.StatusUpdate{Status: runlet.StatusError, Reason: "expired: no device started it before its expiry"}},
		"the reason, not asked":    {u: store.StatusUpdate{Status: runlet.StatusError, Reason: runlet.ReasonKilled + " (SIGKILL)"}},
		"a reason that only looks": {killed: true, u: store.StatusUpdate{Status: runlet.StatusError, Reason: "KILLED ON REQUEST"}},
	}
	want := map[runlet.Outcome][]string{}
	var all []runlet.Execution
	for name, end := range ends {
		x := run(ws.ID, "", name, "pi-1")
		ok(t, e.CreateExecution(e.ctx, x))
		if end != nil {
			if end.killed {
				_, err := e.MarkExecutionKilled(e.ctx, ws.ID, x.ID, "pi-1")
				ok(t, err)
			}
			_, _, err := e.UpdateExecutionStatus(e.ctx, ws.ID, x.ID, "pi-1", end.u)
			ok(t, err)
		}
		got, err := e.Execution(e.ctx, ws.ID, x.ID, "pi-1")
		ok(t, err)
		all = append(all, got)
	}
	// A fan-out with one target killed and one finished is listed under
	// both.
	id := store.NewID()
	ok(t, e.CreateExecutions(e.ctx, []*runlet.Execution{run(ws.ID, id, "mixed", "pi-1"), run(ws.ID, id, "mixed", "pi-2")}))
	_, _, err := e.UpdateExecutionStatus(e.ctx, ws.ID, id, "pi-1", store.StatusUpdate{Status: runlet.StatusFinished})
	ok(t, err)
	_, err = e.MarkExecutionKilled(e.ctx, ws.ID, id, "pi-2")
	ok(t, err)
	_, _, err = e.UpdateExecutionStatus(e.ctx, ws.ID, id, "pi-2", store.StatusUpdate{Status: runlet.StatusError, Reason: runlet.ReasonKilledBeforeStart})
	ok(t, err)
	targets, err := e.ExecutionTargets(e.ctx, ws.ID, id)
	ok(t, err)
	all = append(all, targets...)

	for _, x := range all {
		if !slices.Contains(want[x.Outcome()], x.ID) {
			want[x.Outcome()] = append(want[x.Outcome()], x.ID)
		}
	}
	for _, o := range runlet.Outcomes {
		got := e.runIDs(t, ws.ID, store.RunFilter{Outcome: o})
		slices.Sort(got)
		slices.Sort(want[o])
		if want[o] == nil {
			want[o] = []string{}
		}
		equal(t, fmt.Sprintf("the runs with a target %s", o), got, want[o])
	}
	if len(want[runlet.OutcomeKilled]) != 3 || len(want[runlet.OutcomeStopped]) != 3 || len(want[runlet.OutcomeError]) != 4 {
		t.Fatalf("the cases do not cover the outcomes as meant: %v", want)
	}
}

// testRunPagesWhileInserting pages through the runs while others are
// added: every run there at the start is listed once, in order, none
// twice, whatever is added between pages (an offset would list the last
// run of a page again at the top of the next one).
func testRunPagesWhileInserting(t *testing.T, e *env) {
	ws := e.workspace(t, "default")
	add := func(job string) string {
		t.Helper()
		x := run(ws.ID, "", job, "pi-1")
		ok(t, e.CreateExecution(e.ctx, x))
		return x.ID
	}
	var before []string
	for i := range 10 {
		if i%3 == 0 { // runs that share a created time: the ID orders them
			e.clock.Advance(time.Second)
		}
		before = append(before, add("old"))
	}
	// Newest first: by created, then by ID, both descending.
	byTime := map[string]time.Time{}
	page, err := e.ListRuns(e.ctx, ws.ID, store.RunFilter{Limit: store.MaxLimit})
	ok(t, err)
	for _, r := range page.Runs {
		byTime[r.ID] = r.Created
	}
	slices.SortFunc(before, func(a, b string) int {
		if c := byTime[b].Compare(byTime[a]); c != 0 {
			return c
		}
		return cmp.Compare(b, a)
	})

	// One page at a time, with two new runs between pages.
	var seen []string
	f := store.RunFilter{Limit: 3}
	for range 100 {
		page, err := e.ListRuns(e.ctx, ws.ID, f)
		ok(t, err)
		for _, r := range page.Runs {
			seen = append(seen, r.ID)
		}
		if page.Next.IsZero() {
			break
		}
		f.After = page.Next
		add("new")
		e.clock.Advance(time.Millisecond)
		add("new")
	}
	equal(t, "the runs paged through while runs were added", seen, before)

	// Concurrently: a writer adds runs as fast as it can while a reader
	// pages, waiting before each page for one more run; the reader lists
	// what was there, each once, in order.
	stop, added := make(chan struct{}), make(chan struct{}, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			e.clock.Advance(time.Microsecond)
			x := run(ws.ID, "", "racing", "pi-2")
			if err := e.CreateExecution(e.ctx, x); err != nil {
				t.Errorf("add a run while paging: %v", err)
				close(added)
				return
			}
			select {
			case added <- struct{}{}:
			default:
			}
		}
	}()
	f = store.RunFilter{Limit: 2, Job: "old"}
	seen = nil
	for range 100 {
		<-added
		page, err := e.ListRuns(e.ctx, ws.ID, f)
		if err != nil {
			close(stop)
			wg.Wait()
			t.Fatal(err)
		}
		for _, r := range page.Runs {
			seen = append(seen, r.ID)
		}
		if page.Next.IsZero() {
			break
		}
		f.After = page.Next
	}
	close(stop)
	wg.Wait()
	equal(t, "the runs paged through while a writer added more", seen, before)
}
