//go:build !windows

package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/cmd/assemble"
	"github.com/runlet/runlet/store"
)

func f64(v float64) *float64 { return &v }

// openAlert opens an alert of key in the workspace through the store, as
// the alert service does, with a notification on channel ch when ch is
// not empty.
func openAlert(t *testing.T, s *testServer, ws, key string, a runlet.Alert, ch string) runlet.Alert {
	t.Helper()
	got, err := s.Store.ChangeAlert(ctxT(t), ws, key, func(m store.AlertMark) (store.AlertChange, error) {
		c := store.AlertChange{Open: &a, Notified: true}
		if ch != "" {
			c.Notify = []runlet.Notification{{Workspace: ws, Event: runlet.EventOpened, Channel: ch, Kind: runlet.ChannelEmail, Target: "ada@example.com", Subject: "[Runlet] " + a.Summary, Body: a.Summary}}
		}
		return c, nil
	})
	if err != nil || got.Open == nil || got.Open.ID == 0 {
		t.Fatalf("open alert %s: %+v, %v", key, got, err)
	}
	return *got.Open
}

// resolveAlert resolves the open alert of key.
func resolveAlert(t *testing.T, s *testServer, ws, key string) {
	t.Helper()
	_, err := s.Store.ChangeAlert(ctxT(t), ws, key, func(m store.AlertMark) (store.AlertChange, error) {
		return store.AlertChange{Resolve: true, Recovery: "back in range"}, nil
	})
	if err != nil {
		t.Fatalf("resolve %s: %v", key, err)
	}
}

