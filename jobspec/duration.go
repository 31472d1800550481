package jobspec

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/runlet/runlet"
)

// shortUnits are the units of a short duration. A day is 24 hours and a
// week 7 days: intervals do not follow daylight-saving changes.
var shortUnits = map[string]time.Duration{
	"s": time.Second,
	"m": time.Minute,
	"h": time.Hour,
	"d": 24 * time.Hour,
	"w": 7 * 24 * time.Hour,
}

// ParseDuration reads a duration as Runlet's files write it: a short form
// of whole numbers with the units s, m, h, d (24 hours) and w (7 days),
// which may be combined ("30m", "7d", "1d12h"), or anything Go's
// time.ParseDuration reads ("1.5h", "90s", "250ms").
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if len(s) > 64 {
		return 0, fmt.Errorf("%q is not a duration: write a number and a unit, like 30s, 15m, 6h, 1d or 1h30m", shorten(s))
	}
	if d, ok, err := parseShortDuration(s); ok || err != nil {
		return d, err
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration: write a number and a unit, like 30s, 15m, 6h, 1d or 1h30m", s)
	}
	return d, nil
}

// parseShortDuration reads (digits unit)+ with the units of shortUnits. ok
// is false when s is not of that form, so the caller may try another.
func parseShortDuration(s string) (d time.Duration, ok bool, err error) {
	if s == "" {
		return 0, false, nil
	}
	rest := s
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i == len(rest) {
			return 0, false, nil
		}
		unit, ok := shortUnits[rest[i:i+1]]
		if !ok {
			return 0, false, nil
		}
		n, over := atoiLimit(rest[:i], int64(math.MaxInt64/unit))
		if over || d > math.MaxInt64-time.Duration(n)*unit {
			return 0, true, fmt.Errorf("%q is too long a duration: at most about 292 years", s)
		}
		d += time.Duration(n) * unit
		rest = rest[i+1:]
	}
	return d, true, nil
}

// atoiLimit reads ASCII digits; over is true when the value passes limit.
func atoiLimit(digits string, limit int64) (n int64, over bool) {
	for _, c := range digits {
		n = n*10 + int64(c-'0')
		if n > limit {
			return 0, true
		}
	}
	return n, false
}

// formatDuration writes d as the files write it: runlet.FormatDuration.
func formatDuration(d time.Duration) string { return runlet.FormatDuration(d) }

// shorten cuts s for quoting in a message.
func shorten(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
