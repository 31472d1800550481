package server

import (
	"net/http"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
)

// handleSchedules is GET /schedules: each scheduled job's next run and
// last run with its result.
func (s *Server) handleSchedules(w http.ResponseWriter, r *http.Request) {
	if s.scheduler == nil {
		s.error(w, r, runlet.Errorf(runlet.EUNAVAILABLE, "This server runs no scheduler, so it cannot say when jobs run."))
		return
	}
	scheds, err := s.scheduler.Schedules(r.Context(), callerOf(r).Workspace.ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.Schedules{Schedules: scheds})
}
