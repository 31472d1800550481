package runlet

import (
	"fmt"
	"strings"
	"time"
)

// FormatDuration writes d as job files write durations: in days when it is
// two or more whole days ("7d"), else as Go does without zero units ("24h",
// "1h30m", "10m", "1.5s"). jobspec.ParseDuration reads it back.
func FormatDuration(d time.Duration) string {
	const day = 24 * time.Hour
	if d >= 2*day && d%day == 0 {
		return fmt.Sprintf("%dd", d/day)
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// ReasonTimedOut begins the reason of a run that its job's timeout ended
// (the runner stopped it, and killed it after the grace period): "timed
// out after 10m". Such a run is Error, not Stopped: nobody asked for it.
const ReasonTimedOut = "timed out after "

// TimedOut is the reason of a run that the timeout limit ended.
func TimedOut(limit time.Duration) string { return ReasonTimedOut + FormatDuration(limit) }

// Duration is a time.Duration that JSON writes as people do ("1h",
// "90s", "7d", FormatDuration) and reads from such a string or from a
// number of seconds, for the settings the API and the seed's clients
// send.
type Duration time.Duration

// MarshalJSON writes d as FormatDuration does.
func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(`"` + FormatDuration(time.Duration(d)) + `"`), nil
}

// UnmarshalJSON reads "1h30m", "7d" or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "null" {
		return nil
	}
	if strings.HasPrefix(s, `"`) {
		v, err := ParseDuration(strings.Trim(s, `"`))
		if err != nil {
			return err
		}
		*d = Duration(v)
		return nil
	}
	var secs float64
	if _, err := fmt.Sscan(s, &secs); err != nil || secs < 0 || secs > float64(1<<62)/1e9 {
		return Errorf(EINVALID, "A duration is a string such as \"90s\", \"1h\" or \"7d\", or a number of seconds; %s is neither.", s)
	}
	*d = Duration(secs * float64(time.Second))
	return nil
}

// ParseDuration reads a duration as FormatDuration writes it: Go's form
// ("1h30m", "90s") or whole days ("7d"). A negative duration is refused.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var v time.Duration
	var err error
	if n, ok := strings.CutSuffix(s, "d"); ok && n != "" && !strings.ContainsAny(n, "hmsuµn") {
		var days int64
		if _, err = fmt.Sscan(n, &days); err == nil && days >= 0 && days < 100_000 {
			v = time.Duration(days) * 24 * time.Hour
		} else {
			err = fmt.Errorf("bad days")
		}
	} else {
		v, err = time.ParseDuration(s)
	}
	if err != nil || v < 0 {
		return 0, Errorf(EINVALID, "%q is not a duration: say \"90s\", \"10m\", \"1h\" or \"7d\".", s)
	}
	return v, nil
}
