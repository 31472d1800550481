package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/cmd/assemble"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/server"
	"golang.org/x/crypto/bcrypt"
)

// The fuzz targets of the HTTP API send their bodies through the whole
// handler (routing, body limit, authentication, decoding, the handler
// itself, the store) in-process: one server per target and worker, each
// request through httptest.NewRecorder, no sockets. Whatever the body, the
// answer is never a 5xx, an error is the JSON a client reads, and cheap
// invariants of the state hold.

// fuzzAPI is one server a fuzz target sends its requests to.
type fuzzAPI struct {
	s      *assemble.Server
	h      http.Handler
	host   string // the Host and Origin of a page of the server
	origin string
	admin  string // a session token of the admin
	log    *testenv.Buffer
}

// newFuzzAPI starts a server with a device (pi-1) signed in and the jobs
// of jobsYAML. Its log keeps errors only, for a failure's message: t.Log
// may not be called while fuzzing.
func newFuzzAPI(f *testing.F) *fuzzAPI {
	f.Helper()
	log := &testenv.Buffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := assemble.Start(ctx, assemble.Config{
		Config: server.Config{
			Listen: "127.0.0.1:0", DataDir: f.TempDir(), Out: log,
			Logger: slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelError})),
		},
		BrokerListen: "127.0.0.1:0", AdminPassword: "pw-admin", SweepInterval: time.Second, PasswordCost: bcrypt.MinCost,
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	u, _ := url.Parse(s.URL())
	a := &fuzzAPI{s: s, h: s.Handler(), host: u.Host, origin: s.URL(), log: log}
	login, err := apiclient.New(s.URL(), "").Login(ctx, server.AdminEmail, "pw-admin")
	if err != nil {
		f.Fatal(err)
	}
	a.admin = login.Token
	tok, err := s.EnrollToken()
	if err != nil {
		f.Fatal(err)
	}
	if _, err := apiclient.New(s.URL(), "").Enroll(ctx, api.EnrollRequest{Token: tok, Name: "pi-1"}); err != nil {
		f.Fatal(err)
	}
	if _, err := apiclient.New(s.URL(), a.admin).PutJobs(ctx, []byte(jobsYAML), apiclient.NoVersion); err != nil {
		f.Fatal(err)
	}
	return a
}

// serve sends one request through the handler, as a page of the server
// would (Host, Origin), with token as its bearer token when not "".
func (a *fuzzAPI) serve(method, path, token string, body []byte, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, bytes.NewReader(body))
	r.Host = a.host
	r.Header.Set("Origin", a.origin)
	r.Header.Set("Content-Type", "application/json")
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	a.h.ServeHTTP(w, r)
	return w
}

// check fails on a 5xx, and on an error that is not the JSON of
// apiclient.ErrorBody (or, from the device token endpoint, RFC 8628's).
func (a *fuzzAPI) check(t *testing.T, what string, body []byte, w *httptest.ResponseRecorder) {
	t.Helper()
	if w.Code >= 500 {
		t.Fatalf("%s with body %q: %d %s\nlog:\n%s", what, body, w.Code, w.Body, a.log)
	}
	if w.Code < 400 {
		return
	}
	var e api.ErrorBody
	if json.Unmarshal(w.Body.Bytes(), &e) == nil && e.Error.Code != "" && e.Error.Message != "" {
		return
	}
	var o api.OAuthErrorBody
	if strings.HasSuffix(what, "/device/token") && json.Unmarshal(w.Body.Bytes(), &o) == nil && o.Error != "" {
		return
	}
	t.Fatalf("%s with body %q: %d %q is not a JSON error", what, body, w.Code, w.Body)
}

