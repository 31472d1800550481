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
	"github.com/runlet/runlet/home"
)

// asAdmin is the environment of a command run as the fleet's admin.
var asAdmin = map[string]string{"RUNLET_ADMIN": "admin@localhost", "RUNLET_PASSWORD": adminPassword}

// TestSensorsCommands: `runlet sensors` adds, lists, shows, changes,
// queries and removes sensors; every mistake says what to do and changes
// nothing.
func TestSensorsCommands(t *testing.T) {
	f := startFleet(t)
	mac := f.signin("mac")
	ctx := context.Background()
	db := f.srv.Store

	r := runEnv(t, mac, "", asAdmin, "sensors", "add", "123", "--secret", "789", "--name", "Fridge 1", "--location", "Kitchen")
	if r.code != 0 || !strings.Contains(r.out, `Added sensor 123 "Fridge 1" (active)`) || strings.Contains(r.out, "789") {
		t.Fatalf("sensors add 123: exit %d\n%s%s", r.code, r.out, r.err)
	}
	if _, err := db.CheckSensor(ctx, 123, "789"); err != nil {
		t.Errorf("sensor 123's secret: %v", err)
	}

	// A made secret, printed once, and a secret from a file, exactly.
	r = runEnv(t, mac, "", asAdmin, "sensors", "add", "124", "--inactive")
	made := regexp.MustCompile(`shown this once: (\d+)\n`).FindStringSubmatch(r.out)
	if r.code != 0 || made == nil || !strings.Contains(r.out, "(inactive)") {
		t.Fatalf("sensors add 124 without a secret: exit %d\n%s%s", r.code, r.out, r.err)
	}
	if _, err := db.CheckSensor(ctx, 124, made[1]); err != nil {
		t.Errorf("the made secret %s: %v", made[1], err)
	}
	file := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(file, []byte("64089519511846157\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r = runEnv(t, mac, "", asAdmin, "sensors", "add", "125", "--secret-file", file); r.code != 0 {
		t.Fatalf("sensors add --secret-file: exit %d\n%s%s", r.code, r.out, r.err)
	}
	if _, err := db.CheckSensor(ctx, 125, "64089519511846157"); err != nil {
		t.Errorf("the secret of the file: %v", err)
	}

	for _, c := range []struct {
		what string
		env  map[string]string
		args []string
		code int
		says string
	}{
		{"a taken id", asAdmin, []string{"add", "123", "--secret", "1"}, 1, "in this workspace already"},
		{"a bad id", asAdmin, []string{"add", "fridge", "--secret", "1"}, 2, `"fridge" is not a sensor id`},
		{"no admin", nil, []string{"add", "126", "--secret", "1"}, 2, "needs a workspace admin"},
		{"a bad state", asAdmin, []string{"set", "123", "--state", "off"}, 2, "--state must be active or inactive"},
		{"nothing to set", asAdmin, []string{"set", "123"}, 2, "nothing to change"},
		{"an unknown sensor", asAdmin, []string{"set", "999", "--name", "x"}, 1, "no sensor 999"},
		{"show an unknown sensor", nil, []string{"show", "999"}, 1, "no sensor 999"},
		{"rm without --yes", asAdmin, []string{"rm", "123"}, 2, "add --yes"},
		{"a bad metric", nil, []string{"readings", "123", "--metric", "humidity"}, 2, "metric must be temp or batt"},
		{"a bad time", nil, []string{"readings", "123", "--from", "yesterday"}, 2, "from must be a time"},
	} {
		r := runEnv(t, mac, "", c.env, append([]string{"sensors"}, c.args...)...)
		if r.code != c.code || !strings.Contains(r.err, c.says) {
			t.Errorf("%s: exit %d %q, want %d saying %q", c.what, r.code, r.err, c.code, c.says)
		}
	}

	// Readings, stored as the pipeline would.
	base := time.Now().Add(-5 * time.Hour).Truncate(time.Hour)
	var rs []runlet.RawReading
	for i, v := range []float64{4.2, 4.4, 5} {
		x := runlet.RawReading{Device: "mac", Seq: uint64(i + 1), Accepted: base}
		x.Sensor, x.Time = 123, base.Add(time.Duration(i)*10*time.Minute)
		x.Set(runlet.MetricTemp, v)
		x.Set(runlet.MetricBatt, 97)
		rs = append(rs, x)
	}
	if _, err := db.AddReadings(ctx, workspaceOf(t, mac), rs); err != nil {
		t.Fatal(err)
	}

	r = runIn(t, mac, "", "sensors")
	if r.code != 0 || !regexp.MustCompile(`123\s+Fridge 1\s+active\s+\dh ago\s+5°C\s+97%\s+Kitchen`).MatchString(r.out) ||
		!regexp.MustCompile(`124\s+-\s+inactive\s+never`).MatchString(r.out) {
		t.Errorf("sensors: exit %d\n%s%s", r.code, r.out, r.err)
	}
	r = runIn(t, mac, "", "sensors", "list", "--json")
	var list []runlet.Sensor
	// "789" as a JSON value: a time's fraction may hold those digits.
	if r.code != 0 || json.Unmarshal([]byte(r.out), &list) != nil || len(list) != 3 || regexp.MustCompile(`[":]\s*789\b`).MatchString(r.out) {
		t.Errorf("sensors list --json: exit %d\n%s%s", r.code, r.out, r.err)
	}
	r = runIn(t, mac, "", "sensors", "show", "123")
	for _, want := range []string{"Name:", "Fridge 1", "Temperature:", "5°C", "Battery:", "97%", "Last seen:", "h ago", "Location:", "Kitchen"} {
		if r.code != 0 || !strings.Contains(r.out, want) {
			t.Errorf("sensors show 123 does not say %q: exit %d\n%s%s", want, r.code, r.out, r.err)
		}
	}
	r = runIn(t, mac, "", "sensors", "readings", "123")
	if r.code != 0 || !regexp.MustCompile(`TIME\s+TEMP\n.*\s4\.2°C\n.*\s4\.4°C\n.*\s5°C\n$`).MatchString(r.out) {
		t.Errorf("sensors readings 123: exit %d\n%s%s", r.code, r.out, r.err)
	}
	r = runIn(t, mac, "", "sensors", "readings", "123", "--step", "1h")
	if r.code != 0 || !regexp.MustCompile(`MIN\s+MAX\s+MEAN\s+COUNT\s*\n.*4\.2°C\s+5°C\s+4\.533°C\s+3\s*\n$`).MatchString(r.out) {
		t.Errorf("sensors readings 123 --step 1h: exit %d\n%s%s", r.code, r.out, r.err)
	}
	r = runIn(t, mac, "", "sensors", "readings", "123", "--metric", "batt", "--csv", "--from", "-1d")
	if r.code != 0 || !strings.HasPrefix(r.out, "time,min,max,mean,count\n") || strings.Count(r.out, ",97,97,97,1\n") != 3 {
		t.Errorf("sensors readings --csv: exit %d\n%s%s", r.code, r.out, r.err)
	}
	r = runIn(t, mac, "", "sensors", "readings", "123", "--json", "--limit", "2")
	var s api.Series
	if r.code != 0 || json.Unmarshal([]byte(r.out), &s) != nil || len(s.Points) != 2 || !s.Truncated {
		t.Errorf("sensors readings --json --limit 2: exit %d\n%s%s", r.code, r.out, r.err)
	}

	// Changed, then removed.
	r = runEnv(t, mac, "", asAdmin, "sensors", "set", "123", "--state", "inactive", "--owner", "Ada", "--secret", "790")
	if r.code != 0 || !strings.Contains(r.out, "Changed sensor 123") || !strings.Contains(r.out, "(inactive)") {
		t.Errorf("sensors set: exit %d\n%s%s", r.code, r.out, r.err)
	}
	if got, err := db.CheckSensor(ctx, 123, "790"); err != nil || got.State != runlet.SensorInactive || got.Owner != "Ada" || got.Name != "Fridge 1" {
		t.Errorf("sensor 123 after set: %+v, %v", got, err)
	}
	r = runEnv(t, mac, "", asAdmin, "sensors", "rm", "123", "--yes")
	if r.code != 0 || !strings.Contains(r.out, `Removed sensor 123 "Fridge 1"`) {
		t.Errorf("sensors rm: exit %d\n%s%s", r.code, r.out, r.err)
	}
	if r = runIn(t, mac, "", "sensors", "show", "123"); r.code != 1 || !strings.Contains(r.err, "no sensor 123") {
		t.Errorf("show after rm: exit %d %s", r.code, r.err)
	}
}

// TestTelemetryCommands: settings, stats and replay.
func TestTelemetryCommands(t *testing.T) {
	f := startFleet(t)
	mac := f.signin("mac")

	r := runIn(t, mac, "", "telemetry", "settings")
	if r.code != 0 || !regexp.MustCompile(`Retention:\s+366d\nAuto-registration:\s+off`).MatchString(r.out) {
		t.Errorf("telemetry settings: exit %d\n%s%s", r.code, r.out, r.err)
	}
	r = runEnv(t, mac, "", asAdmin, "telemetry", "settings", "--retention", "720h", "--auto-register=true")
	if r.code != 0 || !regexp.MustCompile(`Retention:\s+30d\nAuto-registration:\s+on`).MatchString(r.out) {
		t.Errorf("telemetry settings --retention 720h --auto-register: exit %d\n%s%s", r.code, r.out, r.err)
	}
	r = runEnv(t, mac, "", asAdmin, "telemetry", "settings", "--retention", "10m")
	if r.code != 2 || !strings.Contains(r.err, "retention must be a duration of an hour or more") {
		t.Errorf("telemetry settings --retention 10m: exit %d %s", r.code, r.err)
	}
	r = runIn(t, mac, "", "telemetry", "settings", "--json")
	var ts api.TelemetrySettings
	if r.code != 0 || json.Unmarshal([]byte(r.out), &ts) != nil || ts.Retention != "30d" || !ts.AutoRegister {
		t.Errorf("telemetry settings --json: exit %d\n%s%s", r.code, r.out, r.err)
	}

	r = runIn(t, mac, "", "telemetry", "stats")
	if r.code != 0 || !regexp.MustCompile(`accepted\s+0\n`).MatchString(r.out) || !strings.Contains(r.out, "refused: wrong secret") {
		t.Errorf("telemetry stats: exit %d\n%s%s", r.code, r.out, r.err)
	}

	if r = runEnv(t, mac, "", asAdmin, "sensors", "add", "7", "--secret", "7"); r.code != 0 {
		t.Fatalf("sensors add 7: exit %d %s", r.code, r.err)
	}
	r = runEnv(t, mac, "", asAdmin, "telemetry", "replay", "--sensor", "7", "--from", "-7d")
	if r.code != 0 || !strings.Contains(r.out, "Replayed 0 readings of sensor 7.") {
		t.Errorf("telemetry replay: exit %d\n%s%s", r.code, r.out, r.err)
	}
	for _, c := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"replay"}, 2, "--sensor ID"},
		{[]string{"replay", "--sensor", "8"}, 1, "no sensor 8"},
		{[]string{"replay", "--sensor", "7", "--to", "soon"}, 2, "to must be a time"},
	} {
		r := runEnv(t, mac, "", asAdmin, append([]string{"telemetry"}, c.args...)...)
		if r.code != c.code || !strings.Contains(r.err, c.says) {
			t.Errorf("telemetry %v: exit %d %q, want %d saying %q", c.args, r.code, r.err, c.code, c.says)
		}
	}
}

// TestSensorsHelp: every sensors and telemetry verb explains itself with
// examples.
func TestSensorsHelp(t *testing.T) {
	h := t.TempDir()
	for _, verb := range [][]string{
		{"sensors"}, {"sensors", "add"}, {"sensors", "list"}, {"sensors", "show"}, {"sensors", "set"}, {"sensors", "rm"}, {"sensors", "readings"},
		{"telemetry"}, {"telemetry", "replay"}, {"telemetry", "settings"}, {"telemetry", "stats"},
	} {
		r := runIn(t, h, "", append(verb, "--help")...)
		if r.code != 0 || !strings.Contains(r.out, "Examples:\n  runlet "+strings.Join(verb[:1], " ")) {
			t.Errorf("%v --help: exit %d, no examples\n%s%s", verb, r.code, r.out, r.err)
		}
	}
}

// workspaceOf is the workspace of the device signed in at h.
func workspaceOf(t *testing.T, h string) string {
	t.Helper()
	cred, err := home.Dir(h).Credentials()
	if err != nil {
		t.Fatal(err)
	}
	return cred.Workspace
}
