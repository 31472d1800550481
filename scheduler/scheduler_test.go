package scheduler_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/dispatch"
	"github.com/runlet/runlet/scheduler"
)

// walk sets the clock to each instant of points in order and runs a pass
// of the servers there.
func walk(t *testing.T, e *env, points []time.Time, servers ...*server) {
	t.Helper()
	slices.SortFunc(points, time.Time.Compare)
	points = slices.CompactFunc(points, time.Time.Equal)
	for _, p := range points {
		e.clock.Set(p)
		mustStep(t, servers...)
	}
}

// wantRuns checks that job ran once at each of want (in any order of
// writing), on devices, each found within poll of its tick.
func wantRuns(t *testing.T, e *env, job string, devices []string, want ...time.Time) {
	t.Helper()
	runs := e.runs(t, job)
	slices.SortFunc(want, time.Time.Compare)
	if got := scheduledAt(runs); !slices.EqualFunc(got, want, time.Time.Equal) {
		t.Fatalf("%s ran for %d ticks %v;\nwant %d: %v", job, len(got), got, len(want), want)
	}
	for _, r := range runs {
		if !slices.Equal(r.devices, devices) {
			t.Errorf("%s's run for %v went to %v, want %v", job, r.scheduled, r.devices, devices)
		}
		if late := r.created.Sub(r.scheduled); late < 0 || late > poll {
			t.Errorf("%s's run for %v started at %v: %v after its tick", job, r.scheduled, r.created, late)
		}
	}
}

const weekJobs = `weekday-report:
  script: ./report.sh
  where: all
  every: "0 8 * * 1-5"
  expires: 30d
six-hourly:
  script: uptime
  where: custom
  whereCustom: [pi]
  every: 6h
  expires: 30d
standup:
  script: echo standup
  where: all
  every: every monday at 9:30
  expires: 30d
nightly:
  script: ./backup.sh
  where: custom
  whereCustom: [mac]
  every: every day at 02:30
  expires: 30d
seven-hourly:
  script: date
  where: custom
  whereCustom: [pi]
  every: every 7 hours
  expires: 30d
by-hand: echo only when asked
`

// TestWeekOfSchedules runs a cron line, intervals and phrases over a
// simulated week: each fires at its instants, once, and nothing else runs.
// The clock stops a second before and half a second after every expected
// tick, and at each hour between.
func TestWeekOfSchedules(t *testing.T) {
	monday := nextMonday()
	day := func(i, hour, minute int) time.Time {
		return time.Date(monday.Year(), monday.Month(), monday.Day()+i, hour, minute, 0, 0, time.Local)
	}
	start := day(-1, 12, 0) // Sunday noon: the job set is saved
	end := start.AddDate(0, 0, 7)
	e := newEnv(t, sqliteFile(t), start, weekJobs)
	s := e.server(t, scheduler.Config{}, nil)

	want := map[string][]time.Time{}
	for i := range 5 {
		want["weekday-report"] = append(want["weekday-report"], day(i, 8, 0))
	}
	want["standup"] = []time.Time{day(0, 9, 30)}
	for i := range 7 {
		want["nightly"] = append(want["nightly"], day(i, 2, 30))
	}
	for k := time.Duration(1); start.Add(k*6*time.Hour).Compare(end) <= 0; k++ {
		want["six-hourly"] = append(want["six-hourly"], start.Add(k*6*time.Hour))
	}
	for k := time.Duration(1); start.Add(k*7*time.Hour).Compare(end) <= 0; k++ {
		want["seven-hourly"] = append(want["seven-hourly"], start.Add(k*7*time.Hour))
	}
	if len(want["six-hourly"]) != 28 || len(want["seven-hourly"]) != 24 {
		t.Fatalf("the week has %d six-hourly and %d seven-hourly ticks, want 28 and 24", len(want["six-hourly"]), len(want["seven-hourly"]))
	}

	var points []time.Time
	for _, ticks := range want {
		for _, tk := range ticks {
			points = append(points, tk.Add(-time.Second), tk.Add(poll/2))
		}
	}
	for h := start; h.Before(end); h = h.Add(time.Hour) {
		points = append(points, h.Add(17*time.Minute))
	}
	walk(t, e, points, s)

	devices := map[string][]string{"weekday-report": {"mac", "pi"}, "standup": {"mac", "pi"}, "nightly": {"mac"}, "six-hourly": {"pi"}, "seven-hourly": {"pi"}}
	for _, job := range slices.Sorted(maps.Keys(want)) {
		wantRuns(t, e, job, devices[job], want[job]...)
	}
	wantRuns(t, e, "by-hand", nil)
}

