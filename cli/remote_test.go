package cli_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/cmd/assemble"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/internal/testenv"
)

func TestSigninWithTokenThenSignout(t *testing.T) {
	f := startFleet(t)
	h := f.signin("pi-1")
	st, err := os.Stat(filepath.Join(h, "credentials.json"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("credentials have mode %v, want 0600", st.Mode().Perm())
	}
	cred, err := home.Dir(h).Credentials()
	if err != nil {
		t.Fatal(err)
	}
	if cred.Device != "pi-1" || cred.Token == "" || cred.Broker == "" || cred.Server != f.url {
		t.Errorf("credentials %+v lack the device, token, broker or server", cred)
	}

	tok, _ := f.srv.EnrollToken()
	if r := runIn(t, h, "", "@signin", "--server", f.url, "--token", tok); r.code == 0 || !strings.Contains(r.err, "already signed in") {
		t.Errorf("signing in twice: exit %d, stderr %q", r.code, r.err)
	}
	other := filepath.Join(t.TempDir(), "other")
	if r := runIn(t, other, "", "@signin", "--server", f.url, "--name", "pi-1", "--token", tok); r.code == 0 || !strings.Contains(r.err, "pi-1") {
		t.Errorf("a second device named pi-1: exit %d, stderr %q", r.code, r.err)
	}
	if r := runIn(t, other, "", "@signin", "--server", f.url, "--name", "pi-9", "--token", "wrong"); r.code == 0 {
		t.Errorf("a wrong enrollment token was taken: %q", r.out)
	}

	r := runIn(t, h, "", "@signout")
	if r.code != 0 || !strings.Contains(r.out, "Signed out") {
		t.Fatalf("signout: exit %d\n%s%s", r.code, r.out, r.err)
	}
	if _, err := home.Dir(h).Credentials(); err == nil {
		t.Error("credentials still there after signout")
	}
	// The old token is revoked on the server.
	if _, err := apiclient.FromCredentials(cred).Whoami(context.Background()); err == nil {
		t.Error("the signed-out device's token still works")
	}
	if r := runIn(t, h, "", "signout"); r.code != 0 || !strings.Contains(r.out, "not signed in") {
		t.Errorf("second signout: exit %d, %q %q", r.code, r.out, r.err)
	}
}

func TestSignoutForgetsEvenWhenServerIsGone(t *testing.T) {
	h := t.TempDir()
	err := home.Dir(h).SaveCredentials(&home.Credentials{Server: "http://127.0.0.1:1", Device: "pi-1", Token: "x"})
	if err != nil {
		t.Fatal(err)
	}
	r := runIn(t, h, "", "@signout")
	if r.code == 0 || !strings.Contains(r.err, "could not revoke") {
		t.Errorf("exit %d, stderr %q: want a failure saying the device was not revoked", r.code, r.err)
	}
	if _, err := home.Dir(h).Credentials(); err == nil {
		t.Error("credentials kept although the person signed out")
	}
}

// userCode finds the code the device flow printed.
var userCodeRE = regexp.MustCompile(`enter the code\s+(\S+)`)

func TestSigninDeviceFlow(t *testing.T) {
	f := startFleet(t)
	for _, tc := range []struct {
		action   string
		wantCode int
		want     string
	}{
		{"approve", 0, "Signed in to workspace"},
		{"deny", 1, "denied"},
	} {
		t.Run(tc.action, func(t *testing.T) {
			h := filepath.Join(t.TempDir(), "home")
			out := &testenv.Buffer{}
			errb := &testenv.Buffer{}
			done := make(chan int, 1)
			go func() {
				done <- runMainWith(h, out, errb, "@signin", "--server", f.url, "--name", "dev-"+tc.action)
			}()
			var code string
			if !testenv.Poll(30*time.Second, testenv.Interval, func() bool {
				if m := userCodeRE.FindStringSubmatch(out.String()); m != nil {
					code = m[1]
				}
				return code != ""
			}) {
				t.Fatalf("no user code printed:\n%s%s", out, errb)
			}
			if !strings.Contains(out.String(), f.url+"/device") || !strings.Contains(out.String(), "▀") {
				t.Errorf("the output lacks the verification URL or the QR code:\n%s", out)
			}
			resp, err := http.PostForm(f.url+"/device", url.Values{
				"code": {code}, "email": {"admin@localhost"}, "password": {adminPassword}, "action": {tc.action},
			})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("approval page answered %s", resp.Status)
			}
			select {
			case c := <-done:
				if c != tc.wantCode || !strings.Contains(out.String()+errb.String(), tc.want) {
					t.Fatalf("exit %d, want %d with %q:\n%s%s", c, tc.wantCode, tc.want, out, errb)
				}
			case <-time.After(60 * time.Second):
				t.Fatalf("signin did not end after the %s:\n%s", tc.action, out)
			}
			_, err = home.Dir(h).Credentials()
			if (err == nil) != (tc.wantCode == 0) {
				t.Errorf("credentials saved: %v, want %v", err == nil, tc.wantCode == 0)
			}
		})
	}
}

