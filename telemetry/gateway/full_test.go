package gateway_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/telemetry/gateway"
	"github.com/runlet/runlet/telemetry/spool"
)

// A full spool drops the oldest readings: the endpoint still takes new
// ones, the log says so loudly, and /v1/stats counts the drops.
func TestSpoolFull(t *testing.T) {
	sp, err := spool.Open(t.TempDir(), spool.Options{MaxBytes: 64 << 10, SegmentBytes: 16 << 10, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sp.Close() })
	var log testenv.Buffer
	g, err := gateway.New(gateway.Config{Spool: sp, Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	h := g.Handler()
	for i := range 10 {
		if code, _, raw := post(t, h, ndjson(1, i*500, 500)); code != http.StatusOK {
			t.Fatalf("post %d: %d %s", i, code, raw)
		}
	}
	st := g.Stats()
	if st.Dropped == 0 || st.Accepted != 5000 || st.Pending+st.Dropped != 5000 {
		t.Fatalf("stats %+v: want drops, 5000 accepted, pending and dropped adding up to 5000", st)
	}
	if !strings.Contains(log.String(), "level=ERROR") || !strings.Contains(log.String(), "outbox is full") {
		t.Errorf("the log does not say the outbox is full:\n%s", log.String())
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/stats", nil))
	if !strings.Contains(rec.Body.String(), `"dropped":`) || strings.Contains(rec.Body.String(), `"dropped":0`) {
		t.Errorf("/v1/stats: %s", rec.Body.String())
	}
}
