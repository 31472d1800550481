package gateway_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/telemetry/gateway"
	"github.com/runlet/runlet/telemetry/sensormsg"
)

// The three forms of POST /v1/readings are accepted, and the readings
// are in the spool when the answer comes.
func TestPostForms(t *testing.T) {
	sp := openSpool(t, t.TempDir())
	g := newGateway(t, sp, nil, "")
	h := g.Handler()
	for _, c := range []struct {
		name, body string
		n          int
	}{
		{"one message", msg(1, "s", 4.5), 1},
		{"array", "[" + msg(1, "s", 1) + "," + msg(2, "t", 2) + "," + msg(3, "u", 3) + "]", 3},
		{"ndjson", ndjson(7, 0, 5), 5},
		{"seed example", `{"device":{"id":123,"auth":789},"reading":{"temp":15,"time":123,"batt":75}}`, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := sp.Stats().Pending
			code, a, raw := post(t, h, c.body)
			if code != http.StatusOK || a.Accepted != c.n || len(a.Refused) != 0 {
				t.Fatalf("got %d %s, want 200 with %d accepted", code, raw, c.n)
			}
			// Durable before the answer: the spool holds them now.
			if got := sp.Stats().Pending - before; int(got) != c.n {
				t.Errorf("the spool took %d readings before the answer, want %d", got, c.n)
			}
		})
	}
	if st := g.Stats(); st.Accepted != 10 {
		t.Errorf("stats count %d accepted, want 10", st.Accepted)
	}
}

// Every kind of bad input is refused with the field named, counted per
// reason, and never stops the messages around it.
func TestPostRefusals(t *testing.T) {
	sp := openSpool(t, t.TempDir())
	g := newGateway(t, sp, nil, "")
	h := g.Handler()
	bad := []struct {
		body   string
		reason sensormsg.Reason
		field  string
	}{
		{`{"device":{"id":1,"auth":"s"},"reading":{"temp":1`, sensormsg.ReasonJSON, ""},
		{`42`, sensormsg.ReasonNotObject, ""},
		{`{"device":{"auth":"s"},"reading":{"temp":1}}`, sensormsg.ReasonMissingID, "device.id"},
		{`{"device":{"id":"one","auth":"s"},"reading":{"temp":1}}`, sensormsg.ReasonBadID, "device.id"},
		{`{"device":{"id":1},"reading":{"temp":1}}`, sensormsg.ReasonMissingAuth, "device.auth"},
		{`{"device":{"id":1,"auth":""},"reading":{"temp":1}}`, sensormsg.ReasonBadAuth, "device.auth"},
		{`{"device":{"id":1,"auth":"s"}}`, sensormsg.ReasonMissingReading, "reading"},
		{`{"device":{"id":1,"auth":"s"},"reading":{"temp":1,"time":"now"}}`, sensormsg.ReasonBadTime, "reading.time"},
		{`{"device":{"id":1,"auth":"s"},"reading":{"temp":"warm"}}`, sensormsg.ReasonNotNumeric, "reading.temp"},
		{`{"device":{"id":1,"auth":"s"},"reading":{}}`, sensormsg.ReasonNoValues, "reading"},
		{`{"device":{"id":1,"auth":"` + strings.Repeat("x", sensormsg.MaxMessage) + `"},"reading":{"temp":1}}`, sensormsg.ReasonTooLarge, ""},
	}
	var body strings.Builder
	for _, b := range bad {
		body.WriteString(b.body + "\n")
	}
	// All bad: 400, each refusal with its line, reason and field.
	code, a, raw := post(t, h, body.String())
	if code != http.StatusBadRequest || a.Accepted != 0 || len(a.Refused) != len(bad) {
		t.Fatalf("got %d %.500s, want 400 with %d refusals", code, raw, len(bad))
	}
	for i, r := range a.Refused {
		if r.Index != i || r.Reason != bad[i].reason || r.Field != bad[i].field || r.Message == "" {
			t.Errorf("refusal %d: %+v: want index %d, reason %s, field %q and a message", i, r, i, bad[i].reason, bad[i].field)
		}
	}
	// Mixed: the good ones are kept, 200.
	mixed := msg(1, "s", 1) + "\n" + bad[0].body + "\n" + msg(2, "s", 2) + "\n" + bad[8].body + "\n"
	code, a, raw = post(t, h, mixed)
	if code != http.StatusOK || a.Accepted != 2 || len(a.Refused) != 2 || a.Refused[0].Index != 1 || a.Refused[1].Index != 3 {
		t.Fatalf("mixed: got %d %s, want 200, 2 accepted and lines 1 and 3 refused", code, raw)
	}
	st := g.Stats()
	for _, b := range bad {
		want := uint64(1)
		if b.reason == sensormsg.ReasonJSON || b.reason == sensormsg.ReasonNotNumeric {
			want = 2
		}
		if st.Refused[b.reason] != want {
			t.Errorf("stats count %d refusals for %s, want %d", st.Refused[b.reason], b.reason, want)
		}
	}
	if st.Accepted != 2 || sp.Stats().Pending != 2 {
		t.Errorf("stats count %d accepted and the spool holds %d, want 2 and 2", st.Accepted, sp.Stats().Pending)
	}
}

