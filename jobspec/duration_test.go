package jobspec

import (
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	const day = 24 * time.Hour
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"30s", 30 * time.Second},
		{"15m", 15 * time.Minute},
		{"6h", 6 * time.Hour},
		{"1d", day},
		{"7d", 7 * day},
		{"2w", 14 * day},
		{"1d12h", day + 12*time.Hour},
		{"1h30m", 90 * time.Minute},
		{" 24h ", day},
		{"1.5h", 90 * time.Minute},
		{"250ms", 250 * time.Millisecond},
		{"-5m", -5 * time.Minute},
		{"0s", 0},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "d", "5", "5x", "1d 2h", "soon", "99999999999999d", "106752d", "2562048h"} {
		if d, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", bad, d)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	const day = 24 * time.Hour
	tests := map[time.Duration]string{
		day:                     "24h",
		2 * day:                 "2d",
		7 * day:                 "7d",
		30 * time.Minute:        "30m",
		90 * time.Minute:        "1h30m",
		time.Hour:               "1h",
		45 * time.Second:        "45s",
		36 * time.Hour:          "36h",
		250 * time.Millisecond:  "250ms",
		time.Hour + time.Second: "1h0m1s",
	}
	for d, want := range tests {
		got := formatDuration(d)
		if got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
		if back, err := ParseDuration(got); err != nil || back != d {
			t.Errorf("ParseDuration(formatDuration(%v)) = %v, %v", d, back, err)
		}
	}
}
