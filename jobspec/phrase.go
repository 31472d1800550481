package jobspec

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/runlet/runlet"
)

// phraseUnits are the units a phrase may count ("every 5 minutes").
var phraseUnits = map[string]time.Duration{
	"second": time.Second, "seconds": time.Second, "sec": time.Second, "secs": time.Second,
	"minute": time.Minute, "minutes": time.Minute, "min": time.Minute, "mins": time.Minute,
	"hour": time.Hour, "hours": time.Hour, "hr": time.Hour, "hrs": time.Hour,
	"days": 24 * time.Hour,
	"week": 7 * 24 * time.Hour, "weeks": 7 * 24 * time.Hour,
}

// singleUnits are the units that stand alone: "every hour".
var singleUnits = map[string]bool{"second": true, "sec": true, "minute": true, "min": true, "hour": true, "hr": true, "week": true}

// dayNames maps every spelling of a weekday to cron's number (Sunday 0).
var dayNames = map[string]int{}

func init() {
	for d := time.Sunday; d <= time.Saturday; d++ {
		full := strings.ToLower(d.String())
		for _, name := range []string{full, full + "s", full[:3]} {
			dayNames[name] = int(d)
		}
	}
	for name, d := range map[string]int{"tues": 2, "wednes": 3, "thur": 4, "thurs": 4} {
		dayNames[name] = d
	}
}

// parsePhrase reads the English forms (lower case, single blanks):
//
//	every [N] second|minute|hour|week[s]   an interval, like "15m"
//	every N days                            an interval, like "2d"
//	every DAYS [at TIME]                    a calendar schedule, TIME default 00:00
//
// where DAYS is day, weekday, weekend or weekday names joined by commas or
// "and", and TIME is 08:00, 8:30, 8am, 8:30 pm, noon or midnight. A phrase
// that counts units is an interval and one that names days is a calendar,
// so "every day" fires at midnight while "every 1 days" fires 24 hours
// after the job is saved.
func (s *Schedule) parsePhrase(lower string) error {
	rest := strings.TrimSpace(strings.TrimPrefix(lower, "every"))
	words := strings.Fields(rest)
	if len(words) == 0 {
		return s.phraseError("say what to repeat")
	}
	if singleUnits[words[0]] && len(words) == 1 {
		return s.setDuration(phraseUnits[words[0]])
	}
	if n, err := strconv.Atoi(words[0]); err == nil {
		return s.parseCount(n, words[1:])
	}
	days, at, _ := strings.Cut(rest, " at ")
	if strings.HasSuffix(days, " at") {
		return s.phraseError("say the time after \"at\"")
	}
	dow, err := parseDays(days)
	if err != nil {
		return s.phraseError(err.Error())
	}
	hour, minute := 0, 0
	if at != "" {
		if hour, minute, err = parseClock(at); err != nil {
			return s.phraseError(err.Error())
		}
	}
	return s.parseCron(fmt.Sprintf("%d %d * * %s", minute, hour, dow))
}

func (s *Schedule) parseCount(n int, words []string) error {
	if len(words) != 1 {
		return s.phraseError("write a count and one unit, like \"every 5 minutes\"")
	}
	unit, ok := phraseUnits[words[0]]
	if words[0] == "day" {
		unit, ok = 24*time.Hour, true
	}
	if !ok {
		return s.phraseError(fmt.Sprintf("%q is not a unit: use seconds, minutes, hours, days or weeks", words[0]))
	}
	if n < 1 {
		return s.phraseError("the count must be at least 1")
	}
	if int64(n) > int64(1<<62)/int64(unit) {
		return s.phraseError("that interval is too long")
	}
	return s.setDuration(time.Duration(n) * unit)
}

func (s *Schedule) phraseError(why string) error {
	return runlet.Errorf(runlet.EINVALID, "cannot read %q as a schedule: %s; %s", s.spec, why, scheduleForms)
}

// parseDays turns "day", "weekday", "weekend" or a list of weekday names
// into cron's day-of-week field.
func parseDays(text string) (string, error) {
	switch strings.TrimSpace(text) {
	case "day":
		return "*", nil
	case "weekday", "weekdays":
		return "1-5", nil
	case "weekend", "weekends":
		return "0,6", nil
	}
	list := strings.NewReplacer(",", " ", " and ", " ", "&", " ").Replace(" " + text + " ")
	var seen [7]bool
	var nums []string
	for _, w := range strings.Fields(list) {
		d, ok := dayNames[w]
		if !ok {
			return "", fmt.Errorf("%q is not a day: use day, weekday, weekend or day names (monday, tue, ...)", w)
		}
		if !seen[d] {
			seen[d] = true
			nums = append(nums, strconv.Itoa(d))
		}
	}
	if len(nums) == 0 {
		return "", fmt.Errorf("say which days")
	}
	return strings.Join(nums, ","), nil
}

// parseClock reads 08:00, 8:30, 8am, 8:30 pm, 12pm, noon or midnight.
func parseClock(text string) (hour, minute int, err error) {
	t := strings.ReplaceAll(strings.TrimSpace(text), " ", "")
	switch t {
	case "noon":
		return 12, 0, nil
	case "midnight":
		return 0, 0, nil
	}
	bad := fmt.Errorf("%q is not a time of day: write 08:00, 17:30, 8am or 8:30pm", strings.TrimSpace(text))
	suffix := ""
	for _, s := range []string{"am", "pm", "a.m.", "p.m."} {
		if strings.HasSuffix(t, s) {
			suffix, t = s[:1], strings.TrimSuffix(t, s)
			break
		}
	}
	h, m, hasMinutes := strings.Cut(t, ":")
	if !allDigits(h) || len(h) > 2 || (hasMinutes && (!allDigits(m) || len(m) != 2)) {
		return 0, 0, bad
	}
	hour, _ = strconv.Atoi(h)
	if hasMinutes {
		minute, _ = strconv.Atoi(m)
	} else if suffix == "" {
		return 0, 0, bad // a bare "8" could be morning or evening
	}
	if minute > 59 {
		return 0, 0, bad
	}
	switch suffix {
	case "":
		if hour > 23 {
			return 0, 0, bad
		}
	default:
		if hour < 1 || hour > 12 {
			return 0, 0, bad
		}
		hour %= 12
		if suffix == "p" {
			hour += 12
		}
	}
	return hour, minute, nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
