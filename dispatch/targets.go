package dispatch

import (
	"context"
	"fmt"
	"strings"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/jobspec"
	"github.com/runlet/runlet/wire"
)

// resolveTargets applies R-JOB-2: the request's where/on, else the job's.
func (s *Service) resolveTargets(ctx context.Context, req Request, job *jobspec.Job, set jobspec.Settings) ([]string, error) {
	where, on := job.Where, job.WhereCustom
	if req.Where != "" {
		where, on = req.Where, req.On
	} else if len(req.On) > 0 {
		where, on = jobspec.WhereCustom, req.On
	}
	if where == "" {
		where = jobspec.WhereLocal
	}
	devices, err := s.db.ListDevices(ctx, req.Workspace)
	if err != nil {
		return nil, err
	}
	var known []string
	var live []runlet.Device
	for _, d := range devices {
		if !d.Revoked {
			known = append(known, d.Name)
			live = append(live, d)
		}
	}
	what := subject(req, job)
	var names []string
	switch where {
	case jobspec.WhereLocal:
		if req.Client.Device == "" {
			// Name the client: a scheduler or a rollout is not "a user".
			return nil, runlet.Errorf(runlet.EINVALID, "%s runs where it is started (local), and %s is not a device: choose --where all, any or custom --on NAMES.", what, req.Client.Name)
		}
		names = []string{req.Client.Device}
	case jobspec.WhereAll:
		names = known
	case jobspec.WhereAny:
		return s.pickAny(req.Workspace, what, known, set)
	case jobspec.WhereCustom:
		// Names, patterns (pi-*) and labels (label:lab): runlet.Select.
		if names, err = runlet.Select(on, live); err != nil {
			return nil, err
		}
		if len(names) == 0 {
			return nil, runlet.Errorf(runlet.EINVALID, "%s targets custom devices but names none: give --on NAMES.", what)
		}
	default:
		return nil, runlet.Errorf(runlet.EINVALID, "Unknown target %q: use local, all, any or custom.", where)
	}
	var out, off []string
	for _, n := range names {
		if set.DeviceEnabled(n) {
			out = append(out, n)
		} else {
			off = append(off, n)
		}
	}
	if len(out) == 0 {
		if len(off) > 0 {
			return nil, runlet.Errorf(runlet.EINVALID, "%s has no device to run on: %s switched off in settings.daemons.", what, strings.Join(off, ", "))
		}
		return nil, runlet.Errorf(runlet.EINVALID, "%s has no device to run on: no device is signed in to this workspace.", what)
	}
	return out, nil
}

// subject names what runs, to begin a sentence: the job, the command or
// the shell.
func subject(req Request, job *jobspec.Job) string {
	switch {
	case req.Shell:
		return "The shell"
	case len(req.Command) > 0:
		return "The command"
	}
	return fmt.Sprintf("Job %q", job.Name)
}

// pickAny chooses the online, enabled device with the least running and
// queued executions (by their last heartbeat), ties by name.
func (s *Service) pickAny(ws, what string, known []string, set jobspec.Settings) ([]string, error) {
	best, load := "", 0
	for _, n := range known {
		hb, online := s.cfg.Workspaces.Presence(ws, n)
		if !online || !set.DeviceEnabled(n) {
			continue
		}
		if l := hb.Running + hb.Queued; best == "" || l < load {
			best, load = n, l
		}
	}
	if best == "" {
		return nil, runlet.Errorf(runlet.EUNAVAILABLE, "%s runs on any online device, and none is online now.", what)
	}
	return []string{best}, nil
}

// Targets returns the runs of an execution, only device's when given.
func (s *Service) Targets(ctx context.Context, ws, id, device string) ([]runlet.Execution, error) {
	ts, err := s.db.ExecutionTargets(ctx, ws, id)
	if runlet.ErrorCode(err) == runlet.ENOTFOUND {
		return nil, runlet.Errorf(runlet.ENOTFOUND, "There is no execution %s in this workspace.", id)
	} else if err != nil {
		return nil, err
	}
	if device == "" {
		return ts, nil
	}
	var names []string
	for _, t := range ts {
		if t.Device == device {
			return []runlet.Execution{t}, nil
		}
		names = append(names, t.Device)
	}
	return nil, runlet.Errorf(runlet.ENOTFOUND, "Execution %s does not run on %s; it runs on %s.", id, device, strings.Join(names, ", "))
}

