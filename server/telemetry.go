package server

import (
	"net/http"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/jobspec"
	"github.com/runlet/runlet/store"
)

// The workspace's telemetry as a whole: its settings (retention,
// auto-registration), the pipeline's counters, and replaying a sensor's
// raw archive through the pipeline. The counters and the replay are the
// ingest service's (telemetry/ingest); without one they answer 503.

var errNoTelemetry = runlet.Errorf(runlet.EUNAVAILABLE, "This server runs no telemetry pipeline: readings are not taken here.")

// handleGetTelemetrySettings is GET /telemetry/settings.
func (s *Server) handleGetTelemetrySettings(w http.ResponseWriter, r *http.Request) {
	ts, err := s.db.TelemetrySettings(r.Context(), callerOf(r).Workspace.ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, telemetrySettingsOf(ts))
}

// handlePutTelemetrySettings is PUT /telemetry/settings, for admins: the
// fields given change, the others stay.
func (s *Server) handlePutTelemetrySettings(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	var req api.TelemetrySettingsUpdate
	if err := decode(r, &req); err != nil {
		s.error(w, r, err)
		return
	}
	ctx := r.Context()
	ts, err := s.db.TelemetrySettings(ctx, c.Workspace.ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if req.Retention != nil {
		d, err := jobspec.ParseDuration(*req.Retention)
		if err != nil || d < time.Hour {
			s.error(w, r, runlet.Errorf(runlet.EINVALID, "retention must be a duration of an hour or more (720h, 30d, 1w), not %q.", runlet.SafeText(*req.Retention)))
			return
		}
		ts.Retention = d
	}
	if req.AutoRegister != nil {
		ts.AutoRegister = *req.AutoRegister
	}
	if err := s.db.SetTelemetrySettings(ctx, c.Workspace.ID, ts); err != nil {
		s.error(w, r, err)
		return
	}
	if s.telemetry != nil {
		s.telemetry.ForgetSettings(c.Workspace.ID)
	}
	s.log.Info("telemetry settings changed", "workspace", c.Workspace.Name, "retention", ts.Retention, "auto_register", ts.AutoRegister, "by", c.User.Email)
	writeJSON(w, http.StatusOK, telemetrySettingsOf(ts))
}

func telemetrySettingsOf(ts store.TelemetrySettings) api.TelemetrySettings {
	return api.TelemetrySettings{Retention: runlet.FormatDuration(ts.Retention), AutoRegister: ts.AutoRegister}
}

// handleTelemetryStats is GET /telemetry/stats: what this server's
// pipeline did with the workspace's readings since it started.
func (s *Server) handleTelemetryStats(w http.ResponseWriter, r *http.Request) {
	if s.telemetry == nil {
		s.error(w, r, errNoTelemetry)
		return
	}
	writeJSON(w, http.StatusOK, s.telemetry.Stats(callerOf(r).Workspace.ID))
}

// handleReplay is POST /sensors/{id}/replay, for admins: the sensor's
// archived readings in [from, to) go through the pipeline again,
// idempotently (missing series points come back, nothing is stored
// twice), and are published again for the readings' consumers.
func (s *Server) handleReplay(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	var req api.ReplayRequest
	if err := decode(r, &req); err != nil {
		s.error(w, r, err)
		return
	}
	if s.telemetry == nil {
		s.error(w, r, errNoTelemetry)
		return
	}
	now := s.now()
	from, err := timeArg(req.From, "from", now)
	if err != nil {
		s.error(w, r, err)
		return
	}
	to, err := timeArg(req.To, "to", now)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if from.IsZero() {
		from = time.Unix(0, 0) // the whole archive
	}
	if to.IsZero() {
		// Readings are stored up to a day ahead of their device's clock.
		to = now.Add(runlet.MaxReadingAhead + time.Hour)
	}
	if !to.After(from) {
		s.error(w, r, runlet.Errorf(runlet.EINVALID, "to (%s) must be after from (%s).", to.Format(time.RFC3339), from.Format(time.RFC3339)))
		return
	}
	sn, err := s.sensorOf(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	n, err := s.telemetry.Replay(r.Context(), c.Workspace.ID, sn.ID, from, to)
	if err != nil {
		s.error(w, r, s.sensorNotFound(err, sn.ID))
		return
	}
	s.log.Info("sensor replayed", "workspace", c.Workspace.Name, "sensor", sn.ID, "from", from, "to", to, "replayed", n, "by", c.User.Email)
	writeJSON(w, http.StatusOK, api.ReplayResponse{Replayed: n})
}
