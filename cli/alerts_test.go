package cli_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/store"
)

// TestSensorRulesCommands: `runlet sensors add/set` take a sensor's
// thresholds and silence period, and clear them; show prints them.
func TestSensorRulesCommands(t *testing.T) {
	f := startFleet(t)
	mac := f.signin("mac")
	ctx := context.Background()
	ws := workspaceOf(t, mac)

	r := runEnv(t, mac, "", asAdmin, "sensors", "add", "123", "--secret", "789", "--temp-max", "8")
	if r.code != 0 {
		t.Fatalf("sensors add --temp-max: exit %d\n%s%s", r.code, r.out, r.err)
	}
	r = runEnv(t, mac, "", asAdmin, "sensors", "set", "123", "--temp-min", "2", "--batt-min", "20", "--silence", "30m")
	if r.code != 0 || !strings.Contains(r.out, "Changed sensor 123") {
		t.Fatalf("sensors set rules: exit %d\n%s%s", r.code, r.out, r.err)
	}
	sn, err := f.srv.Store.Sensor(ctx, ws, 123)
	rl := sn.Rules
	if err != nil || rl.TempMin == nil || *rl.TempMin != 2 || rl.TempMax == nil || *rl.TempMax != 8 || rl.BattMin == nil || *rl.BattMin != 20 || time.Duration(rl.Silence) != 30*time.Minute {
		t.Fatalf("rules stored: %+v, %v", rl, err)
	}
	r = runIn(t, mac, "", "sensors", "show", "123")
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`Temperature range:\s+2°C \.\. 8°C`),
		regexp.MustCompile(`Battery range:\s+20% \.\. default`),
		regexp.MustCompile(`Silence period:\s+30m`),
		regexp.MustCompile(`Status:\s+never`),
	} {
		if r.code != 0 || !want.MatchString(r.out) {
			t.Errorf("sensors show does not match %s: exit %d\n%s%s", want, r.code, r.out, r.err)
		}
	}
	r = runEnv(t, mac, "", asAdmin, "sensors", "set", "123", "--clear-temp-max", "--clear-silence")
	if r.code != 0 {
		t.Fatalf("sensors set --clear-temp-max: exit %d\n%s%s", r.code, r.out, r.err)
	}
	if sn, _ := f.srv.Store.Sensor(ctx, ws, 123); sn.Rules.TempMax != nil || sn.Rules.Silence != 0 || sn.Rules.TempMin == nil {
		t.Errorf("rules after the clears: %+v", sn.Rules)
	}
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"set", "123", "--temp-min", "10", "--temp-max", "5"}, "temp minimum (10) is above its maximum (5)"},
		{[]string{"set", "123", "--silence", "10ms"}, "--silence must be at least 1s"},
		{[]string{"set", "123", "--temp-max", "5", "--clear-temp-max"}, "temp-max"},
	} {
		r := runEnv(t, mac, "", asAdmin, append([]string{"sensors"}, c.args...)...)
		if r.code == 0 || !strings.Contains(r.err, c.says) {
			t.Errorf("sensors %v: exit %d %q, want an error saying %q", c.args, r.code, r.err, c.says)
		}
	}
}

