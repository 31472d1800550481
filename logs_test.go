package runlet_test

import (
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
)

// TestChooseLogCopy is R-LOG-3 case by case: no local copy, download; a
// local copy, compare hashes, and replace it only if the remote's differs
// and is newer; otherwise read the local one.
func TestChooseLogCopy(t *testing.T) {
	t0 := time.Date(2026, 12, 8, 9, 30, 0, 0, time.UTC)
	hashA := strings.Repeat("a", 64)
	hashB := strings.Repeat("b", 64)
	copyOf := func(sha string, mod time.Time) runlet.LogCopy {
		return runlet.LogCopy{Present: true, SHA256: sha, Modified: mod}
	}
	absent := runlet.LogCopy{}
	for _, c := range []struct {
		name          string
		local, remote runlet.LogCopy
		want          runlet.LogSource
	}{
		{"neither copy", absent, absent, runlet.LogMissing},
		{"no local copy: download", absent, copyOf(hashA, t0), runlet.Download},
		{"no remote copy: the local one", copyOf(hashA, t0), absent, runlet.ReadLocal},
		{"same hash, same time", copyOf(hashA, t0), copyOf(hashA, t0), runlet.ReadLocal},
		{"same hash, remote newer: nothing to fetch", copyOf(hashA, t0), copyOf(hashA, t0.Add(time.Hour)), runlet.ReadLocal},
		{"same hash, remote older", copyOf(hashA, t0), copyOf(hashA, t0.Add(-time.Hour)), runlet.ReadLocal},
		{"different hash, remote newer: replace", copyOf(hashA, t0), copyOf(hashB, t0.Add(time.Second)), runlet.Download},
		{"different hash, remote newer by a nanosecond", copyOf(hashA, t0), copyOf(hashB, t0.Add(time.Nanosecond)), runlet.Download},
		{"different hash, remote older: keep the local one", copyOf(hashA, t0), copyOf(hashB, t0.Add(-time.Second)), runlet.ReadLocal},
		{"different hash, same time: keep the local one", copyOf(hashA, t0), copyOf(hashB, t0), runlet.ReadLocal},
		{"different hash, remote time unknown", copyOf(hashA, t0), copyOf(hashB, time.Time{}), runlet.ReadLocal},
		{"local time unknown, remote differs", copyOf(hashA, time.Time{}), copyOf(hashB, t0), runlet.Download},
		{"same instant in other zones", copyOf(hashA, t0), copyOf(hashB, t0.In(time.FixedZone("CET", 3600))), runlet.ReadLocal},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := runlet.ChooseLogCopy(c.local, c.remote); got != c.want {
				t.Errorf("ChooseLogCopy(%v, %v) = %v, want %v", c.local, c.remote, got, c.want)
			}
		})
	}
}

func TestLogSourceString(t *testing.T) {
	for s, want := range map[runlet.LogSource]string{
		runlet.LogMissing: "no copy",
		runlet.ReadLocal:  "read the local copy",
		runlet.Download:   "download the remote copy",
	} {
		if got := s.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", s, got, want)
		}
	}
}
