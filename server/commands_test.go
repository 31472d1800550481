package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/apiclient"
)

// TestRunCommandOverHTTP: POST /runs takes a job, a command or a shell,
// exactly one (400 otherwise); a command is recorded under its command
// line, and a workspace whose settings turn commands off answers 403,
// naming the setting.
func TestRunCommandOverHTTP(t *testing.T) {
	s := startServer(t, nil)
	ctx := ctxT(t)
	tok := s.enroll(t, "pi-1").Token
	c := apiclient.New(s.URL(), tok)
	if _, err := c.PutJobs(ctx, []byte(jobsYAML), 0); err != nil {
		t.Fatal(err)
	}
	post := func(body string) (int, api.ErrorDetail) {
		t.Helper()
		return rawJobs(t, s, tok, http.MethodPost, "/api/v1/runs", body)
	}

	for _, tc := range []struct{ name, body, says string }{
		{"a job and a command", `{"job":"here","command":["uname","-a"]}`, "asks for a job and a command: give only one"},
		{"a command and a shell", `{"command":["ls"],"shell":true}`, "asks for a command and a shell"},
		{"neither", `{"on":["pi-1"]}`, "A run needs something to run"},
		{"an empty command", `{"command":[],"on":["pi-1"]}`, "A run needs something to run"},
		{"args with a command", `{"command":["ls"],"args":["-l"]}`, "Arguments (args) go with a job"},
		{"a command on no device", `{"command":["ls"],"on":["nas-*"]}`, "No device matches nas-*"},
		{"a command as a string", `{"command":"uname -a"}`, "not the JSON expected"},
	} {
		status, e := post(tc.body)
		if status != http.StatusBadRequest || e.Code != runlet.EINVALID || !strings.Contains(e.Message, tc.says) {
			t.Errorf("%s: %d %+v, want 400 saying %q", tc.name, status, e, tc.says)
		}
	}

	run, err := c.Run(ctx, api.RunRequest{Command: []string{"echo", "hi there"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Targets) != 1 || run.Targets[0].Device != "pi-1" || run.Targets[0].Status != string(runlet.StatusPending) {
		t.Fatalf("a device's own command went to %+v, want pi-1 Pending", run.Targets)
	}
	got, err := c.Executions(ctx, api.ExecutionFilter{Job: "$ echo 'hi there'"})
	if err != nil || len(got) != 1 || got[0].ID != run.Execution {
		t.Errorf("executions of the command: %+v, %v; want %s recorded as $ echo 'hi there'", got, err, run.Execution)
	}
	// The answer to a shell on a device whose daemon does not run.
	if status, e := post(`{"shell":true,"on":["pi-1"]}`); status != http.StatusConflict || !strings.Contains(e.Message, "pi-1 is offline") {
		t.Errorf("a shell on an offline device: %d %+v, want 409 saying it is offline", status, e)
	}

	if _, err := c.PutJobs(ctx, []byte("settings:\n  commands: false\n"+jobsYAML), 1); err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{`{"command":["uname","-a"],"on":["pi-1"]}`, `{"shell":true,"on":["pi-1"]}`} {
		status, e := post(body)
		if status != http.StatusForbidden || e.Code != runlet.EFORBIDDEN || !strings.Contains(e.Message, "'commands: false' under settings") {
			t.Errorf("%s with commands off: %d %+v, want 403 naming the setting", body, status, e)
		}
	}
	if status, e := post(`{"job":"here"}`); status != http.StatusCreated {
		t.Errorf("a job with commands off: %d %+v, want 201", status, e)
	}
}
