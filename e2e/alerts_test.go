//go:build !windows

package e2e_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/notify"
	"github.com/runlet/runlet/server"
	"github.com/runlet/runlet/telemetry/sim"
)

// Alerts end to end (issue 14, R-TEL-3 to R-TEL-5): real server and
// daemon processes, readings pushed with `runlet telemetry push`, a real
// webhook receiver that checks the signature and a real SMTP server
// (Mailpit), on the wall clock with short periods. The exact rules are
// the oracle test's (alert/oracle_test.go); here, that the pieces hold
// together: the alert and its recovery arrive by webhook and by mail, the
// silence alert and the sensor's return too; a server killed with
// SIGKILL between deciding and sending sends once after its restart; two
// server processes on one database decide and send each alert once.

// alertPatience bounds a wait for a notification: a silence of 3 s, the
// leader's poll, the sender's, on a loaded machine.
const alertPatience = 60 * time.Second

// hookSecret signs the test's webhooks.
const hookSecret = "e2e-hook-secret"

// hookCall is one request the webhook receiver took.
type hookCall struct {
	Key     string // Idempotency-Key
	Payload struct {
		Key     string            `json:"key"` // the alert's key
		Event   runlet.AlertEvent `json:"event"`
		Kind    runlet.AlertKind  `json:"kind"`
		Alert   runlet.Alert      `json:"alert"`
		Summary string            `json:"summary"`
		Value   float64           `json:"value"`
		Limit   float64           `json:"limit"`
	}
	At time.Time
}

// hook is a webhook receiver on loopback that checks every request's
// signature (notify.VerifyWebhook) and keeps the calls. hold, when set,
// is called in the handler before it answers (a test blocks there).
type hook struct {
	t    *testing.T
	srv  *httptest.Server
	mu   sync.Mutex
	got  []hookCall
	bad  []string
	hold func(hookCall)
}

func newHook(t *testing.T) *hook {
	h := &hook{t: t}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		if err := notify.VerifyWebhook(hookSecret, r, body, time.Minute); err != nil {
			h.mu.Lock()
			h.bad = append(h.bad, fmt.Sprintf("%s: %v", body, err))
			h.mu.Unlock()
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		c := hookCall{Key: r.Header.Get("Idempotency-Key"), At: time.Now()}
		if err := json.Unmarshal(body, &c.Payload); err != nil {
			h.mu.Lock()
			h.bad = append(h.bad, fmt.Sprintf("%s: not the payload: %v", body, err))
			h.mu.Unlock()
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.got = append(h.got, c)
		hold := h.hold
		h.mu.Unlock()
		if hold != nil {
			hold(c)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) calls() []hookCall {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.bad) > 0 {
		h.t.Fatalf("the webhook receiver refused %d requests: %q", len(h.bad), h.bad)
	}
	return slices.Clone(h.got)
}

// wait waits for a call about the alert key with event e and returns it.
func (h *hook) wait(key string, e runlet.AlertEvent) hookCall {
	h.t.Helper()
	var found hookCall
	testenv.EventuallyEvery(h.t, fmt.Sprintf("a webhook %s of %s", e, key), alertPatience, 50*time.Millisecond, func() bool {
		for _, c := range h.calls() {
			if c.Payload.Alert.Key == key && c.Payload.Event == e {
				found = c
				return true
			}
		}
		return false
	})
	return found
}

// alertFleet is a fleet with pi-1's daemon serving its readings
// endpoint, an admin's API client, the webhook receiver and (when
// started) Mailpit, with the workspace's channels to them.
type alertFleet struct {
	*telemetryFleet
	hook *hook
	mail *testenv.Mailpit
}

func newAlertFleet(t *testing.T, st stack, withMail bool) *alertFleet {
	f := newFleetOn(t, st, []string{}...)
	tf := &telemetryFleet{f: f, endpoints: map[string]string{}}
	tf.startGateway(t, "pi-1")
	login, err := apiclient.New(f.url, "").Login(ctxFor(t), server.AdminEmail, "correct horse battery")
	if err != nil {
		t.Fatalf("sign in as the admin: %v", err)
	}
	tf.admin = apiclient.New(f.url, login.Token)
	af := &alertFleet{telemetryFleet: tf, hook: newHook(t)}
	af.call(t, http.MethodPost, "/channels", map[string]any{"kind": "webhook", "target": af.hook.srv.URL + "/hook", "secret": hookSecret}, nil)
	if withMail {
		af.mail = testenv.StartMailpit(t, testenv.MailpitOptions{})
		af.call(t, http.MethodPut, "/notify/settings", map[string]any{"smtp": map[string]any{
			"host": af.mail.SMTPHost, "port": af.mail.SMTPPort, "tls": "none", "from": "runlet@example.com",
		}}, nil)
		af.call(t, http.MethodPost, "/channels", map[string]any{"kind": "email", "target": "ann@example.com"}, nil)
	}
	return af
}

// call sends in to the API path (under /api/v1) as the admin and decodes
// the answer into out.
func (af *alertFleet) call(t *testing.T, method, path string, in, out any) {
	t.Helper()
	apiCall(t, af.f.url, af.admin.Token, method, path, in, out)
}

// apiCall sends in as JSON to the API at base with the bearer token and
// decodes the answer into out; an answer of 300 or more fails the test.
func apiCall(t *testing.T, base, token, method, path string, in, out any) {
	t.Helper()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctxFor(t), method, base+api.Prefix+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %s: %s", method, path, resp.Status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s answered %s: %v", method, path, b, err)
		}
	}
}

