package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/wire"
)

// TestOutcomeAndStopOfAnEndedRun: the API gives each target its outcome
// (Stopped for a run a stop ended, where the status stays Error), and a
// stop or kill of a run that has ended is answered 409 with a sentence
// saying how it ended, nothing sent.
func TestOutcomeAndStopOfAnEndedRun(t *testing.T) {
	s := startServer(t, nil)
	ctx := ctxT(t)
	pi := newFakeDevice(t, s, "pi-1")
	if _, err := pi.api.PutJobs(ctx, []byte(jobsYAML), 0); err != nil {
		t.Fatal(err)
	}
	run, err := pi.api.Run(ctx, api.RunRequest{Job: "hello", Args: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := pi.api.Stop(ctx, run.Execution, ""); err != nil {
		t.Fatalf("stop of a pending run: %v", err)
	}
	// The runner ends it as it does for a stop.
	pi.publishStatus(t, run.Execution, wire.Status{Execution: runlet.Execution{ID: run.Execution, Device: "pi-1",
		Status: runlet.StatusError, Finished: time.Now(), ExitCode: -1, Signal: "SIGTERM", Reason: runlet.ReasonStopped + " (SIGTERM)"}})
	waitStatus(t, pi.api, run.Execution, "pi-1", runlet.StatusError)

	for _, path := range []string{"/api/v1/executions/" + run.Execution, "/api/v1/executions?limit=1"} {
		r := request(t, http.MethodGet, s.URL()+path, pi.cred.Token)
		var body struct {
			Targets    []api.Execution `json:"targets"`
			Executions []api.Execution `json:"executions"`
		}
		if err := json.Unmarshal([]byte(r.body), &body); err != nil {
			t.Fatalf("GET %s: %v %s", path, err, r.body)
		}
		got := append(body.Targets, body.Executions...)
		if r.status != http.StatusOK || len(got) != 1 || got[0].Outcome != runlet.OutcomeStopped || got[0].Status != runlet.StatusError {
			t.Errorf("GET %s: %d %s, want the target with status Error and outcome Stopped", path, r.status, r.body)
		}
	}

	for _, op := range []string{"stop", "kill"} {
		r := request(t, http.MethodPost, s.URL()+"/api/v1/executions/"+run.Execution+"/"+op, pi.cred.Token)
		if r.status != http.StatusConflict || !strings.Contains(r.body, `"code":"conflict"`) ||
			!strings.Contains(r.body, "has already ended (Stopped on pi-1): there is nothing to "+op) {
			t.Errorf("%s of the ended run: %d %s, want 409 saying it ended", op, r.status, r.body)
		}
	}
}

// request sends a bodiless request with a bearer token.
func request(t *testing.T, method, url, token string) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxT(t), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return read(t, resp)
}
