//go:build !windows

package server_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/cmd/assemble"
	"github.com/runlet/runlet/telemetry/ingest"
)

// withReadings starts a server whose sensor 123 (secret 789) has four
// readings at base, +10m, +20m and +70m: temp 1, 2, 3, 4, and batt 97 on
// the first. base is on the hour, 3 to 4 hours ago.
func withReadings(t *testing.T) (s *testServer, token string, base time.Time) {
	t.Helper()
	s = startServer(t, func(c *assemble.Config) { c.AdminPassword = "admin-password" })
	ctx := ctxT(t)
	admin := s.adminClient(t)
	who, err := admin.Whoami(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.AddSensor(ctx, api.NewSensor{ID: 123, Secret: "789"}); err != nil {
		t.Fatal(err)
	}
	base = s.clock.Now().Add(-3 * time.Hour).Truncate(time.Hour).UTC()
	var rs []runlet.RawReading
	for i, off := range []time.Duration{0, 10 * time.Minute, 20 * time.Minute, 70 * time.Minute} {
		r := runlet.RawReading{Device: "pi-1", Seq: uint64(i + 1), Accepted: base.Add(off)}
		r.Sensor, r.Time = 123, base.Add(off)
		r.Set(runlet.MetricTemp, float64(i+1))
		if i == 0 {
			r.Set(runlet.MetricBatt, 97)
		}
		rs = append(rs, r)
	}
	if n, err := s.Store.AddReadings(ctx, who.Workspace, rs); err != nil || n != 4 {
		t.Fatalf("AddReadings: %d, %v", n, err)
	}
	return s, admin.Token, base
}

// TestSensorReadings: the series of a sensor, every point or in buckets,
// in JSON and CSV, over the default range or the one asked for.
func TestSensorReadings(t *testing.T) {
	s, token, base := withReadings(t)
	ctx := ctxT(t)
	admin := s.adminClient(t)

	sn, err := admin.Sensor(ctx, 123)
	if err != nil || !sn.LastSeen.Equal(base.Add(70*time.Minute)) || sn.Latest[runlet.MetricTemp] != 4 || sn.Latest[runlet.MetricBatt] != 97 {
		t.Errorf("sensor 123: %+v, %v; want last seen at +70m, temp 4, batt 97", sn, err)
	}

	unix := func(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }
	for _, c := range []struct {
		what string
		q    api.SeriesQuery
		want []runlet.SeriesPoint
		step string
	}{
		{"the last 24 hours, every point", api.SeriesQuery{}, []runlet.SeriesPoint{
			{Time: base, Min: 1, Max: 1, Mean: 1, Count: 1},
			{Time: base.Add(10 * time.Minute), Min: 2, Max: 2, Mean: 2, Count: 1},
			{Time: base.Add(20 * time.Minute), Min: 3, Max: 3, Mean: 3, Count: 1},
			{Time: base.Add(70 * time.Minute), Min: 4, Max: 4, Mean: 4, Count: 1},
		}, ""},
		{"hourly", api.SeriesQuery{Step: "1h"}, []runlet.SeriesPoint{
			{Time: base, Min: 1, Max: 3, Mean: 2, Count: 3},
			{Time: base.Add(time.Hour), Min: 4, Max: 4, Mean: 4, Count: 1},
		}, "1h"},
		{"auto over a day: 2 min buckets", api.SeriesQuery{Step: "auto", From: "-24h"}, []runlet.SeriesPoint{
			{Time: base, Min: 1, Max: 1, Mean: 1, Count: 1},
			{Time: base.Add(10 * time.Minute), Min: 2, Max: 2, Mean: 2, Count: 1},
			{Time: base.Add(20 * time.Minute), Min: 3, Max: 3, Mean: 3, Count: 1},
			{Time: base.Add(70 * time.Minute), Min: 4, Max: 4, Mean: 4, Count: 1},
		}, "2m"},
		{"battery", api.SeriesQuery{Metric: runlet.MetricBatt}, []runlet.SeriesPoint{{Time: base, Min: 97, Max: 97, Mean: 97, Count: 1}}, ""},
		{"from and to in unix seconds", api.SeriesQuery{From: unix(base.Add(5 * time.Minute)), To: unix(base.Add(70 * time.Minute))}, []runlet.SeriesPoint{
			{Time: base.Add(10 * time.Minute), Min: 2, Max: 2, Mean: 2, Count: 1},
			{Time: base.Add(20 * time.Minute), Min: 3, Max: 3, Mean: 3, Count: 1},
		}, ""},
		{"from in RFC 3339, to now", api.SeriesQuery{From: base.Add(time.Hour).Format(time.RFC3339), To: "now"}, []runlet.SeriesPoint{
			{Time: base.Add(70 * time.Minute), Min: 4, Max: 4, Mean: 4, Count: 1},
		}, ""},
		{"a limit", api.SeriesQuery{Limit: 1}, []runlet.SeriesPoint{{Time: base, Min: 1, Max: 1, Mean: 1, Count: 1}}, ""},
		{"long ago", api.SeriesQuery{From: "-30d", To: "-7d"}, []runlet.SeriesPoint{}, ""},
	} {
		got, err := admin.Series(ctx, 123, c.q)
		if err != nil {
			t.Errorf("%s: %v", c.what, err)
			continue
		}
		if got.Sensor != 123 || got.Step != c.step || !reflect.DeepEqual(pointsUTC(got.Points), c.want) {
			t.Errorf("%s: step %q, points %+v\nwant step %q, %+v", c.what, got.Step, got.Points, c.step, c.want)
		}
		if c.q.Limit == 1 && !got.Truncated {
			t.Errorf("%s: not marked truncated", c.what)
		}
	}

	// CSV, by format or by Accept.
	want := "time,min,max,mean,count\n" +
		base.Format(time.RFC3339Nano) + ",1,3,2,3\n" +
		base.Add(time.Hour).Format(time.RFC3339Nano) + ",4,4,4,1\n"
	b, err := admin.SeriesCSV(ctx, 123, api.SeriesQuery{Step: "1h"})
	if err != nil || string(b) != want {
		t.Errorf("CSV by format=csv: %v\n%s\nwant\n%s", err, b, want)
	}
	a, h := sensorCall(t, s, token, "GET", "/sensors/123/readings?step=1h", "", "Accept", "text/csv")
	if a.status != 200 || a.body != want || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") {
		t.Errorf("CSV by Accept: %d %s %s", a.status, h.Get("Content-Type"), a.body)
	}
	a, h = sensorCall(t, s, token, "GET", "/sensors/123/readings?format=json", "", "Accept", "text/csv")
	if a.status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		t.Errorf("format=json wins over Accept: %d %s", a.status, h.Get("Content-Type"))
	}
}