// fuzzEndpoints are the JSON bodies FuzzAPIBodies sends, each with a
// seed. (The sign-in throttle soon answers the password endpoints 429:
// their bodies are decoded all the same.)
var fuzzEndpoints = []struct {
	method, path string
	admin        bool // sent with the admin's token
	seed         any
}{
	{"POST", "/api/v1/runs", true, api.RunRequest{Job: "hello", Args: []string{"world"}, Where: "custom", On: []string{"pi-1"}}},
	{"POST", "/api/v1/login", false, api.LoginRequest{Email: "nobody@example.com", Password: "x"}},
	{"POST", "/api/v1/session", false, api.LoginRequest{Email: "nobody@example.com", Password: "x"}},
	{"PATCH", "/api/v1/workspace", true, map[string]string{"name": "lab"}},
	{"POST", "/api/v1/members", true, api.InviteRequest{Email: "ada@example.com", Role: "member"}},
	{"POST", "/api/v1/enrollment-tokens", true, api.CreateEnrollmentTokenRequest{TTL: "1h"}},
	{"POST", "/api/v1/device/approval", true, api.ApprovalRequest{Code: "BCDF-GHJK", Action: "approve"}},
	{"POST", "/api/v1/device/code", false, api.DeviceCodeRequest{Name: "laptop"}},
	{"POST", "/api/v1/device/token", false, api.DeviceTokenRequest{DeviceCode: "rld_x"}},
	{"POST", "/api/v1/enroll", false, api.EnrollRequest{Token: "rle_x", Name: "pi-2", OS: "linux"}},
	{"POST", "/api/v1/invites/accept", false, api.AcceptInviteRequest{Token: "rli_x", Name: "Ada", Password: "long enough"}},
	{"PUT", "/api/v1/user/password", true, api.PasswordChange{Current: "not it", New: "long enough"}},
	{"POST", "/api/v1/sensors", true, map[string]any{"id": 123, "secret": json.Number("64089519511846157"), "name": "Fridge"}},
	{"PATCH", "/api/v1/sensors/123", true, api.SensorUpdate{Secret: new(api.SensorSecret("790"))}},
	{"PUT", "/api/v1/telemetry/settings", true, map[string]any{"retention": "30d", "autoRegister": true}},
	{"PUT", "/api/v1/alerts/settings", true, map[string]any{"defaults": map[string]any{"tempMax": 8, "silence": "1h"}, "every": "30m", "routing": map[string]string{"threshold.batt": "both"}}},
	{"PUT", "/api/v1/notify/settings", true, map[string]any{"smtp": map[string]any{"host": "smtp.example.com", "password": "p"}, "sms": map[string]any{"url": "https://sms.example.com", "body": "{{.To}}", "headers": map[string]string{"X-Key": "k"}}}},
	{"POST", "/api/v1/channels", true, map[string]any{"kind": "webhook", "target": "https://hooks.example.com/x", "secret": "s", "routes": []string{"offline"}}},
}

