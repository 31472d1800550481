//go:build !windows

package daemon_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
)

// apiStub is the test's stand-in for the server's HTTP API, as far as a
// daemon uses it: the record of a run on a device, which it reads before
// it starts the run, and whoami. Every run is Pending unless the test
// ended it (end) or made the API fail (fail).
type apiStub struct {
	srv *httptest.Server

	mu      sync.Mutex
	ended   map[string]runlet.Execution // by execution id
	failing int                         // the HTTP status to answer; 0: none
	reads   map[string]int              // record reads, by execution id
	read    chan struct{}               // closed and replaced at each read

	logs apiLogs // the log routes (logs_test.go)
}

func startAPI(t testing.TB) *apiStub {
	a := &apiStub{ended: map[string]runlet.Execution{}, reads: map[string]int{}, read: make(chan struct{})}
	a.logs.objects = map[string]storedLog{}
	mux := http.NewServeMux()
	a.logs.route(mux)
	mux.HandleFunc("GET /api/v1/executions/{id}", a.target)
	mux.HandleFunc("GET /api/v1/whoami", func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		failing := a.failing
		a.mu.Unlock()
		if failing != 0 {
			writeJSON(w, failing, api.ErrorBody{Error: api.ErrorDetail{Code: codeOf(failing), Message: "No."}})
			return
		}
		writeJSON(w, http.StatusOK, api.Whoami{})
	})
	a.srv = httptest.NewServer(mux)
	t.Cleanup(a.srv.Close)
	return a
}

func (a *apiStub) target(w http.ResponseWriter, r *http.Request) {
	id, device := r.PathValue("id"), r.URL.Query().Get("device")
	a.mu.Lock()
	a.reads[id]++
	close(a.read)
	a.read = make(chan struct{})
	failing := a.failing
	e, ended := a.ended[id]
	a.mu.Unlock()
	switch {
	case failing != 0:
		writeJSON(w, failing, api.ErrorBody{Error: api.ErrorDetail{Code: codeOf(failing), Message: "The server cannot answer now."}})
		return
	case device == "":
		http.Error(w, "the daemon must ask for its own target", http.StatusBadRequest)
		return
	case strings.HasPrefix(id, "unknown"):
		writeJSON(w, http.StatusNotFound, api.ErrorBody{Error: api.ErrorDetail{Code: runlet.ENOTFOUND, Message: "There is no execution " + id + " in this workspace."}})
		return
	case !ended:
		e = runlet.Execution{ID: id, Device: device, Status: runlet.StatusPending}
	}
	writeJSON(w, http.StatusOK, map[string]any{"targets": []runlet.Execution{e}})
}

// codeOf is the error code the server answers with status.
func codeOf(status int) string {
	if status == http.StatusUnauthorized {
		return runlet.EUNAUTHORIZED
	}
	return runlet.EUNAVAILABLE
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// end records e as the server's record of its run, as a stop or kill of
// a run that has not started does.
func (a *apiStub) end(e runlet.Execution) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ended[e.ID] = e
}

// fail makes every read answer status (0: answer again).
func (a *apiStub) fail(status int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.failing = status
}

// waitReads waits until the record of exec has been read n times.
func (a *apiStub) waitReads(t testing.TB, exec string, n int) {
	t.Helper()
	for {
		a.mu.Lock()
		got, read := a.reads[exec], a.read
		a.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-read:
		case <-time.After(patience):
			t.Fatalf("the record of %s was read %d times in %s, want %d", exec, got, patience, n)
		}
	}
}