func pointsUTC(ps []runlet.SeriesPoint) []runlet.SeriesPoint {
	out := make([]runlet.SeriesPoint, len(ps))
	for i, p := range ps {
		p.Time = p.Time.UTC()
		out[i] = p
	}
	return out
}

// TestSensorRaw: the raw archive in insertion order, page by page, and
// never a secret.
func TestSensorRaw(t *testing.T) {
	s, token, base := withReadings(t)
	ctx := ctxT(t)
	admin := s.adminClient(t)
	page, err := admin.RawReadings(ctx, 123, api.RawQuery{Limit: 3})
	if err != nil || len(page.Readings) != 3 || page.Next == 0 {
		t.Fatalf("first page: %+v, %v", page, err)
	}
	r := page.Readings[0]
	if r.Sensor != 123 || !r.Time.Equal(base) || r.Values[runlet.MetricTemp] != 1 || r.Values[runlet.MetricBatt] != 97 || r.Device != "pi-1" || r.Seq != 1 || r.Stored.IsZero() {
		t.Errorf("first raw reading: %+v", r)
	}
	rest, err := admin.RawReadings(ctx, 123, api.RawQuery{After: page.Next, Limit: 3})
	if err != nil || len(rest.Readings) != 1 || rest.Next != 0 || rest.Readings[0].Seq != 4 || rest.Readings[0].ID <= page.Next {
		t.Errorf("second page: %+v, %v", rest, err)
	}
	if _, ok := rest.Readings[0].Values[runlet.MetricBatt]; ok {
		t.Errorf("a battery value that was never sent: %+v", rest.Readings[0])
	}
	a, _ := sensorCall(t, s, token, "GET", "/sensors/123/raw?from=-24h", "")
	if a.status != 200 || strings.Contains(a.body, "789") || strings.Contains(strings.ToLower(a.body), "secret") || strings.Count(a.body, `"seq"`) != 4 {
		t.Errorf("GET raw: %d %s", a.status, a.body)
	}
}