// sensor registers a sensor with its rules.
func (af *alertFleet) sensor(t *testing.T, id int64, name string, rules runlet.SensorRules) sim.Sensor {
	t.Helper()
	s := sim.Sensor{ID: id, Name: name, Secret: fmt.Sprint(64089519511846157 + id)}
	_, err := af.admin.AddSensor(ctxFor(t), api.NewSensor{
		ID: s.ID, Name: s.Name, Secret: api.SensorSecret(s.Secret), Owner: server.AdminEmail, Location: "kitchen", Rules: &rules,
	})
	if err != nil {
		t.Fatalf("register sensor %d: %v", id, err)
	}
	return s
}

// push sends one reading of s, taken now, with `runlet telemetry push`
// through pi-1's daemon.
func (af *alertFleet) push(t *testing.T, s sim.Sensor, temp float64) {
	t.Helper()
	m := sim.Send{Sensor: s.ID, Time: time.Now().UnixMilli(), Temp: temp, Batt: 90, Secret: s.Secret}
	file := filepath.Join(t.TempDir(), "readings.jsonl")
	if err := os.WriteFile(file, append(sim.Line(m, false), '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, af.f.homes["pi-1"], "telemetry", "push", "--file", file)
}

// waitMail waits for a message to ann@example.com whose subject holds
// all of words and returns it.
func (af *alertFleet) waitMail(t *testing.T, words ...string) testenv.MailpitMessage {
	t.Helper()
	var found testenv.MailpitMessage
	testenv.EventuallyEvery(t, fmt.Sprintf("a mail about %q", words), alertPatience, 100*time.Millisecond, func() bool {
		for _, m := range af.mail.Messages(t) {
			ok := len(m.To) == 1 && m.To[0].Address == "ann@example.com"
			for _, w := range words {
				ok = ok && strings.Contains(m.Subject, w)
			}
			if ok {
				found = m
				return true
			}
		}
		return false
	})
	if len(found.Headers["X-Runlet-Key"]) != 1 {
		t.Errorf("the mail %q has no X-Runlet-Key: headers %v", found.Subject, found.Headers)
	}
	return found
}

// notifications returns the workspace's notifications through the API.
func (af *alertFleet) notifications(t *testing.T) []runlet.Notification {
	t.Helper()
	var page struct {
		Notifications []runlet.Notification `json:"notifications"`
	}
	af.call(t, http.MethodGet, "/notifications?limit=1000", nil, &page)
	return page.Notifications
}

// alerts returns the workspace's alerts of a sensor through the API.
func (af *alertFleet) alerts(t *testing.T, sensor int64) []runlet.Alert {
	t.Helper()
	var page struct {
		Alerts []runlet.Alert `json:"alerts"`
	}
	af.call(t, http.MethodGet, fmt.Sprintf("/alerts?sensor=%d&limit=1000", sensor), nil, &page)
	return page.Alerts
}

// TestAlertsWallClock: a threshold alert and its recovery, a silence
// alert of 3 s and the sensor's return, each told by webhook (signed)
// and by mail, on the wall clock.
func TestAlertsWallClock(t *testing.T) {
	af := newAlertFleet(t, embedded, true)
	max8 := 8.0
	fridge := af.sensor(t, 14001, "Fridge A", runlet.SensorRules{Thresholds: runlet.Thresholds{TempMax: &max8}})
	quiet := af.sensor(t, 14002, "Fridge B", runlet.SensorRules{Silence: runlet.Duration(3 * time.Second)})

	heard := time.Now() // the server hears it after this: silent 3 s after
	af.push(t, quiet, 4)

	pushed := time.Now()
	af.push(t, fridge, 9.5)
	c := af.hook.wait(runlet.ThresholdKey(fridge.ID, runlet.MetricTemp), runlet.EventOpened)
	t.Logf("threshold crossing pushed → webhook in %s", c.At.Sub(pushed).Round(time.Millisecond))
	if c.Payload.Value != 9.5 || c.Payload.Limit != 8 || c.Key == "" || c.Payload.Key != c.Payload.Alert.Key {
		t.Errorf("the webhook of the excursion: %+v (Idempotency-Key %q)", c.Payload, c.Key)
	}
	af.waitMail(t, "Fridge A")

	af.push(t, fridge, 4.2)
	af.hook.wait(runlet.ThresholdKey(fridge.ID, runlet.MetricTemp), runlet.EventResolved)
	af.waitMail(t, "resolved", "Fridge A")

	c = af.hook.wait(runlet.SilenceKey(quiet.ID), runlet.EventOpened)
	t.Logf("silence of 3 s → webhook %s after the last reading was pushed", c.At.Sub(heard).Round(time.Millisecond))
	if d := c.At.Sub(heard); d < 3*time.Second {
		t.Errorf("the silence alert came %s after the sensor was heard, before its 3 s", d)
	}
	af.waitMail(t, "Fridge B")
	af.push(t, quiet, 4.1)
	af.hook.wait(runlet.SilenceKey(quiet.ID), runlet.EventResolved)
	af.waitMail(t, "resolved", "Fridge B")

	// Each notification sent once, recorded as sent.
	af.wantSentOnce(t)
}

// wantSentOnce waits until every notification is sent, then checks that
// the webhook took each of its notifications once.
func (af *alertFleet) wantSentOnce(t *testing.T) {
	t.Helper()
	var notes []runlet.Notification
	testenv.EventuallyEvery(t, "every notification to be sent", alertPatience, 100*time.Millisecond, func() bool {
		notes = af.notifications(t)
		for _, n := range notes {
			if n.State != runlet.NotificationSent {
				return false
			}
		}
		return len(notes) > 0
	})
	hooks := map[string]int{}
	for _, c := range af.hook.calls() {
		hooks[c.Key]++
	}
	want := 0
	for _, n := range notes {
		if n.Kind != runlet.ChannelWebhook {
			continue
		}
		want++
		if hooks[n.Key] != 1 {
			t.Errorf("notification %d (%s of alert %d) reached the webhook %d times", n.ID, n.Event, n.Alert, hooks[n.Key])
		}
	}
	if len(hooks) != want {
		t.Errorf("the webhook took %d distinct notifications, the server recorded %d", len(hooks), want)
	}
}

// TestAlertSentOnceAfterKill9: the server decides an alert and starts
// sending it; the webhook receiver holds the request until the server is
// killed with SIGKILL; after the restart the same notification (same
// Idempotency-Key) is sent again, once: one delivery by key, one
// notification recorded, sent.
//
// The dead process's claim on the notification runs out before the new
// one takes it: RUNLET_NOTIFY_CLAIM shortens the claim (and
// RUNLET_NOTIFY_TIMEOUT an attempt, which a claim must outlast); without
// them the test waits the default two minutes.
func TestAlertSentOnceAfterKill9(t *testing.T) {
	t.Setenv("RUNLET_NOTIFY_CLAIM", "6s")
	t.Setenv("RUNLET_NOTIFY_TIMEOUT", "3s")
	af := newAlertFleet(t, embedded, false)
	max8 := 8.0
	fridge := af.sensor(t, 14101, "Fridge K", runlet.SensorRules{Thresholds: runlet.Thresholds{TempMax: &max8}})

	arrived := make(chan hookCall, 1)
	release := make(chan struct{})
	var released sync.Once
	free := func() { released.Do(func() { close(release) }) }
	t.Cleanup(free) // before the receiver closes, which waits for its handlers
	var once sync.Once
	af.hook.mu.Lock()
	af.hook.hold = func(c hookCall) {
		first := false
		once.Do(func() { first = true })
		if first {
			arrived <- c
			<-release
		}
	}
	af.hook.mu.Unlock()

	af.push(t, fridge, 11)
	var first hookCall
	select {
	case first = <-arrived:
	case <-time.After(alertPatience):
		t.Fatal("the server sent nothing to the webhook")
	}
	af.f.server.kill9()
	free()
	killed := time.Now()
	af.restartServer(t)

	key := runlet.ThresholdKey(fridge.ID, runlet.MetricTemp)
	testenv.EventuallyEvery(t, "the notification to be sent again after the restart", 3*time.Minute, 200*time.Millisecond, func() bool {
		return len(af.hook.calls()) >= 2
	})
	calls := af.hook.calls()
	t.Logf("sent again %s after the kill", calls[1].At.Sub(killed).Round(time.Millisecond))
	if calls[1].Key != first.Key || calls[1].Payload.Alert.Key != key {
		t.Errorf("after the restart the webhook took %q (%s), want %q again", calls[1].Key, calls[1].Payload.Alert.Key, first.Key)
	}
	af.wantSentOnceAfterRetry(t, first.Key)
	if n := len(af.alerts(t, fridge.ID)); n != 1 {
		t.Errorf("%d alerts of sensor %d, want 1", n, fridge.ID)
	}
}

// wantSentOnceAfterRetry waits until the one notification is recorded
// sent and checks that no other was queued.
func (af *alertFleet) wantSentOnceAfterRetry(t *testing.T, key string) {
	t.Helper()
	var notes []runlet.Notification
	testenv.EventuallyEvery(t, "the notification to be recorded sent", alertPatience, 100*time.Millisecond, func() bool {
		notes = af.notifications(t)
		return len(notes) == 1 && notes[0].State == runlet.NotificationSent
	})
	if notes[0].Attempts != 1 {
		t.Logf("notification recorded with %d attempts (the killed process's was never recorded)", notes[0].Attempts)
	}
	if notes[0].Key != key {
		t.Errorf("notification key %q, the webhook took %q", notes[0].Key, key)
	}
	keys := map[string]bool{}
	for _, c := range af.hook.calls() {
		keys[c.Key] = true
	}
	if len(keys) != 1 {
		t.Errorf("the webhook took %d distinct keys, want 1: %v", len(keys), keys)
	}
}

// TestAlertsTwoServers: two server processes on one PostgreSQL database
// and one RabbitMQ broker (two embedded brokers cannot share a stream),
// both consuming readings, both running the alert leader's lease and a
// notification sender: each alert is opened once and each notification
// reaches the webhook once.
func TestAlertsTwoServers(t *testing.T) {
	af := newAlertFleet(t, rabbitPostgres, false)
	second, secondURL := af.startSecondServer(t)
	max8 := 8.0
	fridge := af.sensor(t, 14201, "Fridge T", runlet.SensorRules{Thresholds: runlet.Thresholds{TempMax: &max8}})
	quiet := af.sensor(t, 14202, "Fridge U", runlet.SensorRules{Silence: runlet.Duration(3 * time.Second)})

	// Each batch is taken by one server or the other. The next reading
	// is pushed once the last is decided: two servers may take two
	// batches in either order, and a recovery decided before the
	// excursion it ends would leave the excursion to open an alert again.
	// A freezer out of range in eight batches pushed one after the
	// other, which the two servers take at once: one alert, told once.
	warm := af.sensor(t, 14203, "Freezer V", runlet.SensorRules{Thresholds: runlet.Thresholds{TempMax: &max8}})
	for i := range 8 {
		af.push(t, warm, 9+float64(i)/2)
	}

	af.push(t, quiet, 4)
	af.push(t, fridge, 9.5)
	af.hook.wait(runlet.ThresholdKey(fridge.ID, runlet.MetricTemp), runlet.EventOpened)
	af.push(t, fridge, 4)
	af.hook.wait(runlet.ThresholdKey(fridge.ID, runlet.MetricTemp), runlet.EventResolved)
	// The quiet sensor is silent: one leader opens its alert.
	af.hook.wait(runlet.SilenceKey(quiet.ID), runlet.EventOpened)
	af.push(t, quiet, 4.5)
	af.hook.wait(runlet.SilenceKey(quiet.ID), runlet.EventResolved)

	af.hook.wait(runlet.ThresholdKey(warm.ID, runlet.MetricTemp), runlet.EventOpened)
	testenv.EventuallyEvery(t, "the freezer's eight readings to be stored", alertPatience, pace, func() bool {
		page, err := af.admin.RawReadings(ctxFor(t), warm.ID, api.RawQuery{Limit: 1000})
		return err == nil && len(page.Readings) == 8
	})

	af.wantSentOnce(t)
	if as := af.alerts(t, warm.ID); len(as) != 1 || !as[0].Open() {
		t.Errorf("alerts of sensor %d: %+v; want one, open", warm.ID, as)
	}
	warmKey := runlet.ThresholdKey(warm.ID, runlet.MetricTemp)
	told := 0
	for _, c := range af.hook.calls() {
		if c.Payload.Alert.Key == warmKey {
			told++
		}
	}
	if told != 1 {
		t.Errorf("the webhook was told %d times of %s, want once", told, warmKey)
	}
	for _, c := range []struct {
		sensor int64
		kind   runlet.AlertKind
	}{{fridge.ID, runlet.AlertThreshold}, {quiet.ID, runlet.AlertSilence}} {
		as := af.alerts(t, c.sensor)
		if len(as) != 1 || as[0].Kind != c.kind || as[0].Open() {
			t.Errorf("alerts of sensor %d: %+v; want one %s alert, resolved", c.sensor, as, c.kind)
		}
	}
	// Which server took which batch is the broker's choice; the log says.
	for i, u := range []string{af.f.url, secondURL} {
		st, err := apiclient.New(u, af.admin.Token).TelemetryStats(ctxFor(t))
		if err != nil {
			t.Fatalf("the telemetry stats of server %d: %v", i+1, err)
		}
		t.Logf("server %d stored %d readings", i+1, st.Stored)
	}
	if !second.running() {
		t.Errorf("the second server ended: %v\n%s", second.err, second.out)
	}
}

// startSecondServer starts another server process on the fleet's
// database and broker, with its own API port and data directory, and
// waits until it is ready.
func (af *alertFleet) startSecondServer(t *testing.T) (*proc, string) {
	t.Helper()
	f := af.f
	listen := freePort(t)
	args := append([]string{"server", "--listen", listen, "--broker-listen", freePort(t), "--data", t.TempDir()}, f.serverArgs...)
	p := startProc(t, "second server", args...)
	client := &http.Client{Timeout: 2 * time.Second}
	testenv.EventuallyEvery(t, "the second server to be ready", 60*time.Second, pace, func() bool {
		if !p.running() {
			t.Fatalf("the second server ended: %v\n%s", p.err, p.out)
		}
		resp, err := client.Get("http://" + listen + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return p, "http://" + listen
}
