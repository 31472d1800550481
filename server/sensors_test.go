//go:build !windows

package server_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/cmd/assemble"
)

// bigSecret is a seed-like secret above 2^53: through float64 it would
// become 64089519511846160.
const bigSecret = "64089519511846157"

// sensorCall sends body (raw JSON, "" for none) to the API path as the
// token, with the headers given as name, value pairs.
func sensorCall(t *testing.T, s *testServer, token, method, path, body string, headers ...string) (answer, http.Header) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxT(t), method, s.URL()+api.Prefix+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	h := resp.Header
	return read(t, resp), h
}

// errorOf is the error body of an answer.
func errorOf(t *testing.T, a answer) api.ErrorDetail {
	t.Helper()
	var e api.ErrorBody
	if err := json.Unmarshal([]byte(a.body), &e); err != nil {
		t.Fatalf("%d %q is not an error body: %v", a.status, a.body, err)
	}
	return e.Error
}

// TestSensorsAPI: an admin registers, lists, reads, changes and removes
// sensors; the secret, a number above 2^53, is taken exactly and never
// given back.
func TestSensorsAPI(t *testing.T) {
	s := startServer(t, func(c *assemble.Config) { c.AdminPassword = "admin-password" })
	ctx := ctxT(t)
	admin := s.adminClient(t)
	who, err := admin.Whoami(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// The secret as a JSON number, as the seed's sensors send it.
	a, _ := sensorCall(t, s, admin.Token, "POST", "/sensors",
		`{"id":9007199254740993,"name":"Freezer 2","secret":`+bigSecret+`,"owner":"Ada","location":"Kitchen","contact":"ada@example.com"}`)
	if a.status != http.StatusCreated {
		t.Fatalf("POST /sensors with a numeric secret: %d %s", a.status, a.body)
	}
	if strings.Contains(a.body, bigSecret) || strings.Contains(a.body, "secret") {
		t.Errorf("POST /sensors answers the secret: %s", a.body)
	}
	var created runlet.Sensor
	if err := json.Unmarshal([]byte(a.body), &created); err != nil {
		t.Fatal(err)
	}
	if created.ID != 9007199254740993 || created.Name != "Freezer 2" || created.State != runlet.SensorActive || created.Owner != "Ada" || created.Location != "Kitchen" || created.Contact != "ada@example.com" || created.Workspace != who.Workspace {
		t.Errorf("created %+v", created)
	}
	if _, err := s.Store.CheckSensor(ctx, created.ID, bigSecret); err != nil {
		t.Errorf("CheckSensor with the exact secret: %v", err)
	}
	if _, err := s.Store.CheckSensor(ctx, created.ID, "64089519511846160"); runlet.ErrorCode(err) != runlet.EUNAUTHORIZED {
		t.Errorf("CheckSensor with the secret rounded through float64: %v, want unauthorized", err)
	}

	// The secret as a string, through the client.
	sn, err := admin.AddSensor(ctx, api.NewSensor{ID: 123, Secret: "789", Name: "Fridge"})
	if err != nil || sn.ID != 123 || sn.State != runlet.SensorActive {
		t.Fatalf("add sensor 123: %+v, %v", sn, err)
	}
	if _, err := s.Store.CheckSensor(ctx, 123, "789"); err != nil {
		t.Errorf("CheckSensor 123: %v", err)
	}
	inactive, err := admin.AddSensor(ctx, api.NewSensor{ID: 7, Secret: "x", State: runlet.SensorInactive})
	if err != nil || inactive.State != runlet.SensorInactive {
		t.Errorf("add an inactive sensor: %+v, %v", inactive, err)
	}

	// Taken in this workspace: 409, saying where.
	_, err = admin.AddSensor(ctx, api.NewSensor{ID: 123, Secret: "1"})
	if runlet.ErrorCode(err) != runlet.ECONFLICT || !strings.Contains(runlet.ErrorMessage(err), "in this workspace already") {
		t.Errorf("add 123 twice: %v, want a conflict", err)
	}

	// Listed and read, without secrets.
	list, err := admin.Sensors(ctx)
	if err != nil || len(list) != 3 || list[0].ID != 7 || list[1].ID != 123 || list[2].ID != created.ID {
		t.Errorf("sensors: %+v, %v", list, err)
	}
	for _, path := range []string{"/sensors", "/sensors/123", "/sensors/9007199254740993"} {
		a, _ := sensorCall(t, s, admin.Token, "GET", path, "")
		// "789" as a JSON value: a time's fraction may hold those digits.
		if a.status != 200 || regexp.MustCompile(`[":]789\b`).MatchString(a.body) || strings.Contains(a.body, bigSecret) || strings.Contains(strings.ToLower(a.body), "secret") {
			t.Errorf("GET %s: %d %s", path, a.status, a.body)
		}
	}
	got, err := admin.Sensor(ctx, 123)
	if err != nil || got.Name != "Fridge" || !got.LastSeen.IsZero() || len(got.Latest) != 0 {
		t.Errorf("sensor 123 before any reading: %+v, %v", got, err)
	}

	// Changed: only the fields given.
	name, state, secret := "Fridge 1", runlet.SensorInactive, api.SensorSecret("790")
	got, err = admin.UpdateSensor(ctx, 123, api.SensorUpdate{Name: &name, State: &state, Secret: &secret})
	if err != nil || got.Name != "Fridge 1" || got.State != runlet.SensorInactive {
		t.Errorf("update 123: %+v, %v", got, err)
	}
	if _, err := s.Store.CheckSensor(ctx, 123, "790"); err != nil {
		t.Errorf("the new secret: %v", err)
	}
	if _, err := s.Store.CheckSensor(ctx, 123, "789"); runlet.ErrorCode(err) != runlet.EUNAUTHORIZED {
		t.Errorf("the old secret after the change: %v", err)
	}
	a, _ = sensorCall(t, s, admin.Token, "PATCH", "/sensors/123", `{"location":"Cellar","secret":1234}`)
	if a.status != 200 || !strings.Contains(a.body, `"location":"Cellar"`) || !strings.Contains(a.body, `"name":"Fridge 1"`) {
		t.Errorf("PATCH the location and a numeric secret: %d %s", a.status, a.body)
	}
	if _, err := s.Store.CheckSensor(ctx, 123, "1234"); err != nil {
		t.Errorf("the numeric secret of PATCH: %v", err)
	}

	// Removed: gone, and a second time not found.
	if err := admin.RemoveSensor(ctx, 7); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Sensor(ctx, 7); runlet.ErrorCode(err) != runlet.ENOTFOUND {
		t.Errorf("sensor 7 after its removal: %v", err)
	}
	if err := admin.RemoveSensor(ctx, 7); runlet.ErrorCode(err) != runlet.ENOTFOUND {
		t.Errorf("remove 7 again: %v", err)
	}
	a, _ = sensorCall(t, s, admin.Token, "DELETE", "/sensors/123", "")
	if a.status != http.StatusNoContent || a.body != "" {
		t.Errorf("DELETE /sensors/123: %d %q", a.status, a.body)
	}
}

// TestSensorsRefuseBadInput: every refusal is 400 and names what is wrong.
func TestSensorsRefuseBadInput(t *testing.T) {
	s := startServer(t, func(c *assemble.Config) { c.AdminPassword = "admin-password" })
	admin := s.adminClient(t)
	if _, err := admin.AddSensor(ctxT(t), api.NewSensor{ID: 5, Secret: "5"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		method, path, body string
		says               string
	}{
		{"POST", "/sensors", `{"id":0,"secret":"1"}`, "id must be"},
		{"POST", "/sensors", `{"id":-4,"secret":"1"}`, "id must be"},
		{"POST", "/sensors", `{"id":1.5,"secret":"1"}`, "not the JSON expected"},
		{"POST", "/sensors", `{"id":1}`, "secret is missing"},
		{"POST", "/sensors", `{"id":1,"secret":""}`, "secret is missing"},
		{"POST", "/sensors", `{"id":1,"secret":1.5}`, "secret must be a string or a whole number"},
		{"POST", "/sensors", `{"id":1,"secret":1e9}`, "secret must be a string or a whole number"},
		{"POST", "/sensors", `{"id":1,"secret":true}`, "secret must be a string or a whole number"},
		{"POST", "/sensors", `{"id":1,"secret":-5}`, "secret must be a string or a whole number without a sign"},
		{"POST", "/sensors", `{"id":1,"secret":"` + strings.Repeat("s", runlet.MaxSensorSecret+1) + `"}`, "secret is too long"},
		{"POST", "/sensors", `{"id":1,"secret":"1","state":"broken"}`, "state must be active or inactive"},
		{"POST", "/sensors", `{"id":1,"secret":"1","name":"a\u001b[2Jb"}`, "The name may not contain"},
		{"POST", "/sensors", `{"id":1,"secret":"1","owner":"` + strings.Repeat("o", 201) + `"}`, "The owner is too long"},
		{"PATCH", "/sensors/5", `{"state":"off"}`, "state must be active or inactive"},
		{"PATCH", "/sensors/5", `{"secret":""}`, "secret is missing"},
		{"PATCH", "/sensors/5", `{"contact":"\u0007"}`, "The contact may not contain"},
		{"GET", "/sensors/abc", "", "sensor id must be a positive integer"},
		{"GET", "/sensors/-5", "", "sensor id must be a positive integer"},
		{"DELETE", "/sensors/0", "", "sensor id must be a positive integer"},
	} {
		a, _ := sensorCall(t, s, admin.Token, c.method, c.path, c.body)
		if a.status != http.StatusBadRequest || !strings.Contains(errorOf(t, a).Message, c.says) {
			t.Errorf("%s %s %s: %d %s, want 400 saying %q", c.method, c.path, c.body, a.status, a.body, c.says)
		}
	}
	if got, err := admin.Sensor(ctxT(t), 5); err != nil || got.State != runlet.SensorActive {
		t.Errorf("sensor 5 after the refused changes: %+v, %v", got, err)
	}
}

// TestSensorsOfAnotherWorkspace: another workspace's sensor answers 404
// on every endpoint, exactly as a sensor that does not exist, and its id
// is refused without saying whose it is.
func TestSensorsOfAnotherWorkspace(t *testing.T) {
	s := startServer(t, func(c *assemble.Config) { c.AdminPassword = "admin-password" })
	ctx := ctxT(t)
	admin := s.adminClient(t)
	// The other workspace, with a device of its own, and its sensor.
	cred := deviceInNewWorkspace(t, s, "")
	otherDevice := apiclient.New(s.URL(), cred.Token)
	theirs := runlet.Sensor{ID: 555, Workspace: cred.Workspace, Name: "Their freezer"}
	if err := s.Store.AddSensor(ctx, &theirs, "555"); err != nil {
		t.Fatal(err)
	}

	_, err := admin.AddSensor(ctx, api.NewSensor{ID: 555, Secret: "1"})
	if msg := runlet.ErrorMessage(err); runlet.ErrorCode(err) != runlet.ECONFLICT || strings.Contains(msg, cred.Workspace) || strings.Contains(msg, "Their") || strings.Contains(msg, "this workspace") {
		t.Errorf("add another workspace's id: %v, want a conflict that names no workspace", err)
	}
	if list, err := admin.Sensors(ctx); err != nil || len(list) != 0 {
		t.Errorf("this workspace lists %+v, %v", list, err)
	}
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/sensors/%d", ""},
		{"PATCH", "/sensors/%d", `{"name":"mine now"}`},
		{"GET", "/sensors/%d/readings", ""},
		{"GET", "/sensors/%d/readings?format=csv", ""},
		{"GET", "/sensors/%d/raw", ""},
		{"POST", "/sensors/%d/replay", `{}`},
		{"DELETE", "/sensors/%d", ""},
	} {
		theirsA, _ := sensorCall(t, s, admin.Token, c.method, strings.Replace(c.path, "%d", "555", 1), c.body)
		noneA, _ := sensorCall(t, s, admin.Token, c.method, strings.Replace(c.path, "%d", "556", 1), c.body)
		if theirsA.status != http.StatusNotFound || noneA.status != http.StatusNotFound {
			t.Errorf("%s %s: another workspace's %d, a missing one's %d; want 404 for both", c.method, c.path, theirsA.status, noneA.status)
			continue
		}
		if strings.ReplaceAll(theirsA.body, "555", "N") != strings.ReplaceAll(noneA.body, "556", "N") {
			t.Errorf("%s %s: another workspace's sensor answers %s, a missing one %s", c.method, c.path, theirsA.body, noneA.body)
		}
	}
	if got, err := s.Store.Sensor(ctx, cred.Workspace, 555); err != nil || got.Name != "Their freezer" {
		t.Errorf("their sensor after the attempts: %+v, %v", got, err)
	}
	if list, err := otherDevice.Sensors(ctx); err != nil || len(list) != 1 || list[0].ID != 555 {
		t.Errorf("their device lists %+v, %v", list, err)
	}
}

// TestSensorsPermissions: members and devices read; only admins change.
func TestSensorsPermissions(t *testing.T) {
	s := startServer(t, func(c *assemble.Config) { c.AdminPassword = "admin-password" })
	ctx := ctxT(t)
	admin := s.adminClient(t)
	if _, err := admin.AddSensor(ctx, api.NewSensor{ID: 1, Secret: "1"}); err != nil {
		t.Fatal(err)
	}
	bob := s.member(t, "bob@example.com", runlet.RoleMember)
	pi := apiclient.FromCredentials(s.enroll(t, "pi-1"))
	for who, c := range map[string]*apiclient.Client{"a member": bob, "a device": pi} {
		if list, err := c.Sensors(ctx); err != nil || len(list) != 1 {
			t.Errorf("%s lists %+v, %v", who, list, err)
		}
		if _, err := c.Sensor(ctx, 1); err != nil {
			t.Errorf("%s reads sensor 1: %v", who, err)
		}
		if _, err := c.Series(ctx, 1, api.SeriesQuery{}); err != nil {
			t.Errorf("%s reads the series: %v", who, err)
		}
		if _, err := c.RawReadings(ctx, 1, api.RawQuery{}); err != nil {
			t.Errorf("%s reads the archive: %v", who, err)
		}
		if _, err := c.TelemetrySettings(ctx); err != nil {
			t.Errorf("%s reads the settings: %v", who, err)
		}
		if _, err := c.TelemetryStats(ctx); err != nil {
			t.Errorf("%s reads the stats: %v", who, err)
		}
		name, on := "mine", true
		for what, err := range map[string]error{
			"adds a sensor":        second(c.AddSensor(ctx, api.NewSensor{ID: 2, Secret: "2"})),
			"changes a sensor":     second(c.UpdateSensor(ctx, 1, api.SensorUpdate{Name: &name})),
			"removes a sensor":     c.RemoveSensor(ctx, 1),
			"replays":              second(c.Replay(ctx, 1, api.ReplayRequest{})),
			"changes the settings": second(c.SetTelemetrySettings(ctx, api.TelemetrySettingsUpdate{AutoRegister: &on})),
		} {
			if runlet.ErrorCode(err) != runlet.EFORBIDDEN {
				t.Errorf("%s %s: %v, want forbidden", who, what, err)
			}
		}
	}
	if got, err := admin.Sensor(ctx, 1); err != nil || got.Name != "" {
		t.Errorf("sensor 1 after the refusals: %+v, %v", got, err)
	}
	if ts, err := admin.TelemetrySettings(ctx); err != nil || ts.AutoRegister {
		t.Errorf("settings after the refusals: %+v, %v", ts, err)
	}
	if _, err := s.client().Sensors(ctx); runlet.ErrorCode(err) != runlet.EUNAUTHORIZED {
		t.Errorf("sensors without a token: %v", err)
	}
}

func second[T any](_ T, err error) error { return err }
