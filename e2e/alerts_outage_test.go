//go:build !windows

package e2e_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/server"
)

// dbOutage is how long the test keeps the database cut off at least:
// long enough for the ingest to fail and nack a batch more than once,
// for the alert leader's lease and the sender's polls to fail.
const dbOutage = 6 * time.Second

// TestAlertsDatabaseOutage (issue 14, a failure case): the server's
// PostgreSQL database unreachable for a while. A server with embedded
// NATS on a fresh PostgreSQL database reached through a proxy the test
// cuts; pi-1's daemon; a fridge with a maximum of 8 °C; the workspace's
// webhook. While the database is cut, readings out of range are pushed:
// the daemon hands them to the broker, the ingest cannot store them and
// nacks them for redelivery; the admin API answers 503 with a sentence
// that says why, to a token taken before the cut and to a request for a
// new one. Once the database is back, without a restart, the readings
// are stored, the alert opens and the webhook takes one notification;
// the alert leader works again (a silence alert after the outage).
func TestAlertsDatabaseOutage(t *testing.T) {
	db := testenv.Postgres(t)
	u, err := url.Parse(db)
	if err != nil {
		t.Fatal(err)
	}
	proxy := testenv.StartProxy(t, u.Host)
	u.Host = proxy.Addr()
	af := newAlertFleetArgs(t, "--db", u.String())
	max8 := 8.0
	fridge := af.sensor(t, 14301, "Fridge O", runlet.SensorRules{Thresholds: runlet.Thresholds{TempMax: &max8}})
	key := runlet.ThresholdKey(fridge.ID, runlet.MetricTemp)
	quiet := af.sensor(t, 14302, "Fridge P", runlet.SensorRules{Silence: runlet.Duration(3 * time.Second)})

	// An admin token (a JWT) taken before the cut.
	jwt := adminToken(t, af.f.url)
	if st, body := adminGet(t, af.f.url, jwt, "/admin/devices"); st != http.StatusOK {
		t.Fatalf("GET /admin/devices before the cut: %d %s", st, body)
	}

	// The ingest fails at the first step that needs the database (the
	// sending device's lookup, or the batch's transaction) and leaves the
	// delivery to come again.
	failures := func() int { return strings.Count(af.f.server.out.String(), " telemetry; it will come again") }
	before := failures()
	proxy.Cut()
	cut := time.Now()
	t.Log("database cut")

	af.push(t, fridge, 9.5)
	af.push(t, fridge, 10.5)

	// The admin API says the database does not answer, with 503.
	for _, c := range []struct {
		what string
		get  func() (int, string)
	}{
		{"GET /admin/devices with a token taken before the cut", func() (int, string) {
			return adminGet(t, af.f.url, jwt, "/admin/devices")
		}},
		{"POST /admin/token", func() (int, string) { return adminTokenRequest(t, af.f.url) }},
	} {
		st, body := c.get()
		if st != http.StatusServiceUnavailable {
			t.Errorf("%s while the database is cut: %d %s; want 503", c.what, st, body)
			continue
		}
		var e api.ErrorBody
		if err := json.Unmarshal([]byte(body), &e); err != nil {
			t.Errorf("%s while the database is cut answered %s: %v", c.what, body, err)
			continue
		}
		if e.Error.Code != runlet.EUNAVAILABLE || !strings.Contains(e.Error.Message, "The database does not answer") {
			t.Errorf("%s while the database is cut: %+v; want %s saying the database does not answer", c.what, e.Error, runlet.EUNAVAILABLE)
		}
		t.Logf("%s while the database is cut: %d %s", c.what, st, strings.TrimSpace(body))
	}

	// The ingest tries the readings and fails, more than once.
	testenv.EventuallyEvery(t, "the ingest to fail on the readings twice", alertPatience, pace, func() bool {
		return failures()-before >= 2
	})
	if d := time.Until(cut.Add(dbOutage)); d > 0 {
		time.Sleep(d) // the outage lasts its time
	}
	if n := len(af.hook.calls()); n != 0 {
		t.Fatalf("the webhook took %d calls while the database was cut", n)
	}
	proxy.Restore()
	restored := time.Now()
	t.Logf("database restored after %s; the ingest failed %d times meanwhile", restored.Sub(cut).Round(time.Millisecond), failures()-before)

	// Everything comes back without a restart.
	c := af.hook.wait(key, runlet.EventOpened)
	t.Logf("database restored → webhook in %s", c.At.Sub(restored).Round(time.Millisecond))
	// Redelivery may bring the two readings in either order: the alert
	// opens on whichever the ingest stores first.
	if (c.Payload.Value != 9.5 && c.Payload.Value != 10.5) || c.Payload.Limit != 8 {
		t.Errorf("the webhook of the excursion: value %v, limit %v; want 9.5 or 10.5, and 8", c.Payload.Value, c.Payload.Limit)
	}
	testenv.EventuallyEvery(t, "the two readings to be stored", alertPatience, pace, func() bool {
		page, err := af.admin.RawReadings(ctxFor(t), fridge.ID, api.RawQuery{Limit: 1000})
		return err == nil && len(page.Readings) == 2
	})
	if st, body := adminGet(t, af.f.url, jwt, "/admin/devices"); st != http.StatusOK {
		t.Errorf("GET /admin/devices after the database came back: %d %s", st, body)
	}
	if st, body := adminTokenRequest(t, af.f.url); st != http.StatusOK {
		t.Errorf("POST /admin/token after the database came back: %d %s", st, body)
	}
	af.wantSentOnce(t)
	as := af.alerts(t, fridge.ID)
	if len(as) != 1 || !as[0].Open() || as[0].Key != key {
		t.Errorf("alerts of sensor %d: %+v; want one open %s", fridge.ID, as, key)
	}

	// The alert leader, whose lease could not be renewed while the
	// database was cut, holds it again: a sensor heard after the outage and then silent
	// for its 3 s gets its silence alert.
	af.push(t, quiet, 4)
	af.hook.wait(runlet.SilenceKey(quiet.ID), runlet.EventOpened)
	af.wantSentOnce(t)
	told := 0
	for _, c := range af.hook.calls() {
		if c.Payload.Alert.Key == key {
			told++
		}
	}
	if told != 1 {
		t.Errorf("the webhook was told %d times of %s, want once", told, key)
	}
	if !af.f.server.running() {
		t.Errorf("the server ended: %v", af.f.server.err)
	}
}

