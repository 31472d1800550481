package server

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
)

// A server handed no scheduler says so, rather than an empty list.
func TestSchedulesWithoutScheduler(t *testing.T) {
	s := &Server{log: slog.New(slog.DiscardHandler)}
	rec := httptest.NewRecorder()
	s.handleSchedules(rec, httptest.NewRequest(http.MethodGet, api.Prefix+"/schedules", nil))
	var body api.ErrorBody
	if err := json.NewDecoder(rec.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if rec.Code != http.StatusServiceUnavailable || body.Error.Code != runlet.EUNAVAILABLE || !strings.Contains(body.Error.Message, "runs no scheduler") {
		t.Errorf("GET /schedules without a scheduler: %d %+v, want 503 saying there is none", rec.Code, body.Error)
	}
}
