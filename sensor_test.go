package runlet_test

import (
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
)

// TestReadingTime: the decision on a sensor's time, case by case.
func TestReadingTime(t *testing.T) {
	accepted := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		what     string
		sent     int64
		has      bool
		want     time.Time
		replaced bool
	}{
		{"the seed's example, 123 s after 1970: the accepted time", 123, true, accepted, true},
		{"no time: the accepted time, not counted", 0, false, accepted, false},
		{"unix seconds", 1796637600, true, time.Unix(1796637600, 0).UTC(), false},
		{"unix milliseconds from 10^12", 1796637600123, true, time.UnixMilli(1796637600123).UTC(), false},
		{"before 2000", 946684799, true, accepted, true},
		{"2000 itself", 946684800, true, time.Unix(946684800, 0).UTC(), false},
		{"a day ahead of the device", accepted.Add(24 * time.Hour).Unix(), true, accepted.Add(24 * time.Hour), false},
		{"more than a day ahead", accepted.Add(24*time.Hour + time.Second).Unix(), true, accepted, true},
		{"negative", -5, true, accepted, true},
	} {
		got, replaced := runlet.ReadingTime(c.sent, c.has, accepted)
		if !got.Equal(c.want) || replaced != c.replaced {
			t.Errorf("%s: %v replaced=%v, want %v replaced=%v", c.what, got, replaced, c.want, c.replaced)
		}
	}
}

func TestReadingValues(t *testing.T) {
	var r runlet.Reading
	if _, ok := r.Value(runlet.MetricTemp); ok {
		t.Error("an empty reading has a temperature")
	}
	r.Set(runlet.MetricBatt, 75)
	if v, ok := r.Value(runlet.MetricBatt); !ok || v != 75 {
		t.Errorf("batt: %v %v", v, ok)
	}
	if _, ok := r.Value(runlet.MetricTemp); ok {
		t.Error("setting the battery set the temperature")
	}
	if _, ok := r.Value("humidity"); ok || runlet.Metric("humidity").Valid() {
		t.Error("an unknown metric has a value")
	}
}

func TestSensorSecretNumber(t *testing.T) {
	for in, want := range map[string]bool{
		"64089519511846157": true, "0": true, "789": true,
		"": false, "-5": false, "1.5": false, "1e9": false, "+1": false,
		strings.Repeat("9", runlet.MaxSensorSecret): true, strings.Repeat("9", runlet.MaxSensorSecret+1): false,
	} {
		got, ok := runlet.SensorSecretNumber(in)
		if ok != want || (ok && got != in) {
			t.Errorf("%q: %q %v, want ok=%v", in, got, ok, want)
		}
	}
}