// TestAlertsCommands: `runlet alerts` lists, filters and shows alerts
// with their notifications; `alerts settings` reads and changes the
// workspace's settings.
func TestAlertsCommands(t *testing.T) {
	f := startFleet(t)
	mac := f.signin("mac")
	ctx := context.Background()
	ws := workspaceOf(t, mac)
	db := f.srv.Store

	if r := runIn(t, mac, "", "alerts"); r.code != 0 || !strings.Contains(r.out, "No alerts.") {
		t.Errorf("alerts with none: exit %d\n%s%s", r.code, r.out, r.err)
	}
	if r := runEnv(t, mac, "", asAdmin, "sensors", "add", "123", "--secret", "789", "--name", "Fridge 1"); r.code != 0 {
		t.Fatalf("sensors add: exit %d %s", r.code, r.err)
	}
	open := func(key string, a runlet.Alert, notify bool) runlet.Alert {
		t.Helper()
		ch, err := db.ChangeAlert(ctx, ws, key, func(store.AlertMark) (store.AlertChange, error) {
			c := store.AlertChange{Open: &a, Notified: notify}
			if notify {
				c.Notify = []runlet.Notification{{Workspace: ws, Event: runlet.EventOpened, Channel: "ch-ops", Kind: runlet.ChannelEmail, Target: "ops@example.com", Subject: a.Summary, Body: a.Summary}}
			}
			return c, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return *ch.Open
	}
	now := time.Now().UTC()
	warm := open(runlet.ThresholdKey(123, runlet.MetricTemp), runlet.Alert{Kind: runlet.AlertThreshold, Sensor: 123, Metric: runlet.MetricTemp, Bound: runlet.BoundMax, Value: 9.5, Limit: 8, At: now, Summary: "Fridge 1: 9.5 °C is above 8 °C"}, true)
	off := open(runlet.DeviceKey("pi-3", runlet.AlertOffline), runlet.Alert{Kind: runlet.AlertOffline, Device: "pi-3", At: now, Summary: "Device pi-3 offline"}, false)
	if _, err := db.ChangeAlert(ctx, ws, runlet.DeviceKey("pi-3", runlet.AlertOffline), func(store.AlertMark) (store.AlertChange, error) {
		return store.AlertChange{Resolve: true, Recovery: "online again"}, nil
	}); err != nil {
		t.Fatal(err)
	}

	r := runIn(t, mac, "", "alerts")
	if r.code != 0 || !regexp.MustCompile(`(?s)offline\s+resolved.*Device pi-3 offline.*threshold\.temp\s+open.*Fridge 1: 9\.5 °C`).MatchString(r.out) {
		t.Errorf("alerts: exit %d\n%s%s", r.code, r.out, r.err)
	}
	r = runIn(t, mac, "", "alerts", "list", "--open")
	if r.code != 0 || !strings.Contains(r.out, "Fridge 1") || strings.Contains(r.out, "pi-3") {
		t.Errorf("alerts list --open: exit %d\n%s%s", r.code, r.out, r.err)
	}
	r = runIn(t, mac, "", "alerts", "--kind", "offline", "--json")
	var page api.Alerts
	if r.code != 0 || json.Unmarshal([]byte(r.out), &page) != nil || len(page.Alerts) != 1 || page.Alerts[0].ID != off.ID {
		t.Errorf("alerts --kind offline --json: exit %d\n%s%s", r.code, r.out, r.err)
	}
	// The sender may have tried it already: no SMTP server is set.
	r = runIn(t, mac, "", "alerts", "show", jsonID(warm.ID))
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`Kind:\s+threshold\.temp`),
		regexp.MustCompile(`Value:\s+9\.5°C`),
		regexp.MustCompile(`Limit:\s+max 8°C`),
		regexp.MustCompile(`opened\s+email ch-ops\s+ops@example\.com\s+(pending|failed)\s+\d`),
	} {
		if r.code != 0 || !want.MatchString(r.out) {
			t.Errorf("alerts show does not match %s: exit %d\n%s%s", want, r.code, r.out, r.err)
		}
	}
	r = runIn(t, mac, "", "sensors")
	if r.code != 0 || !regexp.MustCompile(`123\s+Fridge 1\s+active.*out_of_range`).MatchString(r.out) {
		t.Errorf("sensors with an open alert: exit %d\n%s%s", r.code, r.out, r.err)
	}
	for _, c := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"show", "999999"}, 1, "no alert 999999"},
		{[]string{"show", "x"}, 2, `"x" is not an alert id`},
		{[]string{"--kind", "fire"}, 2, "--kind must be"},
	} {
		r := runIn(t, mac, "", append([]string{"alerts"}, c.args...)...)
		if r.code != c.code || !strings.Contains(r.err, c.says) {
			t.Errorf("alerts %v: exit %d %q, want %d saying %q", c.args, r.code, r.err, c.code, c.says)
		}
	}

	// Settings: the defaults, then changed by an admin.
	r = runIn(t, mac, "", "alerts", "settings")
	if r.code != 0 || !regexp.MustCompile(`Tell at most every:\s+1h\n`).MatchString(r.out) || !regexp.MustCompile(`Route threshold\.batt:\s+admins`).MatchString(r.out) {
		t.Errorf("alerts settings: exit %d\n%s%s", r.code, r.out, r.err)
	}
	r = runEnv(t, mac, "", asAdmin, "alerts", "settings", "--every", "30m", "--offline", "10m", "--temp-max", "8", "--silence", "2h", "--route", "threshold.batt=both")
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`Tell at most every:\s+30m`),
		regexp.MustCompile(`Device offline after:\s+10m`),
		regexp.MustCompile(`Temperature range:\s+none \.\. 8°C`),
		regexp.MustCompile(`Silence period:\s+2h`),
		regexp.MustCompile(`Route threshold\.batt:\s+both`),
	} {
		if r.code != 0 || !want.MatchString(r.out) {
			t.Errorf("alerts settings change does not match %s: exit %d\n%s%s", want, r.code, r.out, r.err)
		}
	}
	st, err := db.AlertSettings(ctx, ws)
	if err != nil || st.Period() != 30*time.Minute || st.AudienceOf("threshold.batt") != runlet.AudienceBoth || st.Defaults.TempMax == nil {
		t.Errorf("stored settings: %+v, %v", st, err)
	}
	if r = runEnv(t, mac, "", asAdmin, "alerts", "settings", "--route", "threshold.batt=default", "--clear-temp-max"); r.code != 0 {
		t.Errorf("alerts settings --route =default: exit %d %s", r.code, r.err)
	}
	if st, _ := db.AlertSettings(ctx, ws); st.AudienceOf("threshold.batt") != runlet.AudienceAdmins || st.Defaults.TempMax != nil || st.Period() != 30*time.Minute {
		t.Errorf("stored settings after the reset: %+v", st)
	}
	for _, c := range []struct {
		env  map[string]string
		args []string
		says string
	}{
		{asAdmin, []string{"--route", "fire=owner"}, `no route "fire"`},
		{asAdmin, []string{"--route", "silence=everyone"}, "say owner, admins, both or default"},
		{asAdmin, []string{"--route", "silence"}, "give ROUTE=WHO"},
		{asAdmin, []string{"--every", "1ms"}, "--every must be at least 1s"},
		{nil, []string{"--every", "1h"}, "needs a workspace admin"},
	} {
		r := runEnv(t, mac, "", c.env, append([]string{"alerts", "settings"}, c.args...)...)
		if r.code != 2 || !strings.Contains(r.err, c.says) {
			t.Errorf("alerts settings %v: exit %d %q, want 2 saying %q", c.args, r.code, r.err, c.says)
		}
	}
}

