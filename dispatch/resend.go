package dispatch

import (
	"context"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/wire"
)

// Resend queues again the dispatch of each target of exec that is still
// Pending and not asked to stop, rebuilt from its job as the job set
// stands now, and returns how many it queued. It is for a run whose record
// was committed but whose dispatch may never have reached the broker: a
// tick the scheduler takes over from one that stopped between the two. A
// device that did get the first dispatch runs the execution once all the
// same (the daemon knows its executions, and checks the record before it
// starts). Only a job without arguments can be rebuilt, as the scheduler's
// are: the record keeps no arguments.
func (s *Service) Resend(ctx context.Context, ws, exec string) (int, error) {
	ts, err := s.Targets(ctx, ws, exec, "")
	if err != nil {
		return 0, err
	}
	var pending []runlet.Execution
	for _, t := range ts {
		if t.Status == runlet.StatusPending && !t.Killed {
			pending = append(pending, t)
		}
	}
	if len(pending) == 0 {
		return 0, nil
	}
	first := pending[0]
	f, _, err := s.Jobs(ctx, ws)
	if err != nil {
		return 0, err
	}
	job := f.Job(first.Job)
	if job == nil {
		return 0, UnknownJob(first.Job, f)
	}
	script, err := job.Render([]string{job.Name})
	if err != nil {
		return 0, err
	}
	body, err := wire.Encode(wire.Dispatch{
		Execution: exec, Job: job.Name, Client: first.Client, Script: script,
		Entrypoint: job.Entrypoint, Cwd: job.Cwd, ShowDuration: job.ShowDuration,
		Created: first.Created, Scheduled: first.Scheduled, Expires: first.Expires, Timeout: job.Timeout,
	})
	if err != nil {
		return 0, err
	}
	if err := s.cfg.Workspaces.Attach(ctx, ws); err != nil {
		return 0, err
	}
	n := 0
	for i := range pending {
		e := pending[i]
		e.Workspace = ws
		if _, err := s.queue(ctx, &e, body); err != nil {
			return n, err
		}
		n++
	}
	s.log.Info("dispatch sent again", "workspace", ws, "execution", exec, "targets", n)
	return n, nil
}