// Stop asks the devices of an execution's unfinished targets (only
// device's, when given) to stop it: a TERM to the job, a KILL later. A
// target that has not started (Pending: its device is offline, or the run
// waits in its queue) ends at once, Stopped ("stopped before it
// started"): a device asks for the record before it starts a run, so it
// never runs there. ECONFLICT when every one of those targets has already
// ended: there is nothing to stop, and the caller is told so rather than
// left to think the stop took.
func (s *Service) Stop(ctx context.Context, ws, exec, device string, by Client) error {
	return s.control(ctx, ws, exec, device, wire.OpStop, by)
}

// Kill asks for a KILL at once, as Stop does; a target that has not
// started ends at once, Killed; ECONFLICT as Stop.
func (s *Service) Kill(ctx context.Context, ws, exec, device string, by Client) error {
	return s.control(ctx, ws, exec, device, wire.OpKill, by)
}

// control records the stop or kill, ends the targets that have not
// started and asks each unfinished target's device for it; ECONFLICT when
// none was unfinished.
func (s *Service) control(ctx context.Context, ws, exec, device string, op wire.ControlOp, by Client) error {
	ts, err := s.Targets(ctx, ws, exec, device)
	if err != nil {
		return err
	}
	acted := 0
	for i, t := range ts {
		if t.Status.Final() {
			continue
		}
		e, ok, err := s.controlTarget(ctx, ws, exec, t.Device, op, by)
		if err != nil {
			return err
		}
		ts[i] = e
		if ok {
			acted++
		}
	}
	if acted == 0 {
		return alreadyEnded(exec, op, ts)
	}
	return nil
}

// alreadyEnded is the answer to a stop or kill of targets that have all
// ended, saying how each one did.
func alreadyEnded(exec string, op wire.ControlOp, ts []runlet.Execution) error {
	how := make([]string, len(ts))
	for i, t := range ts {
		how[i] = string(t.Outcome()) + " on " + t.Device
	}
	return runlet.Errorf(runlet.ECONFLICT, "Execution %s has already ended (%s): there is nothing to %s.", exec, strings.Join(how, ", "), op)
}

// controlTarget ends the execution on device if it has not started, or
// records a stop or kill of it, asks the device for it and tells the
// workspace; a target already final is left alone (ok is false). It
// returns the target as recorded.
func (s *Service) controlTarget(ctx context.Context, ws, exec, device string, op wire.ControlOp, by Client) (e runlet.Execution, ok bool, err error) {
	m, err := wire.ControlMessage(bus.ControlKey(exec, device), wire.Control{Op: op, By: by.Name})
	if err != nil {
		return runlet.Execution{}, false, err
	}
	reason := runlet.ReasonStoppedBeforeStart
	if op == wire.OpKill {
		reason = runlet.ReasonKilledBeforeStart
	}
	e, cancelled, err := s.db.CancelExecution(ctx, ws, exec, device, reason)
	if err != nil || (!cancelled && e.Status.Final()) {
		return e, false, err
	}
	if !cancelled {
		if e, err = s.db.MarkExecutionKilled(ctx, ws, exec, device); err != nil || e.Status.Final() {
			return e, false, err
		}
	}
	// Sent for a cancelled target too: an online device may hold the run
	// that the store still had Pending (in its queue, or starting).
	if err := s.bus.Publish(ctx, ws, m); err != nil {
		if !cancelled {
			return e, false, runlet.Errorf(runlet.EUNAVAILABLE, "The broker did not take the %s request: %v.", op, err)
		}
		// Ended all the same: the device reads the record before it
		// starts the run.
		s.log.Warn("the request for a run that had not started did not reach the broker", "execution", exec, "device", device, "op", op, "err", err)
	}
	s.cfg.Events.Event(ws, wire.Event{Type: wire.EventExecution, Execution: &e})
	return e, true, nil
}