// TestSensorQueriesRefuseBadParameters: each refusal is 400 and names the
// parameter.
func TestSensorQueriesRefuseBadParameters(t *testing.T) {
	s, token, _ := withReadings(t)
	for _, c := range []struct{ path, says string }{
		{"/sensors/123/readings?metric=humidity", "metric must be temp or batt"},
		{"/sensors/123/readings?from=yesterday", "from must be a time"},
		{"/sensors/123/readings?to=2026-13-01", "to must be a time"},
		{"/sensors/123/readings?from=-1x", "from must be a time"},
		{"/sensors/123/readings?from=-1h&to=-2h", "to ("},
		{"/sensors/123/readings?step=fast", "step must be a duration"},
		{"/sensors/123/readings?step=10ms", "step must be a duration"},
		{"/sensors/123/readings?step=-5m", "step must be a duration"},
		{"/sensors/123/readings?limit=-1", "limit must be a number"},
		{"/sensors/123/readings?limit=many", "limit must be a number"},
		{"/sensors/123/readings?format=xml", "format must be json or csv"},
		{"/sensors/123/raw?after=x", "after must be"},
		{"/sensors/123/raw?after=-3", "after must be"},
		{"/sensors/123/raw?limit=x", "limit must be a number"},
		{"/sensors/123/raw?to=tomorrow", "to must be a time"},
	} {
		a, _ := sensorCall(t, s, token, "GET", c.path, "")
		if a.status != http.StatusBadRequest || !strings.Contains(errorOf(t, a).Message, c.says) {
			t.Errorf("GET %s: %d %s, want 400 saying %q", c.path, a.status, a.body, c.says)
		}
	}
	for _, c := range []struct{ body, says string }{
		{`{"from":"last week"}`, "from must be a time"},
		{`{"to":"soon"}`, "to must be a time"},
		{`{"from":"-1h","to":"-2h"}`, "must be after"},
		{`{"from":5}`, "not the JSON expected"},
	} {
		a, _ := sensorCall(t, s, token, "POST", "/sensors/123/replay", c.body)
		if a.status != http.StatusBadRequest || !strings.Contains(errorOf(t, a).Message, c.says) {
			t.Errorf("POST replay %s: %d %s, want 400 saying %q", c.body, a.status, a.body, c.says)
		}
	}
}

// TestTelemetrySettingsStatsAndReplay: the workspace's settings, the
// pipeline's counters, and a replay of the archive.
func TestTelemetrySettingsStatsAndReplay(t *testing.T) {
	s, token, base := withReadings(t)
	ctx := ctxT(t)
	admin := s.adminClient(t)

	ts, err := admin.TelemetrySettings(ctx)
	if err != nil || ts.Retention != "366d" || ts.AutoRegister {
		t.Errorf("default settings: %+v, %v", ts, err)
	}
	ret := "720h"
	if ts, err = admin.SetTelemetrySettings(ctx, api.TelemetrySettingsUpdate{Retention: &ret}); err != nil || ts.Retention != "30d" || ts.AutoRegister {
		t.Errorf("retention 720h: %+v, %v", ts, err)
	}
	on := true
	if ts, err = admin.SetTelemetrySettings(ctx, api.TelemetrySettingsUpdate{AutoRegister: &on}); err != nil || ts.Retention != "30d" || !ts.AutoRegister {
		t.Errorf("auto-register on: %+v, %v", ts, err)
	}
	for _, body := range []string{`{"retention":"10m"}`, `{"retention":"forever"}`, `{"retention":""}`} {
		a, _ := sensorCall(t, s, token, "PUT", "/telemetry/settings", body)
		if a.status != http.StatusBadRequest || !strings.Contains(errorOf(t, a).Message, "retention must be") {
			t.Errorf("PUT %s: %d %s", body, a.status, a.body)
		}
	}
	if ts, err = admin.TelemetrySettings(ctx); err != nil || ts.Retention != "30d" || !ts.AutoRegister {
		t.Errorf("settings after the refusals: %+v, %v", ts, err)
	}

	// Stats: the API's shape is the pipeline's, field for field.
	a, _ := sensorCall(t, s, token, "GET", "/telemetry/stats", "")
	var got, want map[string]any
	wantJSON, _ := json.Marshal(ingest.Stats{})
	if a.status != 200 || json.Unmarshal([]byte(a.body), &got) != nil || json.Unmarshal(wantJSON, &want) != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("GET /telemetry/stats: %d %s, want the shape of %s", a.status, a.body, wantJSON)
	}
	apiJSON, _ := json.Marshal(api.TelemetryStats{})
	if string(apiJSON) != string(wantJSON) {
		t.Errorf("api.TelemetryStats is %s, ingest.Stats %s", apiJSON, wantJSON)
	}

	// Replay: the whole archive, or a range of it.
	if n, err := admin.Replay(ctx, 123, api.ReplayRequest{}); err != nil || n != 4 {
		t.Errorf("replay all: %d, %v", n, err)
	}
	if n, err := admin.Replay(ctx, 123, api.ReplayRequest{From: base.Add(5 * time.Minute).Format(time.RFC3339), To: strconv.FormatInt(base.Add(time.Hour).Unix(), 10)}); err != nil || n != 2 {
		t.Errorf("replay a range: %d, %v", n, err)
	}
	if got, err := admin.Series(ctx, 123, api.SeriesQuery{}); err != nil || len(got.Points) != 4 {
		t.Errorf("the series after the replays: %+v, %v (nothing stored twice)", got, err)
	}
	if page, err := admin.RawReadings(ctx, 123, api.RawQuery{}); err != nil || len(page.Readings) != 4 {
		t.Errorf("the archive after the replays: %+v, %v (nothing archived twice)", page, err)
	}
}
