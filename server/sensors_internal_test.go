package server

import (
	"net/url"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
)

var queryNow = time.Date(2026, 12, 7, 19, 30, 0, 0, time.UTC)

func TestTimeArg(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Time
	}{
		{"", time.Time{}},
		{"now", queryNow},
		{"-24h", queryNow.Add(-24 * time.Hour)},
		{"-7d", queryNow.Add(-7 * 24 * time.Hour)},
		{"-1h30m", queryNow.Add(-90 * time.Minute)},
		{"-90s", queryNow.Add(-90 * time.Second)},
		{"1772600767", time.Unix(1772600767, 0).UTC()},
		{"0", time.Unix(0, 0).UTC()},
		{"2026-03-04T05:06:07Z", time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)},
		{"2026-03-04T05:06:07.25+01:00", time.Date(2026, 3, 4, 4, 6, 7, 250e6, time.UTC)},
		{" -1h ", queryNow.Add(-time.Hour)},
	} {
		got, err := timeArg(c.in, "from", queryNow)
		if err != nil || !got.Equal(c.want) {
			t.Errorf("timeArg(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{"yesterday", "-", "-0s", "-1x", "+1h", "1h", "99999999999999", "2026-03-04", "1.5", "-now"} {
		_, err := timeArg(in, "to", queryNow)
		if runlet.ErrorCode(err) != runlet.EINVALID || !startsWith(runlet.ErrorMessage(err), "to must be a time") {
			t.Errorf("timeArg(%q): %v, want an error naming to", in, err)
		}
	}
}

func startsWith(s, prefix string) bool { return len(s) >= len(prefix) && s[:len(prefix)] == prefix }

func TestRangeParams(t *testing.T) {
	day := 24 * time.Hour
	for _, c := range []struct {
		q        string
		from, to time.Time
	}{
		{"", queryNow.Add(-day), queryNow},
		{"from=-1h", queryNow.Add(-time.Hour), queryNow},
		{"to=-1h", queryNow.Add(-time.Hour - day), queryNow.Add(-time.Hour)},
		{"from=-3d&to=-2d", queryNow.Add(-3 * day), queryNow.Add(-2 * day)},
		// A from in the future: a day from it.
		{"from=" + queryNow.Add(time.Hour).Format(time.RFC3339), queryNow.Add(time.Hour), queryNow.Add(time.Hour + day)},
	} {
		q, _ := url.ParseQuery(c.q)
		from, to, err := rangeParams(q, queryNow)
		if err != nil || !from.Equal(c.from) || !to.Equal(c.to) {
			t.Errorf("%q: [%v, %v), %v; want [%v, %v)", c.q, from, to, err, c.from, c.to)
		}
	}
	for _, in := range []string{"from=-1h&to=-2h", "from=now&to=now"} {
		q, _ := url.ParseQuery(in)
		if _, _, err := rangeParams(q, queryNow); runlet.ErrorCode(err) != runlet.EINVALID {
			t.Errorf("%q: %v, want invalid", in, err)
		}
	}
}

func TestStepParam(t *testing.T) {
	from := queryNow.Add(-24 * time.Hour)
	for _, c := range []struct {
		in   string
		span time.Duration
		want time.Duration
	}{
		{"", 24 * time.Hour, 0},
		{"0", 24 * time.Hour, 0},
		{"5m", 24 * time.Hour, 5 * time.Minute},
		{"1d", 24 * time.Hour, 24 * time.Hour},
		{"1.5s", 24 * time.Hour, 1500 * time.Millisecond},
		{"auto", 10 * time.Minute, time.Second},
		{"auto", time.Hour, 5 * time.Second},
		{"auto", 24 * time.Hour, 2 * time.Minute},
		{"auto", 7 * 24 * time.Hour, 15 * time.Minute},
		{"auto", 365 * 24 * time.Hour, 12 * time.Hour},
		{"auto", 10 * 365 * 24 * time.Hour, 4 * 24 * time.Hour},
	} {
		got, err := stepParam(c.in, from, from.Add(c.span))
		if err != nil || got != c.want {
			t.Errorf("stepParam(%q) over %v = %v, %v; want %v", c.in, c.span, got, err, c.want)
		}
	}
	for _, in := range []string{"fast", "-5m", "500ms", "1"} {
		if _, err := stepParam(in, from, queryNow); runlet.ErrorCode(err) != runlet.EINVALID || !startsWith(runlet.ErrorMessage(err), "step must be") {
			t.Errorf("stepParam(%q): %v, want an error naming step", in, err)
		}
	}
}

// FuzzSeriesParams: whatever from, to and step say, the parameters are
// refused with a sentence naming one of them, or read as a range that
// ends after it starts and a step that makes at most about api.MaxPoints
// buckets when it is auto.
func FuzzSeriesParams(f *testing.F) {
	f.Add("-24h", "", "auto")
	f.Add("1772600767", "now", "5m")
	f.Add("2026-03-04T05:06:07Z", "-1h", "")
	f.Add("-9999999999h", "", "auto")
	f.Add("0", "99999999999", "auto")
	f.Fuzz(func(t *testing.T, from, to, step string) {
		q := url.Values{"from": {from}, "to": {to}}
		f, tt, err := rangeParams(q, queryNow)
		if err != nil {
			if runlet.ErrorCode(err) != runlet.EINVALID {
				t.Fatalf("from %q to %q: %v", from, to, err)
			}
			return
		}
		if !tt.After(f) {
			t.Fatalf("from %q to %q: [%v, %v)", from, to, f, tt)
		}
		d, err := stepParam(step, f, tt)
		if err != nil {
			if runlet.ErrorCode(err) != runlet.EINVALID {
				t.Fatalf("step %q: %v", step, err)
			}
			return
		}
		if d < 0 {
			t.Fatalf("step %q: %v", step, d)
		}
		if step == "auto" && tt.Sub(f)/d > api.MaxPoints {
			t.Fatalf("auto over [%v, %v): %v, %d buckets", f, tt, d, tt.Sub(f)/d)
		}
	})
}