// FuzzAPIBodies sends a body to one of the main JSON endpoints: the
// answer is never a 5xx, an error is a JSON error, and what a 2xx stored
// (a workspace name, an invited e-mail, an execution) is as the API
// promises.
func FuzzAPIBodies(f *testing.F) {
	for i, e := range fuzzEndpoints {
		b, _ := json.Marshal(e.seed)
		f.Add(uint8(i), b)
		f.Add(uint8(i), []byte(`{"`))
		f.Add(uint8(i), []byte(`[]`))
	}
	f.Add(uint8(0), []byte(`{"job":"hello","args":["{{"],"size":{"cols":0,"rows":65535}}`))
	f.Add(uint8(0), []byte(`{"command":["printf","%s\n","a b","\u001b[2J"],"on":["pi-1"]}`))
	f.Add(uint8(0), []byte(`{"shell":true,"on":["pi-1"]}`))
	f.Add(uint8(3), []byte(`{"name":"\u001b]0;x\u0007"}`))
	a := newFuzzAPI(f)
	f.Fuzz(func(t *testing.T, endpoint uint8, body []byte) {
		e := fuzzEndpoints[int(endpoint)%len(fuzzEndpoints)]
		token := ""
		if e.admin {
			token = a.admin
		}
		w := a.serve(e.method, e.path, token, body)
		what := e.method + " " + e.path
		a.check(t, what, body, w)
		if w.Code >= 300 {
			return
		}
		switch e.path {
		case "/api/v1/workspace":
			var ws api.WorkspaceInfo
			if json.Unmarshal(w.Body.Bytes(), &ws) != nil || ws.Name == "" || runlet.CheckText("name", ws.Name, 0) != nil {
				t.Fatalf("%s with body %q renamed the workspace to %q", what, body, ws.Name)
			}
		case "/api/v1/members":
			var inv api.InviteResponse
			if json.Unmarshal(w.Body.Bytes(), &inv) != nil || runlet.CheckText("email", inv.Member.User.Email, 0) != nil {
				t.Fatalf("%s with body %q invited %q", what, body, inv.Member.User.Email)
			}
		case "/api/v1/sensors", "/api/v1/sensors/123", "/api/v1/channels":
			if strings.Contains(strings.ToLower(w.Body.String()), `"secret"`) || (e.path != "/api/v1/channels" && strings.Contains(strings.ToLower(w.Body.String()), "secret")) {
				t.Fatalf("%s with body %q answers a secret: %s", what, body, w.Body)
			}
		case "/api/v1/notify/settings":
			if strings.Contains(w.Body.String(), `"password"`) || strings.Contains(w.Body.String(), `"headers"`) {
				t.Fatalf("%s with body %q answers a password or a header value: %s", what, body, w.Body)
			}
		case "/api/v1/runs":
			var run api.RunResponse
			if json.Unmarshal(w.Body.Bytes(), &run) != nil || len(run.Targets) == 0 {
				t.Fatalf("%s with body %q: %s, want an execution with targets", what, body, w.Body)
			}
			if g := a.serve("GET", "/api/v1/executions/"+run.Execution, a.admin, nil); g.Code != http.StatusOK {
				t.Fatalf("the execution %s that %s made: GET %d %s", run.Execution, what, g.Code, g.Body)
			}
		}
	})
}

// FuzzPutJobs sends a job file: never a 5xx; a refused file changes
// nothing, a saved one is what the store holds; nothing (an empty body,
// comments) is always refused.
func FuzzPutJobs(f *testing.F) {
	f.Add([]byte(jobsYAML), "")
	f.Add([]byte("hello: echo hi\n"), "1")
	f.Add([]byte(""), "")
	f.Add([]byte("# nothing\n"), "*")
	f.Add([]byte("{}"), "")
	f.Add([]byte("a:\n  script: [\n"), "")
	f.Add([]byte("a:\n  script: echo {{ index .Args 1 }}\n  every: every day at 02:00\n  where: custom\n  whereCustom: [pi-1]\n"), "")
	a := newFuzzAPI(f)
	// The stored job set, read from the store: GET /jobs would parse it
	// each time, halving the execs per second.
	wss, err := a.s.Store.ListWorkspaces(context.Background())
	if err != nil || len(wss) != 1 {
		f.Fatalf("workspaces: %v %v", wss, err)
	}
	stored := func(t *testing.T) (int64, string) {
		src, version, _, err := a.s.Store.GetJobs(context.Background(), wss[0].ID)
		if err != nil {
			t.Fatalf("read the jobs: %v", err)
		}
		return version, string(src)
	}
	f.Fuzz(func(t *testing.T, body []byte, ifMatch string) {
		before, _ := stored(t)
		var w *httptest.ResponseRecorder
		if ifMatch == "" {
			w = a.serve("PUT", "/api/v1/jobs", a.admin, body)
		} else {
			w = a.serve("PUT", "/api/v1/jobs", a.admin, body, "If-Match", ifMatch)
		}
		a.check(t, "PUT /api/v1/jobs", body, w)
		after, source := stored(t)
		switch {
		case w.Code >= 300 && after != before:
			t.Fatalf("PUT %q was refused (%d) but the jobs went from version %d to %d", body, w.Code, before, after)
		case w.Code < 300 && (after == before || source != string(body)):
			t.Fatalf("PUT %q was saved (%d) but the store has version %d (was %d) and source %q", body, w.Code, after, before, source)
		case w.Code < 300 && len(bytes.TrimSpace(body)) == 0:
			t.Fatalf("PUT %q (nothing) was saved", body)
		}
	})
}