func jsonID(id int64) string { b, _ := json.Marshal(id); return string(b) }

// TestChannelsCommands: `runlet channels` adds, lists, changes, tests and
// removes channels; a webhook's secret is read from a file and never
// printed.
func TestChannelsCommands(t *testing.T) {
	f := startFleet(t)
	mac := f.signin("mac")
	ctx := context.Background()
	ws := workspaceOf(t, mac)

	if r := runIn(t, mac, "", "channels"); r.code != 0 || !strings.Contains(r.out, "No channels yet") {
		t.Errorf("channels with none: exit %d\n%s%s", r.code, r.out, r.err)
	}
	r := runEnv(t, mac, "", asAdmin, "channels", "add", "email", "ops@example.com", "--route", "offline", "--route", "outbox,refused")
	m := regexp.MustCompile(`Added channel (\S+): email ops@example.com for the workspace\.`).FindStringSubmatch(r.out)
	if r.code != 0 || m == nil {
		t.Fatalf("channels add email: exit %d\n%s%s", r.code, r.out, r.err)
	}
	mailID := m[1]
	secretFile := filepath.Join(t.TempDir(), "hook.secret")
	if err := os.WriteFile(secretFile, []byte("whsec-2718281828\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = runEnv(t, mac, "", asAdmin, "channels", "add", "webhook", "https://hooks.example.com/runlet", "--secret-file", secretFile)
	m = regexp.MustCompile(`Added channel (\S+): webhook`).FindStringSubmatch(r.out)
	if r.code != 0 || m == nil || strings.Contains(r.out, "whsec") {
		t.Fatalf("channels add webhook: exit %d\n%s%s", r.code, r.out, r.err)
	}
	hookID := m[1]
	if _, secret, err := f.srv.Store.Channel(ctx, ws, hookID); err != nil || secret != "whsec-2718281828" {
		t.Errorf("the webhook's stored secret: %q, %v", secret, err)
	}
	r = runEnv(t, mac, "", asAdmin, "channels", "add", "sms", "+44 1234 567890", "--user", "me")
	if r.code != 0 || !strings.Contains(r.out, "sms +441234567890 for user ") {
		t.Errorf("channels add sms --user me: exit %d\n%s%s", r.code, r.out, r.err)
	}

	r = runIn(t, mac, "", "channels")
	if r.code != 0 || !regexp.MustCompile(mailID+`\s+email\s+ops@example\.com\s+workspace\s+offline,outbox,refused\s+enabled`).MatchString(r.out) ||
		!regexp.MustCompile(hookID+`\s+webhook\s+https://hooks\.example\.com/runlet\s+workspace\s+all\s+enabled, signed`).MatchString(r.out) || strings.Contains(r.out, "whsec") {
		t.Errorf("channels: exit %d\n%s%s", r.code, r.out, r.err)
	}
	// The device lists the workspace's channels, not the admin's own.
	if strings.Contains(r.out, "+441234567890") {
		t.Errorf("a device lists a member's channel:\n%s", r.out)
	}

	r = runEnv(t, mac, "", asAdmin, "channels", "set", mailID, "--disable", "--route", "all")
	if r.code != 0 || !strings.Contains(r.out, "(disabled)") {
		t.Errorf("channels set --disable: exit %d\n%s%s", r.code, r.out, r.err)
	}
	if ch, _, _ := f.srv.Store.Channel(ctx, ws, mailID); !ch.Disabled || len(ch.Routes) != 0 {
		t.Errorf("the channel after set: %+v", ch)
	}
	r = runEnv(t, mac, "", asAdmin, "channels", "set", hookID, "--clear-secret")
	if r.code != 0 || strings.Contains(r.out, "signed") {
		t.Errorf("channels set --clear-secret: exit %d\n%s%s", r.code, r.out, r.err)
	}

	// A test: queued where the store can, else a clear refusal.
	r = runEnv(t, mac, "", asAdmin, "channels", "test", mailID)
	if r.code != 0 || !strings.Contains(r.out, "Queued a test notification to email ops@example.com") {
		t.Errorf("channels test: exit %d\n%s%s", r.code, r.out, r.err)
	}

	for _, c := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"add", "pager", "x"}, 2, `"pager" is not a kind of channel`},
		{[]string{"add", "email", "not-an-address"}, 2, "is not an e-mail address"},
		{[]string{"add", "sms", "12345"}, 2, "international form"},
		{[]string{"add", "email", "a@example.com", "--secret-file", secretFile}, 2, "Only a webhook channel takes a secret"},
		{[]string{"add", "email", "a@example.com", "--route", "fire"}, 2, `no route "fire"`},
		{[]string{"set", mailID}, 2, "nothing to change"},
		{[]string{"rm", "ch-none"}, 1, `no channel "ch-none"`},
	} {
		r := runEnv(t, mac, "", asAdmin, append([]string{"channels"}, c.args...)...)
		if r.code != c.code || !strings.Contains(r.err, c.says) {
			t.Errorf("channels %v: exit %d %q, want %d saying %q", c.args, r.code, r.err, c.code, c.says)
		}
	}
	if r = runEnv(t, mac, "", asAdmin, "channels", "rm", mailID); r.code != 0 || !strings.Contains(r.out, "Removed channel") {
		t.Errorf("channels rm: exit %d\n%s%s", r.code, r.out, r.err)
	}
	if _, _, err := f.srv.Store.Channel(ctx, ws, mailID); runlet.ErrorCode(err) != runlet.ENOTFOUND {
		t.Errorf("the removed channel: %v", err)
	}
}