const downtimeJobs = `every-minute:
  script: date
  where: all
  every: "* * * * *"
  expires: 30d
every-minute-none:
  script: date
  where: all
  every: every 1 minute
  catchup: none
  expires: 30d
`

// TestDowntimeRunsOneMissedTick: a scheduler down for 3 hours runs an
// every-minute job once for the 180 ticks it missed, the latest, and a job
// with catchup: none not at all; both run again at their next tick.
func TestDowntimeRunsOneMissedTick(t *testing.T) {
	at := func(hour, minute, second int, ms int) time.Time {
		m := nextMonday()
		return time.Date(m.Year(), m.Month(), m.Day(), hour, minute, second, ms*1e6, time.Local)
	}
	e := newEnv(t, sqliteFile(t), at(10, 0, 0, 0), downtimeJobs)
	before := e.server(t, scheduler.Config{}, nil)
	walk(t, e, []time.Time{at(10, 0, 30, 0), at(10, 1, 0, 500)}, before)
	before.sched.Close() // the server stops

	after := e.server(t, scheduler.Config{}, nil) // 3 hours later, another starts
	walk(t, e, []time.Time{at(13, 1, 40, 0), at(13, 1, 50, 0)}, after)
	if n := len(e.runs(t, "every-minute")); n != 2 {
		t.Fatalf("every-minute ran %d times by 13:01:50, want 2: one before, one for the 180 missed ticks", n)
	}
	skipped := e.lastTick(t, "every-minute-none")
	if skipped.State != runlet.TickSkipped || !skipped.At.Equal(at(13, 1, 0, 0)) || !strings.Contains(skipped.Reason, "catchup: none") {
		t.Errorf("the last tick of every-minute-none is %+v, want the 13:01 tick skipped for catchup: none", skipped)
	}
	walk(t, e, []time.Time{at(13, 2, 0, 500)}, after)

	// The catch-up ran 40 s after its tick, which wantRuns would not allow.
	wantRunsLate(t, e, "every-minute", at(10, 1, 0, 0), at(13, 1, 0, 0), at(13, 2, 0, 0))
	if runs := e.runs(t, "every-minute"); !runs[1].created.Equal(at(13, 1, 40, 0)) {
		t.Errorf("the 13:01 tick was caught up at %v, want 13:01:40, when the scheduler came back", runs[1].created)
	}
	wantRuns(t, e, "every-minute-none", []string{"mac", "pi"}, at(10, 1, 0, 0), at(13, 2, 0, 0))
}

// TestChangesTakeEffectAtTheNextTick: a changed schedule runs at its own
// next tick (no catch-up of a time passed today), a deleted job no more,
// and saving the file for another job's sake does not move an interval.
func TestChangesTakeEffectAtTheNextTick(t *testing.T) {
	at := func(hour, minute int) time.Time {
		m := nextMonday()
		return time.Date(m.Year(), m.Month(), m.Day(), hour, minute, 0, 0, time.Local)
	}
	const v1 = `daily:
  script: date
  where: all
  every: every day at 08:00
quarter:
  script: date
  where: custom
  whereCustom: [pi]
  every: 15m
gone:
  script: date
  where: custom
  whereCustom: [pi]
  every: 5m
`
	e := newEnv(t, sqliteFile(t), at(7, 0), v1)
	s := e.server(t, scheduler.Config{}, nil)
	every5 := func(from, to time.Time) []time.Time {
		var ps []time.Time
		for p := from; !p.After(to); p = p.Add(5 * time.Minute) {
			ps = append(ps, p.Add(poll/2))
		}
		return ps
	}
	walk(t, e, every5(at(7, 5), at(7, 15)), s)
	e.clock.Set(at(7, 20))
	e.save(t, strings.Replace(strings.Replace(v1, "every day at 08:00", "every day at 09:00", 1),
		"gone:\n  script: date\n  where: custom\n  whereCustom: [pi]\n  every: 5m\n", "other: echo a job without a schedule\n", 1))
	walk(t, e, every5(at(7, 20), at(9, 0)), s)
	e.clock.Set(at(9, 5))
	e.save(t, strings.Replace(strings.Replace(v1, "every day at 08:00", "every day at 09:00", 1), "every: 15m", "every: 1h", 1))
	walk(t, e, every5(at(9, 5), at(10, 10)), s)

	wantRuns(t, e, "daily", []string{"mac", "pi"}, at(9, 0))
	var quarters []time.Time
	for p := at(7, 15); !p.After(at(9, 0)); p = p.Add(15 * time.Minute) {
		quarters = append(quarters, p)
	}
	wantRuns(t, e, "quarter", []string{"pi"}, append(quarters, at(10, 5))...)
	// gone ran until it was deleted, and came back with the last save, at
	// its own next tick after it.
	wantRuns(t, e, "gone", []string{"pi"}, at(7, 5), at(7, 10), at(7, 15), at(9, 10), at(9, 15), at(9, 20), at(9, 25), at(9, 30),
		at(9, 35), at(9, 40), at(9, 45), at(9, 50), at(9, 55), at(10, 0), at(10, 5), at(10, 10))
}

