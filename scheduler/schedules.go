package scheduler

import (
	"context"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/jobspec"
)

// Schedules returns the workspace's jobs that have a schedule, in the
// order of the job file, each with its next tick and its last one with
// the outcomes of its run. Any server answers it, leader or not.
// EINVALID: the stored job set no longer parses. ENOTFOUND: no such
// workspace.
func (s *Service) Schedules(ctx context.Context, ws string) ([]runlet.ScheduledJob, error) {
	f, _, err := s.cfg.Dispatch.Jobs(ctx, ws)
	if err != nil {
		return nil, err
	}
	last, err := s.lastTicks(ctx, ws)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := []runlet.ScheduledJob{}
	for _, j := range f.Jobs {
		if j.Schedule == nil {
			continue
		}
		sj := runlet.ScheduledJob{Job: j.Name, Every: j.Every, Catchup: string(catchup(j))}
		if next := planJob(j, last[j.Name], now, s.cfg.Grace).next; !next.IsZero() {
			sj.Next = next.UTC()
		}
		if l := last[j.Name]; l != nil {
			t := *l
			sj.Last = &t
			if sj.Results, err = s.results(ctx, t); err != nil {
				return nil, err
			}
		}
		out = append(out, sj)
	}
	return out, nil
}

// results counts the targets of t's run by outcome; nil when it started
// none (or they are gone).
func (s *Service) results(ctx context.Context, t runlet.Tick) (map[runlet.Outcome]int, error) {
	if t.State != runlet.TickStarted {
		return nil, nil
	}
	es, err := s.db.ExecutionTargets(ctx, t.Workspace, t.Execution)
	if runlet.ErrorCode(err) == runlet.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	m := map[runlet.Outcome]int{}
	for _, e := range es {
		m[e.Outcome()]++
	}
	return m, nil
}

// catchup is the job's catch-up rule, CatchupOne unless it says none.
func catchup(j *jobspec.Job) jobspec.Catchup {
	if j.Catchup == jobspec.CatchupNone {
		return jobspec.CatchupNone
	}
	return jobspec.CatchupOne
}