func TestRemoteRunOnAnotherDevice(t *testing.T) {
	f := startFleet(t)
	pi := f.signin("pi-1")
	f.device("mac")
	applyJobs(t, pi, `
hello:
  script: |
    echo "hello {{ index .Args 1 }} from the other side"
    exit 3
`)
	r := runIn(t, pi, "", "@run", "hello", "world", "--on", "mac")
	if r.code != 3 || !strings.Contains(r.out, "hello world from the other side") {
		t.Fatalf("run on mac: exit %d, want 3\nstdout:\n%s\nstderr:\n%s", r.code, r.out, r.err)
	}
}

func TestRemoteRunOnSeveralDevicesPrefixesLines(t *testing.T) {
	f := startFleet(t)
	pi := f.device("pi-1")
	f.device("pi-2")
	applyJobs(t, pi, "both: |\n  echo one\n  echo two\n  exit 4\n")
	r := runIn(t, pi, "", "run", "both", "--where", "custom", "--on", "pi-1,pi-2")
	if r.code != 4 {
		t.Fatalf("exit %d, want 4\n%s\n%s", r.code, r.out, r.err)
	}
	for _, want := range []string{"pi-1 | one", "pi-1 | two", "pi-2 | one", "pi-2 | two"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("output lacks %q:\n%s", want, r.out)
		}
	}
	if !strings.Contains(r.err, "pi-1: Finished") || !strings.Contains(r.err, "pi-2: Finished") {
		t.Errorf("no summary per device on stderr:\n%s", r.err)
	}

	// --json: the output on stderr, the final records on stdout.
	r = runIn(t, pi, "", "run", "both", "--on", "pi-1,pi-2", "--json")
	var recs []runlet.Execution
	if err := json.Unmarshal([]byte(r.out), &recs); err != nil || len(recs) != 2 || recs[0].ExitCode != 4 {
		t.Errorf("run --json printed %q (%v)", r.out, err)
	}
	if r.code != 4 || !strings.Contains(r.err, "pi-2 | two") {
		t.Errorf("run --json: exit %d, stderr:\n%s", r.code, r.err)
	}

	// attach must be told which of the two to join.
	r = runIn(t, pi, "", "run", "both", "--on", "pi-1,pi-2", "--detach")
	exec := strings.TrimSpace(r.out)
	r = runIn(t, pi, "", "attach", exec)
	if r.code != 2 || !strings.Contains(r.err, "pi-1, pi-2") || !strings.Contains(r.err, "--device") {
		t.Errorf("attach without --device to two targets: exit %d\n%s", r.code, r.err)
	}
	if r := runIn(t, pi, "", "attach", exec, "--device", "pi-2"); r.code != 4 || !strings.Contains(r.out, "two") {
		t.Errorf("attach --device pi-2: exit %d\n%s%s", r.code, r.out, r.err)
	}
}