// flaky is a dispatch service whose Run fails as if the store were down
// while fail says so.
type flaky struct {
	scheduler.Dispatch
	fail func(req dispatch.Request) bool
	runs []dispatch.Request // every Run asked for, failed or not
}

func (f *flaky) Run(ctx context.Context, req dispatch.Request) (dispatch.Run, error) {
	f.runs = append(f.runs, req)
	if f.fail(req) {
		return dispatch.Run{}, errors.New("database is locked")
	}
	return f.Dispatch.Run(ctx, req)
}

// TestFailedTicks: a run that cannot start as the job stands fails its
// tick with the reason; one that fails for a passing cause is tried again
// with the same execution until the job's next tick, then fails its tick.
func TestFailedTicks(t *testing.T) {
	at := func(hour, minute, second int) time.Time {
		m := nextMonday()
		return time.Date(m.Year(), m.Month(), m.Day(), hour, minute, second, 0, time.Local)
	}
	const jobs = `needs-arg:
  script: echo {{ index .Args 1 }}
  where: all
  every: "0 * * * *"
here:
  script: hostname
  every: "0 * * * *"
flaky:
  script: date
  where: all
  every: "0 * * * *"
`
	e := newEnv(t, sqliteFile(t), at(7, 30, 0), jobs)
	down := true
	f := &flaky{fail: func(req dispatch.Request) bool { return req.Job == "flaky" && down }}
	s := e.server(t, scheduler.Config{}, func(d scheduler.Dispatch) scheduler.Dispatch { f.Dispatch = d; return f })

	e.clock.Set(at(8, 0, 0))
	err := s.sched.Step(e.ctx)
	if err == nil || !strings.Contains(err.Error(), "database is locked") {
		t.Fatalf("a pass whose run failed: %v, want the cause", err)
	}
	for job, reason := range map[string]string{"needs-arg": "needs argument 1", "here": "scheduler is not a device"} {
		tk := e.lastTick(t, job)
		if tk.State != runlet.TickFailed || !strings.Contains(tk.Reason, reason) {
			t.Errorf("the tick of %s: %+v, want failed saying %q", job, tk, reason)
		}
	}
	claimed := e.lastTick(t, "flaky")
	if claimed.State != runlet.TickClaimed {
		t.Fatalf("the tick of flaky after a failed run: %+v, want it still claimed", claimed)
	}
	down = false
	e.clock.Set(at(8, 0, 1))
	mustStep(t, s)
	if last := f.runs[len(f.runs)-1]; last.Execution != claimed.Execution || !last.Scheduled.Equal(at(8, 0, 0)) {
		t.Errorf("the retry asked for %+v, want execution %s of the 08:00 tick", last, claimed.Execution)
	}
	if tk := e.lastTick(t, "flaky"); tk.State != runlet.TickStarted {
		t.Errorf("the tick of flaky after the retry: %+v, want started", tk)
	}

	down = true
	e.clock.Set(at(9, 0, 0))
	step(s)
	e.clock.Set(at(10, 0, 0)) // still down at the next tick: 09:00 fails
	if err := s.sched.Step(e.ctx); err == nil {
		t.Fatal("a pass whose run failed again returned no error")
	}
	if tk := e.lastTick(t, "flaky"); !tk.At.Equal(at(9, 0, 0)) || tk.State != runlet.TickFailed || !strings.Contains(tk.Reason, "not started before the next tick: database is locked") {
		t.Errorf("the 09:00 tick of flaky: %+v, want failed as not started before the next tick", tk)
	}
	down = false
	e.clock.Set(at(10, 0, 1))
	mustStep(t, s)
	wantRunsLate(t, e, "flaky", at(8, 0, 0), at(10, 0, 0))

	scheds, err := s.sched.Schedules(e.ctx, e.ws)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]runlet.ScheduledJob{}
	for _, sj := range scheds {
		got[sj.Job] = sj
	}
	if sj := got["flaky"]; sj.Last == nil || sj.Last.State != runlet.TickStarted || sj.Results[runlet.OutcomePending] != 2 || !sj.Next.Equal(at(11, 0, 0)) {
		t.Errorf("flaky's schedule %+v, want its 10:00 run Pending on 2 devices and next at 11:00", sj)
	}
	if sj := got["here"]; sj.Last == nil || sj.Last.State != runlet.TickFailed || sj.Results != nil || sj.Catchup != "one" {
		t.Errorf("here's schedule %+v, want its last tick failed, no results, catchup one", sj)
	}
}

