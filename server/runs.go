package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/auth"
	"github.com/runlet/runlet/dispatch"
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
	run, err := s.dispatch.Run(r.Context(), dispatch.Request{
		Workspace: c.Workspace.ID, Client: clientOf(c), Job: req.Job, Args: req.Args,
		Command: req.Command, Shell: req.Shell, Where: req.Where, On: req.On, Size: req.Size,
	})
	if err != nil {
		s.error(w, r, err)
		return
	}
	// A target the broker refused is in Error already, with its reason:
	// the run exists (its id is in the answer), the caller decides.
	out := api.RunResponse{Execution: run.Execution}
	for _, e := range run.Targets {
		out.Targets = append(out.Targets, api.Target{Device: e.Device, Status: string(e.Status), Reason: e.Reason})
	}
	writeJSON(w, http.StatusCreated, out)
}

// clientOf is the caller as dispatch's client.
func clientOf(c *auth.Caller) dispatch.Client {
	if c.Device != nil {
		return dispatch.Device(c.Device.Name)
	}
	return dispatch.User(c.User.Email)
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
	writeJSON(w, http.StatusOK, map[string]any{"executions": api.ExecutionsOf(list)})
}

// handleListRuns answers GET /runs?job&device&client&outcome&from&to&limit&cursor:
// a page of runs, one per execution ID with its targets, newest first,
// and the cursor of the page after it.
func (s *Server) handleListRuns(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	q := r.URL.Query()
	f := store.RunFilter{Job: q.Get("job"), Device: q.Get("device"), Client: q.Get("client"), Outcome: runlet.Outcome(q.Get("outcome"))}
	var err error
	f.Limit, err = intParam(q.Get("limit"), "limit")
	if err == nil {
		f.From, err = timeParam(q.Get("from"), "from")
	}
	if err == nil {
		f.To, err = timeParam(q.Get("to"), "to")
	}
	if err == nil {
		f.After, err = runlet.ParseRunCursor(q.Get("cursor"))
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	page, err := s.db.ListRuns(r.Context(), c.Workspace.ID, f)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.RunsOf(page.Runs, page.Next))
}

// handleGetExecution answers GET /executions/{id}?device: every target, or
// device's alone (a daemon asks for its own before it starts a run).
func (s *Server) handleGetExecution(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	ts, err := s.dispatch.Targets(r.Context(), c.Workspace.ID, r.PathValue("id"), r.URL.Query().Get("device"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"targets": api.ExecutionsOf(ts)})
}

func (s *Server) handleStop(w http.ResponseWriter, r *http.Request) { s.control(w, r, wire.OpStop) }
func (s *Server) handleKill(w http.ResponseWriter, r *http.Request) { s.control(w, r, wire.OpKill) }

// control records the stop or kill and asks each unfinished target's
// device for it.
func (s *Server) control(w http.ResponseWriter, r *http.Request, op wire.ControlOp) {
	c := callerOf(r)
	do := s.dispatch.Stop
	if op == wire.OpKill {
		do = s.dispatch.Kill
	}
	if err := do(r.Context(), c.Workspace.ID, r.PathValue("id"), r.URL.Query().Get("device"), clientOf(c)); err != nil {
		s.error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (s *Server) handleDevices(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	devices, err := s.db.ListDevices(r.Context(), c.Workspace.ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	out := []api.Device{}
	for _, d := range devices {
		if d.Revoked {
			continue
		}
		hb, online := s.intake.Presence(c.Workspace.ID, d.Name)
		if at := s.intake.LastSeen(c.Workspace.ID, d.Name); at.After(d.LastSeen) {
			d.LastSeen = at // the store is refreshed only every touchEvery
		}
		ad := api.Device{
			Name: d.Name, ID: d.ID, OS: d.OS, Arch: d.Arch, Version: d.Version, Labels: d.Labels,
			LastSeen: d.LastSeen, Online: online, CPU: hb.CPU, Memory: hb.Memory, Uptime: hb.Uptime,
			Running: hb.Running, Queued: hb.Queued,
		}
		if t := hb.Telemetry; t != nil {
			ad.Telemetry = &api.DeviceTelemetry{Accepted: t.Accepted, Refused: t.Refused, Pending: t.Pending, Dropped: t.Dropped, Full: t.Full}
		}
		out = append(out, ad)
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

func timeParam(v, name string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, runlet.Errorf(runlet.EINVALID, "%s must be a time such as 2026-03-04T05:06:07Z (RFC 3339), not %q.", name, v)
	}
	return t, nil
}