func TestRunUnknownJobOrDevice(t *testing.T) {
	f := startFleet(t)
	pi := f.signin("pi-1")
	applyJobs(t, pi, "a: echo a\n")
	if r := runIn(t, pi, "", "run", "nope"); r.code == 0 || !strings.Contains(r.err, "nope") {
		t.Errorf("unknown job: exit %d, %q", r.code, r.err)
	}
	if r := runIn(t, pi, "", "run", "a", "--on", "ghost"); r.code != 2 || !strings.Contains(r.err, "pi-1") {
		t.Errorf("unknown device: exit %d, %q (want the known devices listed)", r.code, r.err)
	}
	if r := runIn(t, pi, "", "run", "a", "--where", "everywhere"); r.code != 2 || !strings.Contains(r.err, "--where") {
		t.Errorf("bad --where: exit %d, %q", r.code, r.err)
	}
	if r := runIn(t, pi, "", "run", "a", "--where", "all", "--on", "pi-1"); r.code != 2 {
		t.Errorf("--on with --where all: exit %d, %q", r.code, r.err)
	}
}

func TestRunOfAnExpiredExecutionEnds(t *testing.T) {
	f := startFleet(t)
	pi := f.signin("pi-1")
	f.signin("mac") // never online
	applyJobs(t, pi, "late:\n  script: echo never\n  expires: 1s\n")
	r := runIn(t, pi, "", "run", "late", "--on", "mac")
	if r.code != 1 || strings.Contains(r.out, "never") || !strings.Contains(r.err, "did not complete") {
		t.Errorf("expired run: exit %d\n%s\n%s", r.code, r.out, r.err)
	}
}

func TestSigninCodeExpires(t *testing.T) {
	f := startFleet(t, func(c *assemble.Config) { c.CodeTTL = time.Second })
	h := filepath.Join(t.TempDir(), "home")
	r := runIn(t, h, "", "@signin", "--server", f.url, "--name", "slow")
	if r.code != 1 || !strings.Contains(r.err, "expired") {
		t.Errorf("exit %d\n%s\n%s", r.code, r.out, r.err)
	}
}