// TestAlertsAPI: the alerts of the workspace, filtered and paged, one
// with its notifications; another workspace's alert is not found, as a
// missing one; the sensors' status follows their open alerts.
func TestAlertsAPI(t *testing.T) {
	s := startServer(t, func(c *assemble.Config) { c.AdminPassword = "admin-password" })
	ctx := ctxT(t)
	admin := s.adminClient(t)
	who, err := admin.Whoami(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ws := who.Workspace
	for _, n := range []api.NewSensor{{ID: 1, Secret: "1", Name: "Fridge"}, {ID: 2, Secret: "2"}, {ID: 3, Secret: "3"}, {ID: 4, Secret: "4", State: runlet.SensorInactive}} {
		if _, err := admin.AddSensor(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	now := s.clock.Now().UTC().Truncate(time.Second)
	if _, err := s.Store.AddReadings(ctx, ws, []runlet.RawReading{
		{Reading: reading(1, now, 9.5), Device: "pi-1", Seq: 1, Accepted: now},
		{Reading: reading(3, now, 4), Device: "pi-1", Seq: 2, Accepted: now},
	}); err != nil {
		t.Fatal(err)
	}

	warm := openAlert(t, s, ws, runlet.ThresholdKey(1, runlet.MetricTemp), runlet.Alert{Kind: runlet.AlertThreshold, Sensor: 1, Metric: runlet.MetricTemp, Bound: runlet.BoundMax, Value: 9.5, Limit: 8, At: now, Summary: "Fridge: 9.5 °C is above 8 °C"}, "ch-1")
	quiet := openAlert(t, s, ws, runlet.SilenceKey(2), runlet.Alert{Kind: runlet.AlertSilence, Sensor: 2, Value: 3600, Limit: 3600, At: now, Summary: "sensor 2 is silent"}, "")
	off := openAlert(t, s, ws, runlet.DeviceKey("pi-1", runlet.AlertOffline), runlet.Alert{Kind: runlet.AlertOffline, Device: "pi-1", At: now, Summary: "pi-1 offline"}, "")
	resolveAlert(t, s, ws, runlet.DeviceKey("pi-1", runlet.AlertOffline))

	// Another workspace's alert.
	other := deviceInNewWorkspace(t, s, "")
	theirs := openAlert(t, s, other.Workspace, runlet.SilenceKey(99), runlet.Alert{Kind: runlet.AlertSilence, Sensor: 99, At: now, Summary: "theirs"}, "")

	page, err := admin.Alerts(ctx, api.AlertQuery{})
	if err != nil || len(page.Alerts) != 3 || page.Alerts[0].ID != off.ID || page.Alerts[2].ID != warm.ID || page.Next != 0 {
		t.Fatalf("alerts: %+v, %v", page, err)
	}
	if page.Alerts[0].Open() || !page.Alerts[1].Open() {
		t.Errorf("the offline alert should be resolved, the silence open: %+v", page.Alerts)
	}
	for what, c := range map[string]struct {
		q    api.AlertQuery
		want []int64
	}{
		"open":     {api.AlertQuery{Open: true}, []int64{quiet.ID, warm.ID}},
		"silence":  {api.AlertQuery{Kind: runlet.AlertSilence}, []int64{quiet.ID}},
		"sensor 1": {api.AlertQuery{Sensor: 1}, []int64{warm.ID}},
		"device":   {api.AlertQuery{Device: "pi-1"}, []int64{off.ID}},
		"before":   {api.AlertQuery{Before: quiet.ID}, []int64{warm.ID}},
	} {
		page, err := admin.Alerts(ctx, c.q)
		var got []int64
		for _, a := range page.Alerts {
			got = append(got, a.ID)
		}
		if err != nil || fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("alerts %s: %v, %v; want %v", what, got, err, c.want)
		}
	}
	// Paging: one at a time, following next.
	var seen []int64
	q := api.AlertQuery{Limit: 1}
	for range 5 {
		page, err := admin.Alerts(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range page.Alerts {
			seen = append(seen, a.ID)
		}
		if page.Next == 0 {
			break
		}
		q.Before = page.Next
	}
	if fmt.Sprint(seen) != fmt.Sprint([]int64{off.ID, quiet.ID, warm.ID}) {
		t.Errorf("paged alerts: %v", seen)
	}

	// One alert with its notification; a member and a device read it too.
	bob := s.member(t, "bob@example.com", runlet.RoleMember)
	pi := apiclient.FromCredentials(s.enroll(t, "pi-2"))
	for who, c := range map[string]*apiclient.Client{"the admin": admin, "a member": bob, "a device": pi} {
		d, err := c.Alert(ctx, warm.ID)
		if err != nil || d.Alert.ID != warm.ID || d.Alert.Summary != warm.Summary || len(d.Notifications) != 1 {
			t.Fatalf("%s reads alert %d: %+v, %v", who, warm.ID, d, err)
		}
		n := d.Notifications[0]
		if n.Alert != warm.ID || n.Channel != "ch-1" || n.State != runlet.NotificationPending || n.Key == "" || n.Event != runlet.EventOpened {
			t.Errorf("%s: the notification %+v", who, n)
		}
	}
	ns, err := admin.Notifications(ctx, api.NotificationQuery{State: runlet.NotificationPending})
	if err != nil || len(ns.Notifications) != 1 || ns.Notifications[0].Alert != warm.ID {
		t.Errorf("pending notifications: %+v, %v", ns, err)
	}
	if ns, err := admin.Notifications(ctx, api.NotificationQuery{Alert: quiet.ID}); err != nil || len(ns.Notifications) != 0 {
		t.Errorf("notifications of the silence alert: %+v, %v", ns, err)
	}

	// Another workspace's alert reads as a missing one.
	a, _ := sensorCall(t, s, admin.Token, "GET", fmt.Sprintf("/alerts/%d", theirs.ID), "")
	b, _ := sensorCall(t, s, admin.Token, "GET", "/alerts/999999", "")
	if a.status != http.StatusNotFound || b.status != http.StatusNotFound ||
		strings.ReplaceAll(a.body, fmt.Sprint(theirs.ID), "N") != strings.ReplaceAll(b.body, "999999", "N") {
		t.Errorf("another workspace's alert: %d %s; a missing one: %d %s", a.status, a.body, b.status, b.body)
	}
	if ns, err := admin.Notifications(ctx, api.NotificationQuery{Alert: theirs.ID}); err != nil || len(ns.Notifications) != 0 {
		t.Errorf("notifications of another workspace's alert: %+v, %v", ns, err)
	}

	// Bad queries say what is wrong.
	for path, says := range map[string]string{
		"/alerts?kind=fire":          "kind must be",
		"/alerts?open=maybe":         "open must be true or false",
		"/alerts?sensor=x":           "sensor must be a positive integer",
		"/alerts?limit=-1":           "limit must be",
		"/alerts/abc":                "alert id must be a positive integer",
		"/notifications?state=lost":  "state must be pending, sent or failed",
		"/notifications?before=-3":   "before must be a positive integer",
		"/notifications?alert=1.5":   "alert must be a positive integer",
		"/alerts?sensor=0&kind=fire": "must be",
	} {
		a, _ := sensorCall(t, s, admin.Token, "GET", path, "")
		if a.status != http.StatusBadRequest || !strings.Contains(errorOf(t, a).Message, says) {
			t.Errorf("GET %s: %d %s, want 400 saying %q", path, a.status, a.body, says)
		}
	}
	if _, err := s.client().Alerts(ctx, api.AlertQuery{}); runlet.ErrorCode(err) != runlet.EUNAUTHORIZED {
		t.Errorf("alerts without a token: %v", err)
	}

	// The sensors' status: out of range, silent, ok, inactive; the list
	// and one sensor agree.
	want := map[int64]runlet.SensorStatus{1: runlet.SensorOutOfRange, 2: runlet.SensorSilent, 3: runlet.SensorOK, 4: runlet.SensorOff}
	list, err := bob.Sensors(ctx)
	if err != nil || len(list) != 4 {
		t.Fatalf("sensors: %+v, %v", list, err)
	}
	for _, sn := range list {
		if sn.Status != want[sn.ID] {
			t.Errorf("sensor %d listed %q, want %q", sn.ID, sn.Status, want[sn.ID])
		}
		one, err := bob.Sensor(ctx, sn.ID)
		if err != nil || one.Status != want[sn.ID] {
			t.Errorf("sensor %d reads %q (%v), want %q", sn.ID, one.Status, err, want[sn.ID])
		}
	}
	resolveAlert(t, s, ws, runlet.ThresholdKey(1, runlet.MetricTemp))
	if sn, err := admin.Sensor(ctx, 1); err != nil || sn.Status != runlet.SensorOK {
		t.Errorf("sensor 1 after its alert was resolved: %q, %v", sn.Status, err)
	}
	if sn, err := admin.AddSensor(ctx, api.NewSensor{ID: 5, Secret: "5"}); err != nil || sn.Status != runlet.SensorNew {
		t.Errorf("a new sensor: %q, %v; want never", sn.Status, err)
	}
}

func reading(sensor int64, at time.Time, temp float64) runlet.Reading {
	r := runlet.Reading{Sensor: sensor, Time: at}
	r.Set(runlet.MetricTemp, temp)
	return r
}

// TestSensorRulesAPI: a sensor's thresholds and silence period are set
// on add and by PATCH, checked, and kept.
func TestSensorRulesAPI(t *testing.T) {
	s := startServer(t, func(c *assemble.Config) { c.AdminPassword = "admin-password" })
	ctx := ctxT(t)
	admin := s.adminClient(t)
	sn, err := admin.AddSensor(ctx, api.NewSensor{ID: 7, Secret: "7", Rules: &runlet.SensorRules{Thresholds: runlet.Thresholds{TempMax: f64(8)}}})
	if err != nil || sn.Rules.TempMax == nil || *sn.Rules.TempMax != 8 {
		t.Fatalf("add with rules: %+v, %v", sn, err)
	}
	a, _ := sensorCall(t, s, admin.Token, "PATCH", "/sensors/7", `{"rules":{"tempMin":-25,"tempMax":-15.5,"battMin":20,"silence":"30m"}}`)
	if a.status != http.StatusOK {
		t.Fatalf("PATCH rules: %d %s", a.status, a.body)
	}
	got, err := admin.Sensor(ctx, 7)
	r := got.Rules
	if err != nil || r.TempMin == nil || *r.TempMin != -25 || r.TempMax == nil || *r.TempMax != -15.5 || r.BattMin == nil || *r.BattMin != 20 || r.BattMax != nil || time.Duration(r.Silence) != 30*time.Minute {
		t.Errorf("rules as stored: %+v, %v", r, err)
	}
	if !strings.Contains(a.body, `"silence":"30m"`) || !strings.Contains(a.body, `"tempMax":-15.5`) {
		t.Errorf("PATCH answers %s", a.body)
	}
	// A PATCH without rules keeps them; rules replace them whole.
	name := "Freezer"
	if got, err := admin.UpdateSensor(ctx, 7, api.SensorUpdate{Name: &name}); err != nil || got.Rules.TempMin == nil {
		t.Errorf("a rename lost the rules: %+v, %v", got.Rules, err)
	}
	if got, err := admin.UpdateSensor(ctx, 7, api.SensorUpdate{Rules: &runlet.SensorRules{}}); err != nil || got.Rules.TempMin != nil || got.Rules.Silence != 0 {
		t.Errorf("clearing the rules: %+v, %v", got.Rules, err)
	}
	for body, says := range map[string]string{
		`{"rules":{"tempMin":10,"tempMax":5}}`: "temp minimum (10) is above its maximum (5)",
		`{"rules":{"battMin":50,"battMax":5}}`: "batt minimum",
		`{"rules":{"silence":"500ms"}}`:        "silence period must be at least 1s",
		`{"rules":{"silence":"soon"}}`:         "not the JSON expected",
		`{"rules":{"tempMax":"warm"}}`:         "not the JSON expected",
	} {
		a, _ := sensorCall(t, s, admin.Token, "PATCH", "/sensors/7", body)
		if a.status != http.StatusBadRequest || !strings.Contains(errorOf(t, a).Message, says) {
			t.Errorf("PATCH %s: %d %s, want 400 saying %q", body, a.status, a.body, says)
		}
	}
	a, _ = sensorCall(t, s, admin.Token, "POST", "/sensors", `{"id":8,"secret":"8","rules":{"tempMin":3,"tempMax":1}}`)
	if a.status != http.StatusBadRequest {
		t.Errorf("POST with bad rules: %d %s", a.status, a.body)
	}
	bob := s.member(t, "bob@example.com", runlet.RoleMember)
	if _, err := bob.UpdateSensor(ctx, 7, api.SensorUpdate{Rules: &runlet.SensorRules{}}); runlet.ErrorCode(err) != runlet.EFORBIDDEN {
		t.Errorf("a member sets rules: %v", err)
	}
}

// TestAlertSettingsAPI: every member reads the alert settings; admins
// replace them; what cannot be kept is refused with a sentence saying
// why.
func TestAlertSettingsAPI(t *testing.T) {
	s := startServer(t, func(c *assemble.Config) { c.AdminPassword = "admin-password" })
	ctx := ctxT(t)
	admin := s.adminClient(t)
	bob := s.member(t, "bob@example.com", runlet.RoleMember)
	pi := apiclient.FromCredentials(s.enroll(t, "pi-1"))

	st, err := admin.AlertSettings(ctx)
	if err != nil || st.Period() != time.Hour || st.Offline() != 15*time.Minute {
		t.Fatalf("default settings: %+v, %v", st, err)
	}
	a, _ := sensorCall(t, s, admin.Token, "PUT", "/alerts/settings",
		`{"defaults":{"tempMax":8,"battMin":15,"silence":"2h"},"every":"30m","offlineLimit":600,"routing":{"threshold.batt":"both","offline":"owner"}}`)
	if a.status != http.StatusOK || !strings.Contains(a.body, `"every":"30m"`) || !strings.Contains(a.body, `"offlineLimit":"10m"`) {
		t.Fatalf("PUT settings: %d %s", a.status, a.body)
	}
	for who, c := range map[string]*apiclient.Client{"a member": bob, "a device": pi} {
		st, err := c.AlertSettings(ctx)
		if err != nil || st.Period() != 30*time.Minute || st.Offline() != 10*time.Minute || st.SilenceOf(runlet.SensorRules{}) != 2*time.Hour ||
			st.Defaults.TempMax == nil || *st.Defaults.TempMax != 8 || st.AudienceOf("threshold.batt") != runlet.AudienceBoth || st.AudienceOf("silence") != runlet.AudienceOwner {
			t.Errorf("%s reads %+v, %v", who, st, err)
		}
		if _, err := c.SetAlertSettings(ctx, runlet.AlertSettings{}); runlet.ErrorCode(err) != runlet.EFORBIDDEN {
			t.Errorf("%s changes the settings: %v, want forbidden", who, err)
		}
	}
	for body, says := range map[string]string{
		`{"defaults":{"tempMin":9,"tempMax":8}}`: "temp minimum (9) is above its maximum (8)",
		`{"every":"10ms"}`:                       "period must be at least 1s",
		`{"routing":{"fire":"owner"}}`:           `There is no route "fire"`,
		`{"routing":{"silence":"everyone"}}`:     "say owner, admins or both",
		`{"every":"sometimes"}`:                  "not the JSON expected",
	} {
		a, _ := sensorCall(t, s, admin.Token, "PUT", "/alerts/settings", body)
		if a.status != http.StatusBadRequest || !strings.Contains(errorOf(t, a).Message, says) {
			t.Errorf("PUT %s: %d %s, want 400 saying %q", body, a.status, a.body, says)
		}
	}
	if st, err := admin.AlertSettings(ctx); err != nil || st.Period() != 30*time.Minute {
		t.Errorf("settings after the refusals: %+v, %v", st, err)
	}
}

// TestNotifySettingsAPI: passwords and SMS headers go in and never come
// out; left out they stay, and only an explicit clear removes them.
func TestNotifySettingsAPI(t *testing.T) {
	s := startServer(t, func(c *assemble.Config) { c.AdminPassword = "admin-password" })
	ctx := ctxT(t)
	admin := s.adminClient(t)
	who, err := admin.Whoami(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const smtpPass, smsPass, apiKey = "smtp-pass-4711", "sms-pass-0815", "key-abcdef-9999"
	body := `{"smtp":{"host":"smtp.example.com","port":587,"tls":"starttls","username":"alerts","password":"` + smtpPass + `","from":"Runlet <alerts@example.com>"},
		"sms":{"url":"https://sms.example.com/send","body":"to={{.To}}&text={{.Text}}","contentType":"application/x-www-form-urlencoded","headers":{"X-Api-Key":"` + apiKey + `"},"username":"acct","password":"` + smsPass + `"}}`
	a, _ := sensorCall(t, s, admin.Token, "PUT", "/notify/settings", body)
	if a.status != http.StatusOK {
		t.Fatalf("PUT notify settings: %d %s", a.status, a.body)
	}
	noSecrets := func(what, body string) {
		t.Helper()
		for _, secret := range []string{smtpPass, smsPass, apiKey, `"password"`} {
			if strings.Contains(body, secret) {
				t.Errorf("%s answers %s: %s", what, secret, body)
			}
		}
	}
	noSecrets("PUT", a.body)
	g, _ := sensorCall(t, s, admin.Token, "GET", "/notify/settings", "")
	noSecrets("GET", g.body)
	var got api.NotifySettings
	if err := json.Unmarshal([]byte(g.body), &got); err != nil {
		t.Fatal(err)
	}
	if !got.SMTP.HasPassword || !got.SMS.HasPassword || fmt.Sprint(got.SMS.HeaderNames) != "[X-Api-Key]" || got.SMTP.Host != "smtp.example.com" || got.SMS.URL != "https://sms.example.com/send" {
		t.Errorf("GET notify settings: %+v", got)
	}
	stored := func() store.NotifySettings {
		t.Helper()
		st, err := s.Store.NotifySettings(ctx, who.Workspace)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	if st := stored(); st.SMTP.Password != smtpPass || st.SMS.Password != smsPass || st.SMS.Headers["X-Api-Key"] != apiKey {
		t.Errorf("stored: %+v", st)
	}

	// What GET answered, sent back (with an empty password, as a form
	// does), keeps the secrets.
	got.SMTP.Port = 2525
	empty := ""
	got.SMTP.Password = &empty
	if _, err := admin.SetNotifySettings(ctx, got); err != nil {
		t.Fatal(err)
	}
	if st := stored(); st.SMTP.Port != 2525 || st.SMTP.Password != smtpPass || st.SMS.Password != smsPass || st.SMS.Headers["X-Api-Key"] != apiKey {
		t.Errorf("after a PUT without secrets: %+v", st)
	}
	// Explicit clears remove them; a new password replaces.
	got.SMTP.Password, got.SMTP.ClearPassword = nil, true
	newPass := "new-sms-pass"
	got.SMS.Password, got.SMS.ClearHeaders = &newPass, true
	out, err := admin.SetNotifySettings(ctx, got)
	if err != nil || out.SMTP.HasPassword || !out.SMS.HasPassword || len(out.SMS.HeaderNames) != 0 {
		t.Errorf("after clearing: %+v, %v", out, err)
	}
	if st := stored(); st.SMTP.Password != "" || st.SMS.Password != newPass || len(st.SMS.Headers) != 0 {
		t.Errorf("stored after clearing: %+v", st)
	}

	for body, says := range map[string]string{
		`{"smtp":{"tls":"ssl"}}`:                                    "smtp.tls must be starttls",
		`{"smtp":{"port":70000}}`:                                   "smtp.port must be",
		`{"smtp":{"from":"not an address"}}`:                        "smtp.from must be an e-mail address",
		`{"smtp":{"host":"smtp://x"}}`:                              "smtp.host must be a host name",
		`{"smtp":{"password":"x","clearPassword":true}}`:            "not both",
		`{"sms":{"url":"ftp://sms.example.com"}}`:                   "sms.url must be",
		`{"sms":{"url":"https://acct:token@sms.example.com/send"}}`: "credentials in it",
		`{"sms":{"body":"{{.To"}}`:                                  "sms.body is not a template",
		`{"sms":{"method":"DELETE"}}`:                               "sms.method must be",
		`{"sms":{"headers":{"Bad Name":"x"}}}`:                      "not an HTTP header name",
		`{"sms":{"headers":{"X-A":"a\r\nInjected: 1"}}}`:            "one line",
	} {
		a, _ := sensorCall(t, s, admin.Token, "PUT", "/notify/settings", body)
		if a.status != http.StatusBadRequest || !strings.Contains(errorOf(t, a).Message, says) {
			t.Errorf("PUT %s: %d %s, want 400 saying %q", body, a.status, a.body, says)
		}
	}
	bob := s.member(t, "bob@example.com", runlet.RoleMember)
	if _, err := bob.SetNotifySettings(ctx, api.NotifySettings{}); runlet.ErrorCode(err) != runlet.EFORBIDDEN {
		t.Errorf("a member changes the providers: %v", err)
	}
	b, _ := sensorCall(t, s, bob.Token, "GET", "/notify/settings", "")
	if b.status != http.StatusOK {
		t.Errorf("a member reads the providers: %d %s", b.status, b.body)
	}
	noSecrets("GET by a member", b.body)
}

// TestChannelsAPI: members add and manage their own channels and see the
// workspace's; admins manage all; targets are checked for their kind; a
// webhook's secret never comes back; another workspace's channel, and
// another member's asked for by a member, are not found.
func TestChannelsAPI(t *testing.T) {
	s := startServer(t, func(c *assemble.Config) { c.AdminPassword = "admin-password" })
	ctx := ctxT(t)
	admin := s.adminClient(t)
	adminWho, err := admin.Whoami(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bob := s.member(t, "bob@example.com", runlet.RoleMember)
	bobWho, err := bob.Whoami(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.member(t, "cy@example.com", runlet.RoleMember)
	pi := apiclient.FromCredentials(s.enroll(t, "pi-1"))

	const hookSecret = "whsec-31415926"
	wsMail, err := admin.AddChannel(ctx, api.NewChannel{Kind: runlet.ChannelEmail, Target: " ops@example.com ", Routes: []runlet.Route{"offline", "threshold.batt"}})
	if err != nil || wsMail.ID == "" || wsMail.User != "" || wsMail.Target != "ops@example.com" || len(wsMail.Routes) != 2 {
		t.Fatalf("add a workspace e-mail channel: %+v, %v", wsMail, err)
	}
	a, _ := sensorCall(t, s, admin.Token, "POST", "/channels", `{"kind":"webhook","target":"https://hooks.example.com/runlet","secret":"`+hookSecret+`"}`)
	var hook runlet.Channel
	if a.status != http.StatusCreated || json.Unmarshal([]byte(a.body), &hook) != nil || !hook.HasSecret || strings.Contains(a.body, hookSecret) {
		t.Fatalf("add a webhook: %d %s", a.status, a.body)
	}
	adminSMS, err := admin.AddChannel(ctx, api.NewChannel{Kind: runlet.ChannelSMS, Target: "+44 1234-567 890", User: "me"})
	if err != nil || adminSMS.User != adminWho.UserID || adminSMS.Target != "+441234567890" {
		t.Fatalf("add the admin's SMS channel: %+v, %v", adminSMS, err)
	}
	bobMail, err := bob.AddChannel(ctx, api.NewChannel{Kind: runlet.ChannelEmail, Target: "bob@example.com", User: "me"})
	if err != nil || bobMail.User != bobWho.UserID {
		t.Fatalf("bob adds his own: %+v, %v", bobMail, err)
	}
	cyMail, err := admin.AddChannel(ctx, api.NewChannel{Kind: runlet.ChannelEmail, Target: "cy@example.com", User: "CY@example.com"})
	if err != nil || cyMail.User == "" || cyMail.User == adminWho.UserID {
		t.Fatalf("the admin adds cy's by e-mail: %+v, %v", cyMail, err)
	}
	// The store keeps the webhook's secret.
	if _, secret, err := s.Store.Channel(ctx, adminWho.Workspace, hook.ID); err != nil || secret != hookSecret {
		t.Errorf("the stored secret: %q, %v", secret, err)
	}

	ids := func(list []runlet.Channel) string {
		var out []string
		for _, c := range list {
			out = append(out, c.ID)
		}
		return strings.Join(out, ",")
	}
	for who, c := range map[string]struct {
		c    *apiclient.Client
		want []runlet.Channel
	}{
		"the admin": {admin, []runlet.Channel{wsMail, hook, adminSMS, bobMail, cyMail}},
		"bob":       {bob, []runlet.Channel{wsMail, hook, bobMail}},
		"a device":  {pi, []runlet.Channel{wsMail, hook}},
	} {
		list, err := c.c.Channels(ctx)
		if err != nil || ids(list) != ids(c.want) {
			t.Errorf("%s lists %s, %v; want %s", who, ids(list), err, ids(c.want))
		}
	}
	for _, path := range []string{"/channels"} {
		a, _ := sensorCall(t, s, admin.Token, "GET", path, "")
		if a.status != http.StatusOK || strings.Contains(a.body, hookSecret) || strings.Contains(a.body, `"secret"`) {
			t.Errorf("GET %s: %d %s", path, a.status, a.body)
		}
	}

	// What a member may not do.
	for what, err := range map[string]error{
		"adds a workspace channel":    second(bob.AddChannel(ctx, api.NewChannel{Kind: runlet.ChannelEmail, Target: "x@example.com"})),
		"adds the admin's channel":    second(bob.AddChannel(ctx, api.NewChannel{Kind: runlet.ChannelEmail, Target: "x@example.com", User: adminWho.UserID})),
		"changes a workspace channel": second(bob.UpdateChannel(ctx, wsMail.ID, api.ChannelUpdate{Disabled: ptr(true)})),
		"removes a workspace channel": bob.RemoveChannel(ctx, hook.ID),
		"a device adds one":           second(pi.AddChannel(ctx, api.NewChannel{Kind: runlet.ChannelEmail, Target: "x@example.com", User: "me"})),
		"a device changes one":        second(pi.UpdateChannel(ctx, wsMail.ID, api.ChannelUpdate{Disabled: ptr(true)})),
	} {
		if runlet.ErrorCode(err) != runlet.EFORBIDDEN {
			t.Errorf("bob %s: %v, want forbidden", what, err)
		}
	}
	// Another member's channel, and another workspace's, are not found.
	other := deviceInNewWorkspace(t, s, "")
	theirs := runlet.Channel{Workspace: other.Workspace, Kind: runlet.ChannelEmail, Target: "them@example.com"}
	if err := s.Store.AddChannel(ctx, &theirs, ""); err != nil {
		t.Fatal(err)
	}
	for what, id := range map[string]string{"the admin's": adminSMS.ID, "another workspace's": theirs.ID} {
		for _, c := range []struct {
			client *apiclient.Client
			who    string
		}{{bob, "bob"}, {admin, "the admin"}} {
			if c.client == admin && id == adminSMS.ID {
				continue
			}
			for op, err := range map[string]error{
				"changes": second(c.client.UpdateChannel(ctx, id, api.ChannelUpdate{Disabled: ptr(true)})),
				"removes": c.client.RemoveChannel(ctx, id),
				"tests":   second(c.client.TestChannel(ctx, id)),
			} {
				if runlet.ErrorCode(err) != runlet.ENOTFOUND {
					t.Errorf("%s %s %s channel: %v, want not found", c.who, op, what, err)
				}
			}
		}
	}

	// Bob changes and removes his own; the admin changes the webhook's
	// secret.
	if ch, err := bob.UpdateChannel(ctx, bobMail.ID, api.ChannelUpdate{Target: ptr("bob@work.example.com"), Disabled: ptr(true)}); err != nil || ch.Target != "bob@work.example.com" || !ch.Disabled {
		t.Errorf("bob changes his channel: %+v, %v", ch, err)
	}
	if ch, err := admin.UpdateChannel(ctx, hook.ID, api.ChannelUpdate{Secret: ptr("")}); err != nil || !ch.HasSecret {
		t.Errorf("an empty secret should keep it: %+v, %v", ch, err)
	}
	if ch, err := admin.UpdateChannel(ctx, hook.ID, api.ChannelUpdate{Secret: ptr("whsec-new")}); err != nil || !ch.HasSecret {
		t.Errorf("a new secret: %+v, %v", ch, err)
	}
	if _, secret, _ := s.Store.Channel(ctx, adminWho.Workspace, hook.ID); secret != "whsec-new" {
		t.Errorf("the new secret is %q", secret)
	}
	if ch, err := admin.UpdateChannel(ctx, hook.ID, api.ChannelUpdate{ClearSecret: true}); err != nil || ch.HasSecret {
		t.Errorf("clearing the secret: %+v, %v", ch, err)
	}
	if err := bob.RemoveChannel(ctx, bobMail.ID); err != nil {
		t.Errorf("bob removes his channel: %v", err)
	}
	if list, _ := bob.Channels(ctx); ids(list) != ids([]runlet.Channel{wsMail, hook}) {
		t.Errorf("bob lists %s after removing his", ids(list))
	}

	// Mistakes, each with a sentence that says what to do.
	for body, c := range map[string]struct {
		code int
		says string
	}{
		`{"kind":"pager","target":"x"}`:                                              {400, "kind must be email, webhook or sms"},
		`{"kind":"email","target":""}`:                                               {400, "target is missing"},
		`{"kind":"email","target":"not-an-address"}`:                                 {400, "is not an e-mail address"},
		`{"kind":"email","target":"Ada <ada@example.com>"}`:                          {400, "give the address alone"},
		`{"kind":"webhook","target":"ftp://hooks.example.com"}`:                      {400, "is not a webhook URL"},
		`{"kind":"webhook","target":"https://"}`:                                     {400, "is not a webhook URL"},
		`{"kind":"webhook","target":"https://u:p@hooks.example.com/"}`:               {400, "credentials in it"},
		`{"kind":"sms","target":"12345"}`:                                            {400, "not a phone number in international form"},
		`{"kind":"sms","target":"+44 12a4567890"}`:                                   {400, "not a phone number"},
		`{"kind":"email","target":"a@example.com","secret":"s"}`:                     {400, "Only a webhook channel takes a secret"},
		`{"kind":"email","target":"a@example.com","routes":["fire"]}`:                {400, `There is no route "fire"`},
		`{"kind":"email","target":"a@example.com","user":"me","routes":["silence"]}`: {400, "routes limit a channel of the workspace"},
		`{"kind":"email","target":"a@example.com","user":"nobody@example.com"}`:      {400, "is not a member of this workspace"},
		`{"kind":"email","target":"a@example.com","user":"u-does-not-exist"}`:        {400, "is not a member of this workspace"},
	} {
		a, _ := sensorCall(t, s, admin.Token, "POST", "/channels", body)
		if a.status != c.code || !strings.Contains(errorOf(t, a).Message, c.says) {
			t.Errorf("POST %s: %d %s, want %d saying %q", body, a.status, a.body, c.code, c.says)
		}
	}
	a, _ = sensorCall(t, s, admin.Token, "PATCH", "/channels/"+wsMail.ID, `{"target":"nope"}`)
	if a.status != http.StatusBadRequest {
		t.Errorf("PATCH a bad target: %d %s", a.status, a.body)
	}

	// A test goes through the outbox.
	n, err := admin.TestChannel(ctx, wsMail.ID)
	if err != nil {
		t.Fatalf("test a channel: %v", err)
	}
	if n.Event != runlet.EventTest || n.Channel != wsMail.ID || n.Target != "ops@example.com" || n.Key == "" || n.ID == 0 ||
		n.State != runlet.NotificationPending {
		t.Errorf("the test notification: %+v", n)
	}
	ns, err := admin.Notifications(ctx, api.NotificationQuery{})
	if err != nil || len(ns.Notifications) != 1 || ns.Notifications[0].Event != runlet.EventTest || ns.Notifications[0].Alert != 0 {
		t.Errorf("notifications after a test: %+v, %v", ns, err)
	}
}

func ptr[T any](v T) *T { return &v }
