package cli_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/jobspec"
)

// The text of other parties (a device's heartbeat, an invited e-mail, a
// job someone else wrote, the server's own messages) reaches the terminal
// escaped. A stub API serves it, as an old database or a lying server
// would: the server's input checks are not what these tests rely on.

const (
	retitle = "\x1b]0;pwned\x07" // sets the terminal's title
	clear   = "\x1b[2J"          // clears the screen
)

// hostileHome is a home signed in to a stub API that answers path with
// body (a value encoded as JSON) and status.
func hostileHome(t *testing.T, routes map[string]any, status int) string {
	t.Helper()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := routes[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(body)
	}))
	t.Cleanup(api.Close)
	h := filepath.Join(t.TempDir(), "home")
	if err := home.Dir(h).SaveCredentials(&home.Credentials{Server: api.URL, Token: "rlt_test", Device: "mac", Workspace: "ws"}); err != nil {
		t.Fatal(err)
	}
	return h
}

// wantNoControls fails when out holds an ESC, a BEL, a CR or a C1 CSI,
// and checks that the escaped forms are there instead.
func wantNoControls(t *testing.T, what, out string, escaped ...string) {
	t.Helper()
	if strings.ContainsAny(out, "\x1b\x07\r\u009b") {
		t.Errorf("%s wrote a raw control character to the terminal:\n%q", what, out)
	}
	for _, e := range escaped {
		if !strings.Contains(out, e) {
			t.Errorf("%s does not show the hostile text escaped as %q:\n%s", what, e, out)
		}
	}
}

func TestDevicesEscapeHeartbeatText(t *testing.T) {
	h := hostileHome(t, map[string]any{api.Prefix + "/devices": map[string]any{"devices": []api.Device{{
		Name: "pi-1", OS: retitle, Arch: "arm64" + clear, Version: "1.0\u009b31m", Online: true, LastSeen: time.Now(),
	}}}}, http.StatusOK)
	r := runIn(t, h, "", "devices")
	if r.code != 0 {
		t.Fatalf("devices: exit %d\n%s%s", r.code, r.out, r.err)
	}
	wantNoControls(t, "runlet devices", r.out, `\x1b]0;pwned\a`, `arm64\x1b[2J`, `1.0\u009b31m`)
	// The escaped row keeps its columns: pi-1 is still online.
	if !onlineIn(r.out, "pi-1") {
		t.Errorf("runlet devices lost its columns:\n%s", r.out)
	}
}

func TestActivityEscapesEmails(t *testing.T) {
	e := runlet.Execution{
		ID: "e1", Job: "deploy", Device: "pi-1" + retitle, Client: "ada" + clear + "@example.com",
		Status: runlet.StatusError, Signal: "SIG" + retitle, Started: time.Now().Add(-time.Minute), Finished: time.Now(),
	}
	run := runlet.Run{ID: e.ID, Job: "deploy" + clear, Client: e.Client, Created: e.Started, Targets: []runlet.Execution{e}}
	page := api.RunsOf([]runlet.Run{run}, runlet.RunCursor{})
	page.Runs[0].Outcome = "Done" + clear // what a newer (or lying) server might say
	h := hostileHome(t, map[string]any{api.Prefix + "/runs": page}, http.StatusOK)
	r := runIn(t, h, "", "activity")
	if r.code != 0 {
		t.Fatalf("activity: exit %d\n%s%s", r.code, r.out, r.err)
	}
	wantNoControls(t, "runlet activity", r.out, `ada\x1b[2J@example.com`, `SIG\x1b]0;pwned\a`, `pi-1\x1b]0;pwned\a`, `deploy\x1b[2J`, `Done\x1b[2J`)
}

func TestConfigListEscapesJobText(t *testing.T) {
	jobs := api.Jobs{Version: 1, Jobs: []*jobspec.Job{{Name: "deploy", Description: "Deploys" + retitle, Where: jobspec.WhereLocal}}}
	h := hostileHome(t, map[string]any{api.Prefix + "/jobs": jobs}, http.StatusOK)
	r := runIn(t, h, "", "@config", "list")
	if r.code != 0 {
		t.Fatalf("@config list: exit %d\n%s%s", r.code, r.out, r.err)
	}
	wantNoControls(t, "runlet @config list", r.out, `Deploys\x1b]0;pwned\a`)
}

// TestServerMessagesEscaped: an error message from the server goes
// through the one place the CLI prints errors, escaped but on its lines.
func TestServerMessagesEscaped(t *testing.T) {
	body := api.ErrorBody{Error: api.ErrorDetail{Code: runlet.EINVALID, Message: "Nope" + clear + "\nsecond line\rforged"}}
	h := hostileHome(t, map[string]any{api.Prefix + "/devices": body}, http.StatusBadRequest)
	r := runIn(t, h, "", "devices")
	if r.code == 0 {
		t.Fatalf("devices with a 400: exit 0\n%s", r.out)
	}
	wantNoControls(t, "an error message", r.err, `Nope\x1b[2J`, "\nsecond line\\rforged")
}
