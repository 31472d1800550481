package jobspec

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the DST test needs America/New_York wherever it runs

	"github.com/runlet/runlet"
)

func utc(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04:05", s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestScheduleNextCalendar checks wall-clock schedules in UTC, across day,
// month, year and leap-day boundaries (R-JOB-7). 2026-03-04 is a Wednesday.
func TestScheduleNextCalendar(t *testing.T) {
	tests := []struct {
		spec, after, want string
	}{
		{"*/5 * * * *", "2026-03-04 10:17:30", "2026-03-04 10:20:00"},
		{"*/5 * * * *", "2026-03-04 10:20:00", "2026-03-04 10:25:00"}, // strictly after
		{"0 8 * * 1-5", "2026-03-04 10:17:30", "2026-03-05 08:00:00"},
		{"0 8 * * MON-FRI", "2026-03-06 09:00:00", "2026-03-09 08:00:00"},
		{"30 2 1 * *", "2026-01-31 12:00:00", "2026-02-01 02:30:00"},
		{"0 0 29 2 *", "2026-03-01 00:00:00", "2028-02-29 00:00:00"},
		{"@daily", "2026-03-04 10:17:30", "2026-03-05 00:00:00"},
		{"@HOURLY", "2026-03-04 10:17:30", "2026-03-04 11:00:00"},
		{"@weekly", "2026-03-04 10:17:30", "2026-03-08 00:00:00"},
		{"@monthly", "2026-12-15 00:00:00", "2027-01-01 00:00:00"},
		{"every day at 08:00", "2026-03-04 10:17:30", "2026-03-05 08:00:00"},
		{"every day at 08:00", "2026-03-04 07:59:59", "2026-03-04 08:00:00"},
		{"every day at 23:59", "2026-03-04 23:59:00", "2026-03-05 23:59:00"},
		{"every day at 00:00", "2026-12-31 23:59:59", "2027-01-01 00:00:00"},
		{"every day at 0:00", "2028-02-28 12:00:00", "2028-02-29 00:00:00"},
		{"every day", "2026-03-04 10:17:30", "2026-03-05 00:00:00"},
		{"Every Day At 8PM", "2026-03-04 10:17:30", "2026-03-04 20:00:00"},
		{"every day at 8:30 pm", "2026-03-04 10:17:30", "2026-03-04 20:30:00"},
		{"every day at 8am", "2026-03-04 10:17:30", "2026-03-05 08:00:00"},
		{"every day at 12am", "2026-03-04 10:17:30", "2026-03-05 00:00:00"},
		{"every day at 12pm", "2026-03-04 10:17:30", "2026-03-04 12:00:00"},
		{"every day at noon", "2026-03-04 10:17:30", "2026-03-04 12:00:00"},
		{"every day at midnight", "2026-03-04 10:17:30", "2026-03-05 00:00:00"},
		{"every monday at 9:30", "2026-03-04 10:17:30", "2026-03-09 09:30:00"},
		{"every monday at 9:30", "2026-03-09 09:29:59", "2026-03-09 09:30:00"},
		{"every Mondays at 09:30am", "2026-03-09 09:30:00", "2026-03-16 09:30:00"},
		{"every sunday", "2026-03-04 10:17:30", "2026-03-08 00:00:00"},
		{"every weekday at 7:00", "2026-03-06 08:00:00", "2026-03-09 07:00:00"},
		{"every weekday at 7:00", "2026-03-04 06:00:00", "2026-03-04 07:00:00"},
		{"every weekend at 10am", "2026-03-04 10:17:30", "2026-03-07 10:00:00"},
		{"every weekend at 10am", "2026-03-07 10:00:00", "2026-03-08 10:00:00"},
		{"every mon, wed and fri at 06:15", "2026-03-04 10:17:30", "2026-03-06 06:15:00"},
		{"every sat,sun at 10:00", "2026-03-04 10:17:30", "2026-03-07 10:00:00"},
		{"every tue & thu at 18:45", "2026-03-04 10:17:30", "2026-03-05 18:45:00"},
	}
	for _, tt := range tests {
		t.Run(tt.spec+"/"+tt.after, func(t *testing.T) {
			s, err := ParseSchedule(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if s.Interval() != 0 || s.Cron() == "" {
				t.Errorf("Interval = %v, Cron = %q: want a calendar schedule", s.Interval(), s.Cron())
			}
			got := s.In(time.UTC).Next(utc(tt.after))
			if !got.Equal(utc(tt.want)) {
				t.Errorf("Next(%s) = %s, want %s", tt.after, got, tt.want)
			}
			if got.Location() != time.UTC {
				t.Errorf("Next returned a time in %v, want UTC", got.Location())
			}
		})
	}
}

// TestSchedulePhraseCron checks what cron line each phrase stands for.
func TestSchedulePhraseCron(t *testing.T) {
	tests := map[string]string{
		"every day at 08:00":             "0 8 * * *",
		"every monday at 9:30":           "30 9 * * 1",
		"every weekday at 7:00":          "0 7 * * 1-5",
		"every weekend":                  "0 0 * * 0,6",
		"every fri and mon at 5:05 p.m.": "5 17 * * 5,1",
		"every monday, monday at 1am":    "0 1 * * 1",
		"0 8 * * 1-5":                    "0 8 * * 1-5",
		"@daily":                         "@daily",
	}
	for spec, want := range tests {
		s, err := ParseSchedule(spec)
		if err != nil {
			t.Errorf("%q: %v", spec, err)
			continue
		}
		if s.Cron() != want {
			t.Errorf("%q: Cron() = %q, want %q", spec, s.Cron(), want)
		}
	}
}

// TestScheduleNextInterval checks interval schedules: the first run is one
// interval after the save time, then every interval on that grid.
func TestScheduleNextInterval(t *testing.T) {
	saved := utc("2026-03-04 10:00:00")
	tests := []struct {
		spec     string
		interval time.Duration
		after    string
		want     string
	}{
		{"15m", 15 * time.Minute, "2026-03-04 10:00:00", "2026-03-04 10:15:00"},
		{"15m", 15 * time.Minute, "2026-03-04 10:15:00", "2026-03-04 10:30:00"},
		{"15m", 15 * time.Minute, "2026-03-04 10:17:30", "2026-03-04 10:30:00"},
		{"15m", 15 * time.Minute, "2026-03-04 09:00:00", "2026-03-04 10:15:00"}, // before the save
		{"30s", 30 * time.Second, "2026-03-04 10:00:00", "2026-03-04 10:00:30"},
		{"6h", 6 * time.Hour, "2026-03-04 23:00:00", "2026-03-05 04:00:00"},
		{"1d", 24 * time.Hour, "2026-03-10 09:00:00", "2026-03-10 10:00:00"},
		{"1d", 24 * time.Hour, "2026-12-31 10:00:00", "2027-01-01 10:00:00"},
		{"1d12h", 36 * time.Hour, "2026-03-04 10:00:00", "2026-03-05 22:00:00"},
		{"2w", 14 * 24 * time.Hour, "2026-03-04 10:00:00", "2026-03-18 10:00:00"},
		{"1h30m", 90 * time.Minute, "2026-03-04 10:00:00", "2026-03-04 11:30:00"},
		{"@every 90m", 90 * time.Minute, "2026-03-04 11:30:00", "2026-03-04 13:00:00"},
		{"every 5 minutes", 5 * time.Minute, "2026-03-04 10:07:00", "2026-03-04 10:10:00"},
		{"every 2 hours", 2 * time.Hour, "2026-03-04 10:00:00", "2026-03-04 12:00:00"},
		{"every 3 days", 72 * time.Hour, "2026-03-04 10:00:00", "2026-03-07 10:00:00"},
		{"every 1 day", 24 * time.Hour, "2026-03-04 10:00:00", "2026-03-05 10:00:00"},
		{"every 10 seconds", 10 * time.Second, "2026-03-04 10:00:05", "2026-03-04 10:00:10"},
		{"every minute", time.Minute, "2026-03-04 10:00:00", "2026-03-04 10:01:00"},
		{"EVERY HOUR", time.Hour, "2026-03-04 10:00:00", "2026-03-04 11:00:00"},
		{"every week", 7 * 24 * time.Hour, "2026-03-04 10:00:00", "2026-03-11 10:00:00"},
		{"every 2 weeks", 14 * 24 * time.Hour, "2026-03-04 10:00:00", "2026-03-18 10:00:00"},
	}
	for _, tt := range tests {
		t.Run(tt.spec+"/"+tt.after, func(t *testing.T) {
			s, err := ParseSchedule(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if s.Interval() != tt.interval || s.Cron() != "" {
				t.Fatalf("Interval = %v, Cron = %q; want interval %v", s.Interval(), s.Cron(), tt.interval)
			}
			s = s.In(time.UTC).AnchoredAt(saved)
			if got := s.Next(utc(tt.after)); !got.Equal(utc(tt.want)) {
				t.Errorf("Next(%s) = %s, want %s", tt.after, got, tt.want)
			}
		})
	}
}

// TestScheduleIntervalWithoutAnchor: with no save time, Next(t) is one
// interval after t, so chained calls still give one run an interval.
func TestScheduleIntervalWithoutAnchor(t *testing.T) {
	s, err := ParseSchedule("15m")
	if err != nil {
		t.Fatal(err)
	}
	at := utc("2026-03-04 10:07:13")
	if got, want := s.Next(at), at.Add(15*time.Minute); !got.Equal(want) {
		t.Errorf("Next = %s, want %s", got, want)
	}
}

// TestScheduleIntervalFarAnchor checks that anchors centuries before the
// asked time neither overflow nor drift.
func TestScheduleIntervalFarAnchor(t *testing.T) {
	s, err := ParseSchedule("7s")
	if err != nil {
		t.Fatal(err)
	}
	anchor := time.Date(1700, 1, 1, 0, 0, 0, 500, time.UTC)
	s = s.In(time.UTC).AnchoredAt(anchor)
	after := time.Date(2300, 6, 1, 12, 0, 0, 0, time.UTC)
	got := s.Next(after)
	if !got.After(after) || got.Sub(after) > 7*time.Second {
		t.Fatalf("Next(%s) = %s, want within 7s after it", after, got)
	}
	if (got.Unix()-anchor.Unix())%7 != 0 || got.Nanosecond() != 500 {
		t.Errorf("Next = %s is off the grid of 7s from %s", got, anchor)
	}
}

// TestScheduleLocation checks that wall-clock times are read in the
// schedule's location, and that a day interval is 24 hours across DST.
func TestScheduleLocation(t *testing.T) {
	india := time.FixedZone("IST", 5*3600+1800)
	s, err := ParseSchedule("every day at 08:00")
	if err != nil {
		t.Fatal(err)
	}
	got := s.In(india).Next(utc("2026-03-04 00:00:00")) // 05:30 in India
	if want := utc("2026-03-04 02:30:00"); !got.Equal(want) {
		t.Errorf("Next = %s, want %s (08:00 IST)", got, want)
	}
	if got.Location() != india {
		t.Errorf("Next is in %v, want %v", got.Location(), india)
	}
	if s.Location() != time.Local {
		t.Errorf("default location %v, want Local", s.Location())
	}
	if s.In(nil).Location() != time.Local {
		t.Error("In(nil) should mean Local")
	}

	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	// 2026-03-08 02:00 EST jumps to 03:00 EDT.
	daily, err := ParseSchedule("1d")
	if err != nil {
		t.Fatal(err)
	}
	saved := time.Date(2026, 3, 7, 10, 0, 0, 0, ny)
	next := daily.In(ny).AnchoredAt(saved).Next(saved)
	if want := time.Date(2026, 3, 8, 11, 0, 0, 0, ny); !next.Equal(want) {
		t.Errorf("1d across DST: Next = %s, want %s (24 hours later)", next, want)
	}
	cal, err := ParseSchedule("every day at 10:00")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cal.In(ny).Next(saved), time.Date(2026, 3, 8, 10, 0, 0, 0, ny); !got.Equal(want) {
		t.Errorf("calendar across DST: Next = %s, want %s (same wall clock)", got, want)
	}
}

// TestScheduleOptionsFromParse checks that Parse hands Options to schedules.
func TestScheduleOptionsFromParse(t *testing.T) {
	saved := utc("2026-03-04 10:00:00")
	loc := time.FixedZone("X", 3600)
	f, err := ParseWith("j.yaml", []byte("a:\n  script: ls\n  every: 15m\nb:\n  script: ls\n  every: every day at 08:00\n"), Options{Location: loc, Saved: saved})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Job("a").Schedule.Next(saved.Add(time.Minute)); !got.Equal(utc("2026-03-04 10:15:00")) {
		t.Errorf("interval Next = %s", got)
	}
	if got := f.Job("b").Schedule.Next(saved); !got.Equal(utc("2026-03-05 07:00:00")) {
		t.Errorf("calendar Next = %s, want 08:00 in UTC+1", got)
	}
	for _, job := range []string{"a", "b"} { // a scheduler reads the save time of both
		if got := f.Job(job).Schedule.Anchor(); got != saved {
			t.Errorf("job %s: Anchor = %v, want %v", job, got, saved)
		}
	}
}

func TestScheduleErrors(t *testing.T) {
	tests := []struct{ spec, want string }{
		{"", "empty"},
		{"   ", "empty"},
		{"sometimes", "every day at 08:00"},
		{"every", "say what to repeat"},
		{"every 0 minutes", "at least 1"},
		{"every -5 minutes", "at least 1"},
		{"every 5 fortnights", `"fortnights" is not a unit`},
		{"every 5", "a count and one unit"},
		{"every 5 minutes please", "a count and one unit"},
		{"every 99999999999999 days", "too long"},
		{"every funday", `"funday" is not a day`},
		{"every day at", "time after"},
		{"every day at 25:00", "not a time of day"},
		{"every day at 8", "not a time of day"},
		{"every day at 13pm", "not a time of day"},
		{"every day at 8:60", "not a time of day"},
		{"every day at 8:5", "not a time of day"},
		{"every days", "not a day"},
		{"* * * *", "cron line"},
		{"* * * * * *", "cron line"},
		{"61 * * * *", "above maximum"},
		{"*/0 * * * *", "positive"},
		{"0 0 30 2 *", "never fires"},
		{"0 0 31 4,6,9,11 *", "never fires"},
		{"@reboot", "unrecognized"},
		{"@every", "cron line"},
		{"@every soon", "not a duration"},
		{"@every 1ms", "at least 1s"},
		{"500ms", "cron line"},
		{"1.5s", "cron line"},
		{"0s", "at least 1s"},
		{"99999999999999d", "too long"},
		{"TZ=Europe/Lisbon 0 8 * * *", "time zone"},
		{"CRON_TZ=UTC 0 8 * * *", "time zone"},
		{"TZ=", "time zone"},
	}
	for _, tt := range tests {
		_, err := ParseSchedule(tt.spec)
		if err == nil {
			t.Errorf("ParseSchedule(%q) succeeded, want an error with %q", tt.spec, tt.want)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseSchedule(%q) = %v\nwant it to contain %q", tt.spec, err, tt.want)
		}
		if runlet.ErrorCode(err) != runlet.EINVALID {
			t.Errorf("ParseSchedule(%q): code %q, want %q", tt.spec, runlet.ErrorCode(err), runlet.EINVALID)
		}
	}
}

// TestScheduleZeroValue: a Schedule not made by ParseSchedule never fires
// and does not panic.
func TestScheduleZeroValue(t *testing.T) {
	var s Schedule
	if got := s.AnchoredAt(utc("2026-03-04 10:00:00")).Next(utc("2026-03-04 11:00:00")); !got.IsZero() {
		t.Errorf("Next = %v, want the zero time", got)
	}
}
