package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/apiclient"
)

func TestLastRunText(t *testing.T) {
	at := time.Date(2026, 12, 14, 8, 0, 0, 0, time.Local)
	tick := func(state runlet.TickState) *runlet.Tick { return &runlet.Tick{At: at, State: state} }
	for _, tc := range []struct {
		sj   runlet.ScheduledJob
		want string
	}{
		{runlet.ScheduledJob{}, "not yet"},
		{runlet.ScheduledJob{Last: tick(runlet.TickStarted), Results: map[runlet.Outcome]int{runlet.OutcomeFinished: 1}}, "2026-12-14 08:00 Finished"},
		{runlet.ScheduledJob{Last: tick(runlet.TickStarted), Results: map[runlet.Outcome]int{runlet.OutcomeError: 1, runlet.OutcomeFinished: 2, runlet.OutcomeKilled: 0}}, "2026-12-14 08:00 2 Finished, 1 Error"},
		{runlet.ScheduledJob{Last: tick(runlet.TickStarted)}, "2026-12-14 08:00 started"},
		{runlet.ScheduledJob{Last: tick(runlet.TickClaimed)}, "2026-12-14 08:00 starting"},
		{runlet.ScheduledJob{Last: tick(runlet.TickFailed)}, "2026-12-14 08:00 failed"},
		{runlet.ScheduledJob{Last: tick(runlet.TickSkipped)}, "2026-12-14 08:00 skipped"},
	} {
		if got := lastRun(tc.sj); got != tc.want {
			t.Errorf("lastRun(%+v) = %q, want %q", tc.sj, got, tc.want)
		}
	}
	if got := when(time.Time{}); got != "-" {
		t.Errorf("when(zero) = %q, want -", got)
	}
}

// TestSchedulesFromAnOlderServer: a server without GET /schedules (404) or
// without a scheduler (503) leaves the columns empty; other errors stop.
func TestSchedulesFromAnOlderServer(t *testing.T) {
	for _, tc := range []struct {
		status  int
		code    string
		wantErr bool
	}{
		{http.StatusNotFound, runlet.ENOTFOUND, false},
		{http.StatusServiceUnavailable, runlet.EUNAVAILABLE, false},
		{http.StatusUnauthorized, runlet.EUNAUTHORIZED, true},
		{http.StatusInternalServerError, runlet.EINTERNAL, true},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(tc.status)
			json.NewEncoder(w).Encode(api.ErrorBody{Error: api.ErrorDetail{Code: tc.code, Message: "no"}})
		}))
		got, err := schedules(t.Context(), apiclient.New(srv.URL, "token"))
		srv.Close()
		if (err != nil) != tc.wantErr || got != nil {
			t.Errorf("schedules from a %d: %v, %v; want an error: %v", tc.status, got, err, tc.wantErr)
		}
	}
}
