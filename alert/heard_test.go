package alert_test

import (
	"testing"
	"time"

	"github.com/runlet/runlet/alert"
)

// TestHeardSlack: a batch that would move a sensor's silence due time by
// less than its slack (alert.MaxHeardSlack) leaves the mark as it is, so
// the ingest's path does not write it; one that moves it further, or
// comes through another device, writes it.
func TestHeardSlack(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d dialect) {
		e := newEnv(t, d)
		s := e.service("a")
		due := func() time.Time {
			t.Helper()
			at, ok, err := e.db.NextDue(t.Context())
			if err != nil || !ok {
				t.Fatalf("NextDue: %v %v", ok, err)
			}
			return at
		}
		e.readings(s, temp(12, start, 5))
		if got := due(); !got.Equal(start.Add(time.Hour)) {
			t.Fatalf("due %v, want %v", got, start.Add(time.Hour))
		}
		e.clock.Advance(alert.MaxHeardSlack - time.Second)
		e.readings(s, temp(12, e.clock.Now(), 5))
		if got := due(); !got.Equal(start.Add(time.Hour)) {
			t.Errorf("due %v after a reading within the slack, want it left at %v", got, start.Add(time.Hour))
		}
		e.clock.Advance(time.Second)
		e.readings(s, temp(12, e.clock.Now(), 5))
		if got, want := due(), e.clock.Now().Add(time.Hour); !got.Equal(want) {
			t.Errorf("due %v after a reading a slack later, want %v", got, want)
		}
		e.clock.Advance(time.Second)
		r := temp(12, e.clock.Now(), 5)
		r.Device = "pi-4"
		e.readings(s, r)
		if got, want := due(), e.clock.Now().Add(time.Hour); !got.Equal(want) {
			t.Errorf("due %v after a reading through another device, want %v", got, want)
		}
		ms, err := e.db.DueMarks(t.Context(), e.clock.Now().Add(2*time.Hour), 10)
		if err != nil || len(ms) != 1 || ms[0].Device != "pi-4" {
			t.Errorf("marks %+v (%v), want sensor 12's through pi-4", ms, err)
		}
	})
}