func TestDetachAttachActivityAndKill(t *testing.T) {
	f := startFleet(t)
	pi := f.device("pi-1")
	mac := f.device("mac")
	applyJobs(t, pi, `
count: |
  for i in 1 2 3; do echo "line $i"; done
  exit 5
wait: |
  echo started
  sleep 60
`)
	r := runIn(t, pi, "", "@run", "count", "--on", "mac", "--detach", "--json")
	if r.code != 0 {
		t.Fatalf("detach: exit %d\n%s", r.code, r.err)
	}
	var run api.RunResponse
	if err := json.Unmarshal([]byte(r.out), &run); err != nil || run.Execution == "" {
		t.Fatalf("detach --json printed %q: %v", r.out, err)
	}
	// A late viewer on a third device gets everything from the start.
	third := f.signin("laptop")
	r = runIn(t, third, "", "attach", run.Execution)
	if r.code != 5 || !strings.Contains(r.out, "line 1") || !strings.Contains(r.out, "line 3") {
		t.Fatalf("attach: exit %d, want 5\n%s\n%s", r.code, r.out, r.err)
	}
	if r := runIn(t, third, "", "attach", run.Execution, "--device", "pi-1"); r.code == 0 || !strings.Contains(r.err, "mac") {
		t.Errorf("attach to a device the execution does not run on: exit %d, %q", r.code, r.err)
	}

	// The CLI may hear the end from the device before the server has it.
	waitFinal(t, pi, run.Execution)
	r = runIn(t, pi, "", "activity", "--json")
	execs, err := activityTargets(r.out)
	if err != nil || len(execs) == 0 {
		t.Fatalf("activity --json printed %q: %v", r.out, err)
	}
	if e := execs[0]; e.ID != run.Execution || e.Device != "mac" || e.ExitCode != 5 || e.Client != "pi-1" {
		t.Errorf("newest activity %+v, want the count on mac from pi-1 with exit 5", e)
	}
	r = runIn(t, pi, "", "activity")
	if !strings.Contains(r.out, "ID") || !strings.Contains(r.out, run.Execution) || !strings.Contains(r.out, "Finished") {
		t.Errorf("activity table:\n%s", r.out)
	}

	// Kill a long job from a third device.
	r = runIn(t, mac, "", "run", "wait", "--on", "pi-1", "--detach")
	exec := strings.TrimSpace(r.out)
	if r.code != 0 || exec == "" {
		t.Fatalf("detach: exit %d %q %q", r.code, r.out, r.err)
	}
	out, errb := &testenv.Buffer{}, &testenv.Buffer{}
	attached := make(chan int, 1)
	go func() { attached <- runMainWith(mac, out, errb, "attach", exec) }()
	waitText(t, out, "started")
	if r := runIn(t, third, "", "kill", exec); r.code != 0 || !strings.Contains(r.out, "kill") {
		t.Fatalf("kill: exit %d %q %q", r.code, r.out, r.err)
	}
	select {
	case code := <-attached:
		if code != 128+9 {
			t.Errorf("attach to a killed job: exit %d, want 137\n%s\n%s", code, out, errb)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("attach did not end after the kill")
	}
	waitFinal(t, pi, exec)
	r = runIn(t, pi, "", "activity", "--json", "--job", "wait")
	if execs, err = activityTargets(r.out); err != nil || len(execs) != 1 || !execs[0].Killed || execs[0].Signal != "SIGKILL" {
		t.Errorf("activity of the killed job: %s (%v)", r.out, err)
	}
}

// waitText waits until b shows text.
func waitText(t *testing.T, b *testenv.Buffer, text string) {
	t.Helper()
	if !testenv.Poll(30*time.Second, testenv.Interval, func() bool { return strings.Contains(b.String(), text) }) {
		t.Fatalf("waiting for %q; so far:\n%s", text, b)
	}
}

// waitFinal waits until the server has the final status of exec.
func waitFinal(t *testing.T, h, exec string) {
	t.Helper()
	var r result
	if !testenv.Poll(30*time.Second, 50*time.Millisecond, func() bool {
		r = runIn(t, h, "", "activity", "--json")
		execs, _ := activityTargets(r.out)
		for _, e := range execs {
			if e.ID == exec && e.Status.Final() {
				return true
			}
		}
		return false
	}) {
		t.Fatalf("execution %s never ended:\n%s%s", exec, r.out, r.err)
	}
}

func TestDevicesTable(t *testing.T) {
	f := startFleet(t)
	pi := f.device("pi-1")
	f.signin("mac") // never online
	waitOnline(t, pi, "pi-1")
	r := runIn(t, pi, "", "devices")
	for _, want := range []string{"NAME", "ONLINE", "LAST SEEN", "RUNNING", "pi-1", "mac"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("devices lacks %q:\n%s", want, r.out)
		}
	}
	if onlineIn(r.out, "mac") {
		t.Errorf("mac shown online without a daemon:\n%s", r.out)
	}
	r = runIn(t, pi, "", "devices", "--json")
	var devs []api.Device
	if err := json.Unmarshal([]byte(r.out), &devs); err != nil || len(devs) != 2 {
		t.Fatalf("devices --json: %q: %v", r.out, err)
	}
}

func TestVerbsNeedSignin(t *testing.T) {
	h := t.TempDir()
	for _, args := range [][]string{{"devices"}, {"activity"}, {"attach", "x"}, {"stop", "x"}, {"kill", "x"}, {"@config", "list"}, {"@config"}, {"@run", "x"}} {
		r := runIn(t, h, "", args...)
		if r.code == 0 || !strings.Contains(r.err, "@signin") {
			t.Errorf("%v without signing in: exit %d, stderr %q", args, r.code, r.err)
		}
	}
}
