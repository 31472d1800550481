package server_test

import (
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/cmd/assemble"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/scheduler"
)

// TestSchedules: the server schedules its jobs (R-JOB-7) and GET
// /schedules shows each scheduled job's next run and last run with its
// result; the runs appear in the activity as the scheduler's.
func TestSchedules(t *testing.T) {
	s := startServer(t, func(c *assemble.Config) {
		c.SchedulePoll, c.ScheduleLease = 20*time.Millisecond, time.Second
	})
	ctx := ctxT(t)
	cl := apiclient.New(s.URL(), s.enroll(t, "pi-1").Token)
	const jobs = `tick:
  script: date
  where: custom
  whereCustom: [pi-1]
  every: 1s
nightly:
  script: ./backup.sh
  where: all
  every: every day at 02:30
  catchup: none
by-hand: echo only when asked
`
	if _, err := cl.PutJobs(ctx, []byte(jobs), apiclient.NoVersion); err != nil {
		t.Fatal(err)
	}
	var got []runlet.ScheduledJob
	testenv.Eventually(t, "the first tick of job tick", 30*time.Second, func() bool {
		var err error
		if got, err = cl.Schedules(ctx); err != nil {
			t.Fatal(err)
		}
		return len(got) == 2 && got[0].Last != nil && got[0].Last.State == runlet.TickStarted
	})
	tick, nightly := got[0], got[1]
	if tick.Job != "tick" || tick.Every != "1s" || tick.Catchup != "one" || tick.Next.IsZero() || tick.Last.Execution == "" {
		t.Errorf("the schedule of tick: %+v", tick)
	}
	if n := tick.Results[runlet.OutcomePending] + tick.Results[runlet.OutcomeRunning]; n != 1 {
		t.Errorf("the last run of tick has results %v, want one target Pending (no daemon runs it)", tick.Results)
	}
	now := time.Now()
	want := time.Date(now.Year(), now.Month(), now.Day(), 2, 30, 0, 0, time.Local)
	if !want.After(now) {
		want = want.AddDate(0, 0, 1)
	}
	if nightly.Job != "nightly" || nightly.Catchup != "none" || nightly.Last != nil || !nightly.Next.Equal(want) {
		t.Errorf("the schedule of nightly: %+v, want next %v, catchup none, no run yet", nightly, want)
	}
	runs, err := cl.Executions(ctx, api.ExecutionFilter{Job: "tick"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		if r.Client != scheduler.Client {
			t.Errorf("execution %s of tick has client %q, want %q", r.ID, r.Client, scheduler.Client)
		}
	}
	if len(runs) == 0 {
		t.Error("the activity has no run of tick")
	}
}
