package gateway_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/runlet/runlet/internal/testenv"
)

// A spool that cannot write answers 503 and says the disk is full; the
// endpoint takes readings again once there is room.
func TestPostDiskFull(t *testing.T) {
	dir := testenv.SmallDisk(t, 16<<20)
	sp := openSpool(t, dir)
	g := newGateway(t, sp, nil, "")
	h := g.Handler()
	if code, _, raw := post(t, h, ndjson(1, 0, 10)); code != http.StatusOK {
		t.Fatalf("before the disk is full: %d %s", code, raw)
	}
	free := testenv.FillDisk(t, dir, 0)
	big := ndjson(1, 10, 20000) // more than the room left, whatever the spool has preallocated
	code, _, raw := post(t, h, big)
	if code != http.StatusServiceUnavailable || !strings.Contains(raw, "disk is full") {
		t.Fatalf("on a full disk: %d %s, want 503 saying the disk is full", code, raw)
	}
	if st := g.Stats(); st.LastError == "" {
		t.Errorf("stats show no error: %+v", st)
	}
	free()
	if code, a, raw := post(t, h, ndjson(1, 20010, 10)); code != http.StatusOK || a.Accepted != 10 {
		t.Fatalf("once there is room again: %d %s", code, raw)
	}
}
