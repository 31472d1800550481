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