// newAlertFleetArgs is newAlertFleet on a server started with extra
// flags (here a database of the test's choice), embedded NATS.
func newAlertFleetArgs(t *testing.T, serverArgs ...string) *alertFleet {
	t.Helper()
	f := &fleet{t: t, stack: embedded, serverArgs: serverArgs, data: t.TempDir(), homes: map[string]string{}, daemons: map[string]*proc{}, daemonRuns: map[string]int{}}
	f.listen, f.broker = freePort(t), freePort(t)
	f.url = "http://" + f.listen
	f.startServer()
	tok, err := os.ReadFile(filepath.Join(f.data, "enroll-token"))
	if err != nil {
		t.Fatalf("read the enrollment token: %v", err)
	}
	for _, name := range devices {
		h := filepath.Join(t.TempDir(), name)
		mustRun(t, h, "@signin", "--server", f.url, "--token", strings.TrimSpace(string(tok)), "--name", name)
		f.homes[name] = h
	}
	tf := &telemetryFleet{f: f, endpoints: map[string]string{}}
	tf.startGateway(t, "pi-1")
	login, err := apiclient.New(f.url, "").Login(ctxFor(t), server.AdminEmail, "correct horse battery")
	if err != nil {
		t.Fatalf("sign in as the admin: %v", err)
	}
	tf.admin = apiclient.New(f.url, login.Token)
	af := &alertFleet{telemetryFleet: tf, hook: newHook(t)}
	af.call(t, http.MethodPost, "/channels", map[string]any{"kind": "webhook", "target": af.hook.srv.URL + "/hook", "secret": hookSecret}, nil)
	return af
}

// adminTokenRequest is POST /admin/token as the admin: the status and
// body.
func adminTokenRequest(t *testing.T, base string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxFor(t), http.MethodPost, base+api.Prefix+"/admin/token", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(server.AdminEmail, "correct horse battery")
	return sendRequest(t, req)
}

// adminToken takes an admin token.
func adminToken(t *testing.T, base string) string {
	t.Helper()
	st, body := adminTokenRequest(t, base)
	var tok api.AdminToken
	if err := json.Unmarshal([]byte(body), &tok); st != http.StatusOK || err != nil || tok.Token == "" {
		t.Fatalf("POST /admin/token: %d %s (%v)", st, body, err)
	}
	return tok.Token
}

// adminGet is GET path (under /api/v1) with the admin token jwt.
func adminGet(t *testing.T, base, jwt, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxFor(t), http.MethodGet, base+api.Prefix+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+jwt)
	return sendRequest(t, req)
}

func sendRequest(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