func TestPostTooLarge(t *testing.T) {
	g := newGateway(t, openSpool(t, t.TempDir()), nil, "")
	body := strings.Repeat(" ", gateway.MaxBody+1)
	code, _, raw := post(t, g.Handler(), body)
	if code != http.StatusRequestEntityTooLarge {
		t.Fatalf("got %d %s, want 413", code, raw)
	}
}

func TestStatsEndpoint(t *testing.T) {
	g := newGateway(t, openSpool(t, t.TempDir()), nil, "")
	post(t, g.Handler(), ndjson(1, 0, 3)+"{\n")
	rec := httptest.NewRecorder()
	g.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/stats", nil))
	body := rec.Body.String()
	if rec.Code != http.StatusOK || !strings.Contains(body, `"accepted":3`) || !strings.Contains(body, `"pending":3`) {
		t.Fatalf("got %d %s", rec.Code, body)
	}
}

// Readings wait in the spool while the broker is away, and all of them
// arrive once it is back: once each, in order.
func TestBrokerOutage(t *testing.T) {
	b := startBroker(t)
	srv := b.server()
	sp := openSpool(t, t.TempDir())
	g := newGateway(t, sp, b.device(device), b.ws)
	run(t, g)
	h := g.Handler()
	post(t, h, ndjson(1, 0, 100))
	srv.waitFor(100)

	b.stop()
	for i := range 10 {
		if code, _, raw := post(t, h, ndjson(int64(i%3+1), 100+i*50, 50)); code != http.StatusOK {
			t.Fatalf("with the broker away: %d %s", code, raw)
		}
	}
	if p := sp.Stats().Pending; p == 0 {
		t.Errorf("nothing waits in the spool with the broker away")
	}
	b.start()
	got := srv.waitFor(600)
	checkOnceInOrder(t, got, 600)
	testenv.Eventually(t, "the spool to be empty", patience, func() bool { return sp.Stats().Pending == 0 })
}

// checkOnceInOrder checks that the server got seqs 1..n once each, in
// order, with their secrets.
func checkOnceInOrder(t *testing.T, got []received, n int) {
	t.Helper()
	if len(got) != n {
		t.Errorf("the server got %d readings, want %d", len(got), n)
	}
	seen := map[uint64]bool{}
	var last uint64
	for i, r := range got {
		if seen[r.Seq] {
			t.Errorf("reading %d (seq %d) arrived twice", i, r.Seq)
		}
		seen[r.Seq] = true
		if r.Seq <= last {
			t.Errorf("reading %d: seq %d after %d", i, r.Seq, last)
		}
		last = r.Seq
		if r.Secret != "s3cret" || r.Device != device {
			t.Errorf("reading %d: %+v", i, r)
		}
	}
}

// A restarted gateway sends what was left and nothing the broker had
// confirmed.
func TestRestart(t *testing.T) {
	b := startBroker(t)
	srv := b.server()
	dir := t.TempDir()
	dev := b.device(device)

	sp := openSpool(t, dir)
	g := newGateway(t, sp, dev, b.ws)
	stop := run(t, g)
	post(t, g.Handler(), ndjson(1, 0, 200))
	srv.waitFor(200)
	stop()
	post(t, g.Handler(), ndjson(1, 200, 50)) // kept, not sent
	if err := sp.Close(); err != nil {
		t.Fatal(err)
	}

	sp = openSpool(t, dir)
	if p := sp.Stats().Pending; p != 50 {
		t.Errorf("the reopened spool holds %d readings, want 50", p)
	}
	g = newGateway(t, sp, dev, b.ws)
	run(t, g)
	post(t, g.Handler(), ndjson(1, 250, 50))
	got := srv.waitFor(300)
	testenv.Eventually(t, "the spool to be empty", patience, func() bool { return sp.Stats().Pending == 0 })
	checkOnceInOrder(t, srv.readings(), 300)
	for i, r := range got {
		if r.Temp != float64(i) {
			t.Fatalf("reading %d has temperature %g, want %d", i, r.Temp, i)
		}
	}
}