// TestNotifyCommands: `runlet notify settings` sets the providers with
// passwords from files, and never prints a password or header value.
func TestNotifyCommands(t *testing.T) {
	f := startFleet(t)
	mac := f.signin("mac")
	ctx := context.Background()
	ws := workspaceOf(t, mac)
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	r := runEnv(t, mac, "", asAdmin, "notify", "settings", "--smtp-host", "smtp.example.com", "--smtp-port", "2525", "--smtp-tls", "none",
		"--smtp-user", "alerts", "--smtp-password-file", write("smtp.pass", "smtp-secret-1\n"), "--smtp-from", "alerts@example.com",
		"--sms-url", "https://sms.example.com/send", "--sms-body-file", write("sms.tmpl", `{"to":"{{.To}}","text":"{{.Text}}"}`),
		"--sms-content-type", "application/json", "--sms-header", "X-Api-Key=key-77", "--sms-user", "acct", "--sms-password-file", write("sms.pass", "sms-secret-2"))
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`SMTP host:\s+smtp\.example\.com`),
		regexp.MustCompile(`SMTP port:\s+2525`),
		regexp.MustCompile(`SMTP TLS:\s+none`),
		regexp.MustCompile(`SMTP password:\s+set \(never shown\)`),
		regexp.MustCompile(`SMS headers:\s+X-Api-Key\n`),
		regexp.MustCompile(`SMS body template:\s+\d+ bytes`),
	} {
		if r.code != 0 || !want.MatchString(r.out) {
			t.Errorf("notify settings does not match %s: exit %d\n%s%s", want, r.code, r.out, r.err)
		}
	}
	for _, secret := range []string{"smtp-secret-1", "sms-secret-2", "key-77"} {
		if strings.Contains(r.out, secret) {
			t.Errorf("notify settings prints %s", secret)
		}
	}
	st, err := f.srv.Store.NotifySettings(ctx, ws)
	if err != nil || st.SMTP.Password != "smtp-secret-1" || st.SMS.Password != "sms-secret-2" || st.SMS.Headers["X-Api-Key"] != "key-77" || st.SMTP.Port != 2525 {
		t.Fatalf("stored: %+v, %v", st, err)
	}
	// A change of one field keeps the secrets.
	if r = runEnv(t, mac, "", asAdmin, "notify", "settings", "--smtp-port", "587", "--smtp-tls", "starttls"); r.code != 0 {
		t.Fatalf("notify settings --smtp-port: exit %d %s", r.code, r.err)
	}
	if st, _ := f.srv.Store.NotifySettings(ctx, ws); st.SMTP.Password != "smtp-secret-1" || st.SMS.Headers["X-Api-Key"] != "key-77" || st.SMTP.Port != 587 {
		t.Errorf("stored after a change: %+v", st)
	}
	if r = runEnv(t, mac, "", asAdmin, "notify", "settings", "--smtp-clear-password", "--sms-clear-headers"); r.code != 0 || !regexp.MustCompile(`SMTP password:\s+none`).MatchString(r.out) {
		t.Errorf("notify settings --smtp-clear-password: exit %d\n%s%s", r.code, r.out, r.err)
	}
	if st, _ := f.srv.Store.NotifySettings(ctx, ws); st.SMTP.Password != "" || len(st.SMS.Headers) != 0 || st.SMS.Password != "sms-secret-2" {
		t.Errorf("stored after the clears: %+v", st)
	}
	r = runIn(t, mac, "", "notify", "settings")
	if r.code != 0 || !regexp.MustCompile(`SMTP port:\s+587`).MatchString(r.out) {
		t.Errorf("notify settings as the device: exit %d\n%s%s", r.code, r.out, r.err)
	}
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"--smtp-tls", "ssl"}, "smtp.tls must be starttls"},
		{[]string{"--sms-header", "novalue"}, "give NAME=VALUE"},
		{[]string{"--sms-url", "https://u:p@sms.example.com"}, "credentials in it"},
		{[]string{"--smtp-password-file", filepath.Join(dir, "missing")}, "read the password"},
	} {
		r := runEnv(t, mac, "", asAdmin, append([]string{"notify", "settings"}, c.args...)...)
		if r.code != 2 || !strings.Contains(r.err, c.says) {
			t.Errorf("notify settings %v: exit %d %q, want 2 saying %q", c.args, r.code, r.err, c.says)
		}
	}
}

// TestAlertingHelp: every alerting verb explains itself with examples.
func TestAlertingHelp(t *testing.T) {
	h := t.TempDir()
	for _, verb := range [][]string{
		{"alerts"}, {"alerts", "list"}, {"alerts", "show"}, {"alerts", "settings"},
		{"channels"}, {"channels", "list"}, {"channels", "add"}, {"channels", "set"}, {"channels", "rm"}, {"channels", "test"},
		{"notify"}, {"notify", "settings"},
	} {
		r := runIn(t, h, "", append(verb, "--help")...)
		if r.code != 0 || !strings.Contains(r.out, "Examples:\n  runlet "+verb[0]) {
			t.Errorf("%v --help: exit %d, no examples\n%s%s", verb, r.code, r.out, r.err)
		}
	}
}
