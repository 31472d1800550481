package scheduler

import (
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/jobspec"
)

// plan is what a job's schedule asks for at an instant, given its last
// tick: the rule of which tick runs, written once for the scheduler and
// for what the API shows.
type plan struct {
	// due is the latest tick at or before now that was not handled yet;
	// zero when none is. Earlier unhandled ticks are not run: after
	// downtime a job catches up one tick at most.
	due time.Time
	// missed is true when due came more than the grace ago: no scheduler
	// ran then, and a job with catchup: none skips it.
	missed bool
	// next is the first tick after now (zero: the schedule never fires
	// again).
	next time.Time
}

// planJob computes j's plan at now. j.Schedule must be set; last is the
// job's latest tick, nil before the first.
//
// Ticks are counted from the later of the last tick and the time the job
// set was saved (the schedule's anchor, see jobspec.Schedule.Anchor), so
// that a schedule changed, or a job deleted and added again, starts at
// its next tick instead of catching up ticks it never had. An interval
// whose schedule is unchanged since the last tick counts on from that
// tick: saving the job set for another job's sake does not move it.
func planJob(j *jobspec.Job, last *runlet.Tick, now time.Time, grace time.Duration) plan {
	sched, base := scheduleOf(j, last, now)
	var p plan
	after := now
	if base.After(now) { // a tick recorded by a server whose clock is ahead
		after = base
	}
	p.next = sched.Next(after)
	if p.due = latest(sched, base, now); !p.due.IsZero() {
		p.missed = now.Sub(p.due) > grace
	}
	return p
}

// scheduleOf is j's schedule as the scheduler counts it, and the instant
// after which its ticks are not handled yet.
func scheduleOf(j *jobspec.Job, last *runlet.Tick, now time.Time) (*jobspec.Schedule, time.Time) {
	sched := j.Schedule
	base := sched.Anchor()
	if base.IsZero() { // not read by dispatch.Jobs: it starts now
		base = now
		sched = sched.AnchoredAt(now)
	}
	if last != nil {
		if last.Every == j.Every && sched.Interval() > 0 {
			sched = sched.AnchoredAt(last.At)
		}
		if last.At.After(base) {
			base = last.At
		}
	}
	return sched, base
}

// latest is the last tick of s in (base, now], or zero when there is none.
func latest(s *jobspec.Schedule, base, now time.Time) time.Time {
	first := s.Next(base)
	if first.IsZero() || first.After(now) {
		return time.Time{}
	}
	if iv := s.Interval(); iv > 0 {
		// The anchor is at or before base, so the tick after now-iv is
		// the last one at or before now, and not before first.
		return s.Next(now.Add(-iv))
	}
	// A calendar schedule has no arithmetic: look back from now over
	// windows that double, then walk forward within the first that holds
	// a tick. The walk is short, as the window half its size held none.
	for w := time.Minute; ; w *= 2 {
		from := now.Add(-w)
		if !from.After(base) {
			from = base
		}
		if t := s.Next(from); !t.IsZero() && !t.After(now) {
			for {
				n := s.Next(t)
				if n.IsZero() || n.After(now) {
					return t
				}
				t = n
			}
		}
		if from.Equal(base) {
			return first // not reached: first is in (base, now]
		}
	}
}