// wantRunsLate is wantRuns for runs that may start late, on mac and pi.
func wantRunsLate(t *testing.T, e *env, job string, want ...time.Time) {
	t.Helper()
	if got := scheduledAt(e.runs(t, job)); !slices.EqualFunc(got, want, time.Time.Equal) {
		t.Fatalf("%s ran for ticks %v, want %v", job, got, want)
	}
}

// TestBrokenJobSetIsToldOnce: a stored job set that no longer parses
// stops its workspace's schedules, and the pass says so once, not every
// poll; the other workspaces go on.
func TestBrokenJobSetIsToldOnce(t *testing.T) {
	start := nextMonday().Add(7 * time.Hour)
	e := newEnv(t, sqliteFile(t), start, "hourly:\n  script: date\n  where: all\n  every: '0 * * * *'\n")
	other := &runlet.Workspace{Name: "other"}
	if err := e.db.CreateWorkspace(e.ctx, other); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.PutJobs(e.ctx, other.ID, []byte("a: [broken\n"), 0); err != nil {
		t.Fatal(err)
	}
	s := e.server(t, scheduler.Config{}, nil)
	e.clock.Set(start.Add(time.Hour))
	err := s.sched.Step(e.ctx)
	if err == nil || !strings.Contains(err.Error(), "workspace other") || !strings.Contains(err.Error(), "no longer parses") {
		t.Fatalf("a pass over a broken job set: %v, want it named", err)
	}
	if n := len(e.runs(t, "hourly")); n != 1 {
		t.Errorf("the sound workspace ran %d times, want 1", n)
	}
	if err := s.sched.Step(e.ctx); err != nil {
		t.Errorf("the same broken job set was told again: %v", err)
	}
}

// TestLeaseHeldByAnother: a scheduler runs nothing while another holds the
// lease, and takes over once it expires.
func TestLeaseHeldByAnother(t *testing.T) {
	start := nextMonday().Add(7 * time.Hour)
	e := newEnv(t, sqliteFile(t), start, "hourly:\n  script: date\n  where: all\n  every: '0 * * * *'\n")
	if _, held, err := e.db.AcquireLease(e.ctx, scheduler.DefaultLease, "elsewhere", 90*time.Minute); err != nil || !held {
		t.Fatalf("AcquireLease: %v, %v", held, err)
	}
	s := e.server(t, scheduler.Config{}, nil)
	walk(t, e, []time.Time{start.Add(time.Hour + poll/2)}, s)
	if n := len(e.runs(t, "hourly")); n != 0 {
		t.Fatalf("ran %d times under another's lease", n)
	}
	walk(t, e, []time.Time{start.Add(2*time.Hour + poll/2)}, s)
	wantRuns(t, e, "hourly", []string{"mac", "pi"}, start.Add(2*time.Hour))
	if l, err := e.db.Lease(e.ctx, scheduler.DefaultLease); err != nil || l.Holder != s.sched.Holder() {
		t.Errorf("the lease %+v (%v), want it held by %s", l, err, s.sched.Holder())
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	e := newEnv(t, sqliteFile(t), nextMonday(), "")
	d := e.server(t, scheduler.Config{}, nil)
	for _, tc := range []struct {
		cfg  scheduler.Config
		want string
	}{
		{scheduler.Config{Dispatch: &flaky{}}, "a store and the dispatch service are required"},
		{scheduler.Config{Store: d.db}, "a store and the dispatch service are required"},
		{scheduler.Config{Store: d.db, Dispatch: &flaky{}, Poll: time.Second, LeaseTTL: 2 * time.Second}, "must last more than two polls"},
	} {
		if _, err := scheduler.New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want %q", tc.cfg, err, tc.want)
		}
	}
}
