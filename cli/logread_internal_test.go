package cli

import (
	"strings"
	"testing"
	"time"
)

func TestParseSince(t *testing.T) {
	end := time.Date(2026, 12, 8, 9, 30, 0, 0, time.UTC)
	for _, c := range []struct {
		in   string
		want time.Time
		bad  bool
	}{
		{in: "", want: time.Time{}},
		{in: "2026-12-08T09:00:00Z", want: time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC)},
		{in: "2026-12-08T10:00:00.5+01:00", want: time.Date(2026, 12, 8, 9, 0, 0, 5e8, time.UTC)},
		{in: "10m", want: end.Add(-10 * time.Minute)},
		{in: "2h", want: end.Add(-2 * time.Hour)},
		{in: "1d", want: end.Add(-24 * time.Hour)},
		{in: "0s", want: end},
		{in: "yesterday", bad: true},
		{in: "-5m", bad: true},
		{in: "2026-12-08", bad: true},
	} {
		got, err := parseSince(c.in, end)
		if c.bad {
			if err == nil || !strings.Contains(err.Error(), "RFC 3339") {
				t.Errorf("parseSince(%q) = %v, %v; want an error naming the forms", c.in, got, err)
			}
			continue
		}
		if err != nil || !got.Equal(c.want) {
			t.Errorf("parseSince(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	// Without an end, a duration counts back from now.
	got, err := parseSince("1h", time.Time{})
	if err != nil || time.Since(got) < time.Hour {
		t.Errorf("parseSince(1h) without an end = %v, %v", got, err)
	}
}

// TestLinePrinter: --timestamps leads every line with the time of the
// output that started it, however the output is cut into frames.
func TestLinePrinter(t *testing.T) {
	t0 := time.Date(2026, 12, 8, 9, 30, 0, 123456789, time.UTC)
	t1 := t0.Add(1500 * time.Millisecond)
	t2 := t0.Add(3 * time.Second)
	var b strings.Builder
	p := &linePrinter{w: &b, stamps: true, atStart: true}
	for _, w := range []struct {
		at   time.Time
		data string
	}{
		{t0, "one\r\ntw"},
		{t1, "o\r\n"},
		{t1, ""},
		{t2, "three\r\nfour\nfi"},
	} {
		if err := p.write(w.at, []byte(w.data)); err != nil {
			t.Fatal(err)
		}
	}
	want := "2026-12-08T09:30:00.123Z one\r\n" +
		"2026-12-08T09:30:00.123Z two\r\n" +
		"2026-12-08T09:30:03.123Z three\r\n" +
		"2026-12-08T09:30:03.123Z four\n" +
		"2026-12-08T09:30:03.123Z fi"
	if b.String() != want {
		t.Errorf("got\n%q\nwant\n%q", b.String(), want)
	}

	b.Reset()
	p = &linePrinter{w: &b, atStart: true}
	_ = p.write(t0, []byte("as\x1b[1mis\r\n"))
	if b.String() != "as\x1b[1mis\r\n" {
		t.Errorf("without timestamps: %q", b.String())
	}
}

// FuzzParseSince: no input makes parseSince panic, and what it accepts
// is an RFC 3339 time or a duration before the end.
func FuzzParseSince(f *testing.F) {
	for _, s := range []string{"", "10m", "1d", "2026-12-08T09:00:00Z", "yesterday", "99999d", "1e9h"} {
		f.Add(s)
	}
	end := time.Date(2026, 12, 8, 9, 30, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseSince(s, end)
		if err == nil && s != "" && got.After(end) {
			if _, perr := time.Parse(time.RFC3339Nano, s); perr != nil {
				t.Errorf("parseSince(%q) = %v, after the end, from a duration", s, got)
			}
		}
	})
}
