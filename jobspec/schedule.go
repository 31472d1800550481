package jobspec

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/runlet/runlet"
)

// scheduleForms is what an error about a schedule tells the person to write.
const scheduleForms = `use a cron line ("*/5 * * * *", "0 8 * * 1-5", "@daily", "@hourly"), ` +
	`an interval ("30s", "15m", "6h", "1d", "@every 90m") ` +
	`or a phrase ("every 5 minutes", "every hour", "every day at 08:00", ` +
	`"every monday at 9:30", "every weekday at 7am", "every sat,sun at 10:00")`

// Schedule is a parsed `every`: either a calendar schedule (cron lines,
// descriptors and phrases that name days) that fires at wall-clock times in
// its location, or an interval (short durations, @every and phrases that
// count units of time) that fires every Interval after its anchor, the time
// the job was saved. A Schedule is immutable; In and AnchoredAt return
// changed copies.
type Schedule struct {
	spec     string
	calendar cron.Schedule // nil for intervals
	cronSpec string        // the cron line a calendar schedule reads as
	interval time.Duration // 0 for calendar schedules
	loc      *time.Location
	anchor   time.Time
}

// ParseSchedule reads the text of an `every` field. The schedule computes in
// time.Local and, if it is an interval, has no anchor until AnchoredAt.
// Errors are *runlet.Error with code EINVALID and list the accepted forms.
func ParseSchedule(spec string) (*Schedule, error) {
	text := strings.Join(strings.Fields(spec), " ")
	lower := strings.ToLower(text)
	s := &Schedule{spec: text, loc: time.Local}
	var err error
	switch {
	case len(text) > maxSpecLen:
		return nil, runlet.Errorf(runlet.EINVALID, "the schedule is %d characters long: %s", len(text), scheduleForms)
	case text == "":
		return nil, runlet.Errorf(runlet.EINVALID, "the schedule is empty: %s", scheduleForms)
	case lower == "every" || strings.HasPrefix(lower, "every "):
		err = s.parsePhrase(lower)
	case strings.HasPrefix(lower, "@every "):
		err = s.setInterval(strings.TrimPrefix(lower, "@every "))
	case strings.HasPrefix(lower, "@"):
		err = s.parseCron(lower)
	case strings.HasPrefix(lower, "tz=") || strings.HasPrefix(lower, "cron_tz="):
		return nil, runlet.Errorf(runlet.EINVALID, "%q: a schedule cannot name its own time zone; it runs in the server's (set by the operator)", text)
	case len(strings.Fields(text)) == 5:
		err = s.parseCron(text)
	default:
		if _, ok, _ := parseShortDuration(lower); ok {
			err = s.setInterval(lower)
		} else {
			err = runlet.Errorf(runlet.EINVALID, "cannot read %q as a schedule: %s", text, scheduleForms)
		}
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// maxSpecLen bounds a schedule's text; the longest useful cron line is far
// shorter, and error messages quote it.
const maxSpecLen = 200

// neverCheckFrom is where ParseSchedule looks for a first firing: a leap
// year, so that "0 0 29 2 *" is found and "0 0 30 2 *" is not.
var neverCheckFrom = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func (s *Schedule) parseCron(spec string) error {
	c, err := cron.ParseStandard(spec)
	if err != nil {
		return runlet.Errorf(runlet.EINVALID, "cannot read %q as a schedule (%v): %s", s.spec, err, scheduleForms)
	}
	if c.Next(neverCheckFrom).IsZero() {
		return runlet.Errorf(runlet.EINVALID, "%q never fires: no date matches it", s.spec)
	}
	s.calendar, s.cronSpec = c, spec
	return nil
}

func (s *Schedule) setInterval(text string) error {
	d, err := ParseDuration(text)
	if err != nil {
		return runlet.Errorf(runlet.EINVALID, "cannot read %q as a schedule: %v; %s", s.spec, err, scheduleForms)
	}
	return s.setDuration(d)
}

func (s *Schedule) setDuration(d time.Duration) error {
	if d < time.Second || d%time.Second != 0 {
		return runlet.Errorf(runlet.EINVALID, "%q: an interval is a whole number of seconds, at least 1s", s.spec)
	}
	s.interval = d
	return nil
}

// Cron returns the cron line (or @descriptor) a calendar schedule reads
// as, so "every monday at 9:30" is "30 9 * * 1"; "" for intervals.
func (s *Schedule) Cron() string { return s.cronSpec }

// MarshalJSON describes the schedule for people and programs:
// {"cron": "30 9 * * 1"} or {"interval": "15m"}.
func (s *Schedule) MarshalJSON() ([]byte, error) {
	if s.calendar != nil {
		return json.Marshal(map[string]string{"cron": s.cronSpec})
	}
	return json.Marshal(map[string]string{"interval": formatDuration(s.interval)})
}

// String returns the schedule as written (blanks collapsed).
func (s *Schedule) String() string { return s.spec }

// Interval is the period of an interval schedule, and 0 for a calendar one.
func (s *Schedule) Interval() time.Duration { return s.interval }

// Location is where wall-clock times of a calendar schedule are read.
func (s *Schedule) Location() *time.Location {
	if s.loc == nil {
		return time.Local
	}
	return s.loc
}

// Anchor is the time an interval schedule counts from (zero if none). It
// is Options.Saved for every schedule ParseWith read, calendar ones too
// (which ignore it): a scheduler takes it as the time the schedule was
// saved.
func (s *Schedule) Anchor() time.Time { return s.anchor }

// In returns a copy of s that computes in loc (nil means time.Local).
func (s *Schedule) In(loc *time.Location) *Schedule {
	if loc == nil {
		loc = time.Local
	}
	c := *s
	c.loc = loc
	return &c
}

// AnchoredAt returns a copy of s whose intervals count from saved, the time
// the job was saved: the first run is one interval after it. Calendar
// schedules ignore the anchor.
func (s *Schedule) AnchoredAt(saved time.Time) *Schedule {
	c := *s
	c.anchor = saved
	return &c
}

// Next returns the first firing strictly after after, in the schedule's
// location. For an interval schedule that is anchor + k·interval for the
// least k ≥ 1 that passes after; with no anchor it is after + interval, so a
// scheduler that calls Next with the save time and then with each run time
// still gets one run an interval. For a calendar schedule it is the next
// matching whole minute, or the zero time when none comes within five years
// (as for "0 0 29 2 *" around 2100).
func (s *Schedule) Next(after time.Time) time.Time {
	after = after.In(s.Location())
	switch {
	case s.calendar != nil:
		return s.calendar.Next(after)
	case s.interval <= 0: // a zero Schedule, not made by ParseSchedule
		return time.Time{}
	}
	if s.anchor.IsZero() || after.Before(s.anchor) {
		base := s.anchor
		if base.IsZero() {
			base = after
		}
		return base.Add(s.interval).In(after.Location())
	}
	// k = floor((after-anchor)/interval) + 1, in whole seconds so that
	// anchors centuries away do not overflow a Duration. The sub-second
	// part of after-anchor cannot change the floor: interval is whole seconds.
	secs := after.Unix() - s.anchor.Unix()
	if after.Nanosecond() < s.anchor.Nanosecond() {
		secs--
	}
	step := int64(s.interval / time.Second)
	k := secs/step + 1
	return time.Unix(s.anchor.Unix()+k*step, int64(s.anchor.Nanosecond())).In(after.Location())
}
