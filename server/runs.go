package server

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/jobspec"
	"github.com/runlet/runlet/store"
	"github.com/runlet/runlet/wire"
)

func (s *Server) handleRun(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	var req api.RunRequest
	if err := decode(r, &req); err != nil {
		s.error(w, r, err)
		return
	}
	ctx := r.Context()
	f, _, err := s.loadJobs(ctx, c.Workspace.ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	job := f.Job(req.Job)
	if job == nil {
		s.error(w, r, unknownJob(req.Job, f))
		return
	}
	targets, err := s.resolveTargets(ctx, c, job, f.Settings, req)
	if err != nil {
		s.error(w, r, err)
		return
	}
	script, err := job.Render(append([]string{job.Name}, req.Args...))
	if err != nil {
		s.error(w, r, err)
		return
	}
	now := s.now()
	d := wire.Dispatch{
		Execution: store.NewID(), Job: job.Name, Client: c.Name(), Script: script,
		Entrypoint: job.Entrypoint, Cwd: job.Cwd, ShowDuration: job.ShowDuration,
		Created: now, Expires: now.Add(job.Expires),
	}
	if req.Size != nil {
		d.Size = *req.Size
	}
	runs, err := s.dispatch(ctx, c.Workspace.ID, targets, d)
	if err != nil {
		s.error(w, r, err)
		return
	}
	// A target the broker refused is in Error already, with its reason:
	// the run exists (its id is in the answer), the caller decides.
	out := api.RunResponse{Execution: d.Execution}
	for _, e := range runs {
		out.Targets = append(out.Targets, api.Target{Device: e.Device, Status: string(e.Status), Reason: e.Reason})
	}
	s.log.Info("run", "workspace", c.Workspace.Name, "job", job.Name, "execution", d.Execution, "client", d.Client, "targets", len(targets))
	writeJSON(w, http.StatusCreated, out)
}

// dispatchParallel is how many targets of a run are queued at a time. Each
// durable publish waits for the broker's confirm, a disk sync on the
// embedded NATS: one after the other, a run on 1,000 devices took seconds.
const dispatchParallel = 64

// dispatch records every target Pending, in one transaction, then queues
// their Dispatch durably, dispatchParallel at a time, and returns each
// target's record: Pending, or Error when the broker refused it.
func (s *Server) dispatch(ctx context.Context, ws string, devices []string, d wire.Dispatch) ([]runlet.Execution, error) {
	es := make([]*runlet.Execution, len(devices))
	for i, device := range devices {
		es[i] = &runlet.Execution{
			ID: d.Execution, Job: d.Job, Client: d.Client, Device: device, Status: runlet.StatusPending, Created: d.Created,
			Workspace: ws, Expires: d.Expires,
		}
	}
	if err := s.db.CreateExecutions(ctx, es); err != nil {
		return nil, err
	}
	body, err := wire.Encode(d)
	if err != nil {
		return nil, err
	}
	s.checkBrokerStore()
	runs := make([]runlet.Execution, len(es))
	errs := make([]error, len(es))
	slots := make(chan struct{}, dispatchParallel)
	var wg sync.WaitGroup
	for i, e := range es {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			runs[i], errs[i] = s.queue(ctx, e, body)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return runs, nil
}

// queue publishes the dispatch of e to its device's durable queue and
// returns e's record. A broker that refuses ends the target as Error at
// once, so nothing waits for a message that was never sent.
func (s *Server) queue(ctx context.Context, e *runlet.Execution, body []byte) (runlet.Execution, error) {
	ws, device := e.Workspace, e.Device
	m := bus.Message{ID: e.ID + "/" + device + "/dispatch", Key: bus.DispatchKey(device), Body: body, ExpiresAt: e.Expires}
	// The queue exists since the device signed in (or the server started):
	// declaring it first would cost every target a round trip to the
	// broker (a JetStream API request on NATS). It is declared again only
	// when the broker lost it.
	err := s.bus.PublishDurable(ctx, ws, m)
	if errors.Is(err, bus.ErrNoQueue) {
		if err = s.bus.DeclareQueue(ctx, ws, dispatchQueue(device)); err == nil {
			err = s.bus.PublishDurable(ctx, ws, m)
		}
	}
	if err != nil {
		reason := "the broker did not take the execution: " + err.Error()
		if full := s.diskFull(err); runlet.ErrorCode(full) == runlet.EFULL {
			err, reason = full, runlet.ErrorMessage(full)
		}
		s.log.Warn("dispatch failed", "execution", e.ID, "device", device, "err", err)
		u, _, uerr := s.db.UpdateExecutionStatus(ctx, ws, e.ID, device, store.StatusUpdate{
			Status: runlet.StatusError, ExitCode: -1, Reason: reason})
		if uerr != nil {
			return runlet.Execution{}, uerr
		}
		s.publishEvent(ws, wire.Event{Type: wire.EventExecution, Execution: &u})
		return u, nil
	}
	s.publishEvent(ws, wire.Event{Type: wire.EventExecution, Execution: e})
	return *e, nil
}

// resolveTargets applies R-JOB-2: the request's where/on, else the job's.
func (s *Server) resolveTargets(ctx context.Context, c *caller, job *jobspec.Job, set jobspec.Settings, req api.RunRequest) ([]string, error) {
	where, on := job.Where, job.WhereCustom
	if req.Where != "" {
		where, on = req.Where, req.On
	} else if len(req.On) > 0 {
		where, on = jobspec.WhereCustom, req.On
	}
	if where == "" {
		where = jobspec.WhereLocal
	}
	devices, err := s.db.ListDevices(ctx, c.Workspace.ID)
	if err != nil {
		return nil, err
	}
	var known []string
	for _, d := range devices {
		if !d.Revoked {
			known = append(known, d.Name)
		}
	}
	var names []string
	switch where {
	case jobspec.WhereLocal:
		if c.Device == nil {
			return nil, runlet.Errorf(runlet.EINVALID, "Job %q runs where it is started (local), and a user has no device: choose --where all, any or custom --on NAMES.", job.Name)
		}
		names = []string{c.Device.Name}
	case jobspec.WhereAll:
		names = known
	case jobspec.WhereAny:
		return s.pickAny(c.Workspace.ID, job.Name, known, set)
	case jobspec.WhereCustom:
		names, err = customTargets(job.Name, on, known)
		if err != nil {
			return nil, err
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
			return nil, runlet.Errorf(runlet.EINVALID, "Job %q has no device to run on: %s switched off in settings.daemons.", job.Name, strings.Join(off, ", "))
		}
		return nil, runlet.Errorf(runlet.EINVALID, "Job %q has no device to run on: no device is signed in to this workspace.", job.Name)
	}
	return out, nil
}

func customTargets(job string, on, known []string) ([]string, error) {
	var names, unknown []string
	for _, n := range on {
		for _, p := range strings.Split(n, ",") {
			if p = strings.TrimSpace(p); p == "" || slices.Contains(names, p) {
				continue
			}
			if !slices.Contains(known, p) {
				unknown = append(unknown, p)
			}
			names = append(names, p)
		}
	}
	if len(unknown) > 0 {
		list := "none"
		if len(known) > 0 {
			list = strings.Join(known, ", ")
		}
		return nil, runlet.Errorf(runlet.EINVALID, "Unknown device %s; the devices of this workspace are: %s.", strings.Join(unknown, ", "), list)
	}
	if len(names) == 0 {
		return nil, runlet.Errorf(runlet.EINVALID, "Job %q targets custom devices but names none: give --on NAMES.", job)
	}
	return names, nil
}

// pickAny chooses the online, enabled device with the least running and
// queued executions (by their last heartbeat), ties by name.
func (s *Server) pickAny(ws, job string, known []string, set jobspec.Settings) ([]string, error) {
	best, load := "", 0
	now := s.now()
	for _, n := range known {
		hb, online := s.presence.get(ws, n, now)
		if !online || !set.DeviceEnabled(n) {
			continue
		}
		if l := hb.Running + hb.Queued; best == "" || l < load {
			best, load = n, l
		}
	}
	if best == "" {
		return nil, runlet.Errorf(runlet.EUNAVAILABLE, "Job %q runs on any online device, and none is online now.", job)
	}
	return []string{best}, nil
}

// handleListExecutions answers GET /executions?limit&offset&device&status&job.
func (s *Server) handleListExecutions(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	q := r.URL.Query()
	f := store.ExecutionFilter{Job: q.Get("job"), Device: q.Get("device"), Status: runlet.Status(q.Get("status"))}
	var err error
	if f.Limit, err = intParam(q.Get("limit"), "limit"); err == nil {
		f.Offset, err = intParam(q.Get("offset"), "offset")
	}
	if err == nil && f.Status != "" && !f.Status.Valid() {
		err = runlet.Errorf(runlet.EINVALID, "Unknown status %q: use Pending, Running, Error or Finished.", f.Status)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	list, err := s.db.ListExecutions(r.Context(), c.Workspace.ID, f)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if list == nil {
		list = []runlet.Execution{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"executions": list})
}

func (s *Server) handleGetExecution(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	ts, err := s.targets(r.Context(), c.Workspace.ID, r.PathValue("id"), "")
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"targets": ts})
}

// targets returns the runs of an execution, only device's when given.
func (s *Server) targets(ctx context.Context, ws, id, device string) ([]runlet.Execution, error) {
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

func (s *Server) handleStop(w http.ResponseWriter, r *http.Request) { s.control(w, r, wire.OpStop) }
func (s *Server) handleKill(w http.ResponseWriter, r *http.Request) { s.control(w, r, wire.OpKill) }

// control records the stop or kill and asks each unfinished target's
// device for it.
func (s *Server) control(w http.ResponseWriter, r *http.Request, op wire.ControlOp) {
	c := callerOf(r)
	ctx := r.Context()
	id := r.PathValue("id")
	ts, err := s.targets(ctx, c.Workspace.ID, id, r.URL.Query().Get("device"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	for _, t := range ts {
		if t.Status.Final() {
			continue
		}
		if err := s.controlTarget(ctx, c, id, t.Device, op); err != nil {
			s.error(w, r, err)
			return
		}
	}
	w.WriteHeader(http.StatusAccepted)
}

// controlTarget records a stop or kill of the execution on device, asks the
// device for it and tells the workspace; a target already final is left
// alone.
func (s *Server) controlTarget(ctx context.Context, c *caller, exec, device string, op wire.ControlOp) error {
	ws := c.Workspace.ID
	e, err := s.db.MarkExecutionKilled(ctx, ws, exec, device)
	if err != nil {
		return err
	}
	if e.Status.Final() {
		return nil
	}
	body, err := wire.Encode(wire.Control{Op: op, By: c.Name()})
	if err != nil {
		return err
	}
	if err := s.bus.Publish(ctx, ws, bus.Message{Key: bus.ControlKey(exec, device), Body: body}); err != nil {
		return runlet.Errorf(runlet.EUNAVAILABLE, "The broker did not take the %s request: %v.", op, err)
	}
	s.publishEvent(ws, wire.Event{Type: wire.EventExecution, Execution: &e})
	return nil
}

func (s *Server) handleDevices(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	devices, err := s.db.ListDevices(r.Context(), c.Workspace.ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	now := s.now()
	out := []api.Device{}
	for _, d := range devices {
		if d.Revoked {
			continue
		}
		hb, online := s.presence.get(c.Workspace.ID, d.Name, now)
		if at := s.presence.lastSeen(c.Workspace.ID, d.Name); at.After(d.LastSeen) {
			d.LastSeen = at // the store is refreshed only every touchEvery
		}
		out = append(out, api.Device{
			Name: d.Name, ID: d.ID, OS: d.OS, Arch: d.Arch, Version: d.Version, Labels: d.Labels,
			LastSeen: d.LastSeen, Online: online, CPU: hb.CPU, Memory: hb.Memory, Uptime: hb.Uptime,
			Running: hb.Running, Queued: hb.Queued,
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"devices": out})
}

func intParam(v, name string) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, runlet.Errorf(runlet.EINVALID, "%s must be a number of 0 or more, not %q.", name, v)
	}
	return n, nil
}
