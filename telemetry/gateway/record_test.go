package gateway

import (
	"math"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/telemetry/sensormsg"
)

// A reading comes back from its spool record as it went in, whatever the
// sensor said of its time.
func TestRecordRoundTrip(t *testing.T) {
	now := time.Date(2026, 12, 7, 19, 0, 0, 123456789, time.UTC)
	for _, c := range []struct {
		name string
		m    sensormsg.Message
	}{
		{"plausible time", sensormsg.Message{Sensor: 1, Secret: "s", Time: now.Add(-time.Minute).Unix(), HasTime: true, Values: [2]float64{4.5, 80}, Has: 3}},
		{"milliseconds", sensormsg.Message{Sensor: 2, Secret: "s", Time: now.UnixMilli() - 5, HasTime: true, Values: [2]float64{-18.25, 0}, Has: 1}},
		{"the seed's 123", sensormsg.Message{Sensor: 123, Secret: "789", Time: 123, HasTime: true, Values: [2]float64{15, 75}, Has: 3}},
		{"no time", sensormsg.Message{Sensor: 64089519511846157, Secret: "64089519511846157", Values: [2]float64{0, 99}, Has: 2}},
		{"far ahead", sensormsg.Message{Sensor: 5, Secret: "x", Time: now.Add(48 * time.Hour).Unix(), HasTime: true, Values: [2]float64{math.MaxFloat64, 0}, Has: 1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			want := stamp(c.m, now)
			got, err := decodeRecord(appendRecord(nil, want))
			if err != nil {
				t.Fatal(err)
			}
			if !got.Time.Equal(want.Time) || !got.Accepted.Equal(want.Accepted) || got.Sensor != want.Sensor ||
				got.Values != want.Values || got.Has != want.Has || got.Secret != want.Secret ||
				got.SentTime != want.SentTime || got.TimeReplaced != want.TimeReplaced {
				t.Errorf("got %+v\nwant %+v", got, want)
			}
			wantT, replaced := runlet.ReadingTime(c.m.Time, c.m.HasTime, now)
			if !got.Time.Equal(wantT) || got.TimeReplaced != replaced {
				t.Errorf("time %v replaced %v, want %v %v", got.Time, got.TimeReplaced, wantT, replaced)
			}
		})
	}
}

// decodeRecord never panics, and what it takes encodes back the same.
func FuzzDecodeRecord(f *testing.F) {
	now := time.Unix(1_765_000_000, 5)
	f.Add(appendRecord(nil, stamp(sensormsg.Message{Sensor: 1, Secret: "s", Time: 123, HasTime: true, Values: [2]float64{15, 75}, Has: 3}, now)))
	f.Add(appendRecord(nil, stamp(sensormsg.Message{Sensor: 2, Secret: "", Values: [2]float64{1, 0}, Has: 1}, now)))
	f.Add([]byte{recordV1, 0xff})
	f.Fuzz(func(t *testing.T, p []byte) {
		r, err := decodeRecord(p)
		if err != nil {
			return
		}
		if _, err := decodeRecord(appendRecord(nil, r)); err != nil {
			t.Fatalf("a decoded record does not encode back: %v", err)
		}
	})
}
