package scheduler

import (
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/jobspec"
)

func at(s string) time.Time {
	t, err := time.Parse(time.DateTime, s)
	if err != nil {
		panic(err)
	}
	return t
}

// job parses one job with the schedule every, saved at saved (zero: no
// save time), computing in UTC.
func job(t *testing.T, every string, saved time.Time) *jobspec.Job {
	t.Helper()
	f, err := jobspec.ParseWith("jobs.yaml", []byte("j:\n  script: ls\n  where: all\n  every: '"+every+"'\n"),
		jobspec.Options{Location: time.UTC, Saved: saved})
	if err != nil {
		t.Fatal(err)
	}
	return f.Job("j")
}

// TestPlan checks which tick is due, whether it was missed and which
// comes next, for each kind of schedule and history.
func TestPlan(t *testing.T) {
	const grace = 30 * time.Second
	saved := at("2026-12-14 07:00:00") // a Monday
	tick := func(every, when string) *runlet.Tick { return &runlet.Tick{Job: "j", Every: every, At: at(when)} }
	zero := time.Time{}
	tests := []struct {
		name      string
		every     string
		saved     time.Time
		last      *runlet.Tick
		now       string
		due, next time.Time
		missed    bool
	}{
		{"interval before its first tick", "15m", saved, nil, "2026-12-14 07:14:59", zero, at("2026-12-14 07:15:00"), false},
		{"interval at its first tick", "15m", saved, nil, "2026-12-14 07:15:00", at("2026-12-14 07:15:00"), at("2026-12-14 07:30:00"), false},
		{"interval found late", "15m", saved, nil, "2026-12-14 07:15:31", at("2026-12-14 07:15:00"), at("2026-12-14 07:30:00"), true},
		{"interval after its tick ran", "15m", saved, tick("15m", "2026-12-14 07:15:00"), "2026-12-14 07:29:00", zero, at("2026-12-14 07:30:00"), false},
		{"interval after 3 hours down: the latest tick only", "15m", saved, tick("15m", "2026-12-14 07:15:00"), "2026-12-14 10:20:00", at("2026-12-14 10:15:00"), at("2026-12-14 10:30:00"), true},
		// Saving the file for another job's sake re-anchors the schedule
		// it parses; the interval keeps counting from its last tick.
		{"interval unchanged, file saved since", "15m", at("2026-12-14 07:20:00"), tick("15m", "2026-12-14 07:15:00"), "2026-12-14 07:30:01", at("2026-12-14 07:30:00"), at("2026-12-14 07:45:00"), false},
		// A changed interval counts from the save that changed it.
		{"interval changed", "1h", at("2026-12-14 07:20:00"), tick("15m", "2026-12-14 07:15:00"), "2026-12-14 07:35:00", zero, at("2026-12-14 08:20:00"), false},
		{"changed interval's first tick", "1h", at("2026-12-14 07:20:00"), tick("15m", "2026-12-14 07:15:00"), "2026-12-14 08:20:00", at("2026-12-14 08:20:00"), at("2026-12-14 09:20:00"), false},
		{"cron at its tick", "0 8 * * *", saved, nil, "2026-12-14 08:00:00", at("2026-12-14 08:00:00"), at("2026-12-15 08:00:00"), false},
		{"cron after its tick ran", "0 8 * * *", saved, tick("0 8 * * *", "2026-12-14 08:00:00"), "2026-12-14 09:00:00", zero, at("2026-12-15 08:00:00"), false},
		{"every minute, 3 hours down", "* * * * *", saved, tick("* * * * *", "2026-12-14 07:01:00"), "2026-12-14 10:01:31", at("2026-12-14 10:01:00"), at("2026-12-14 10:02:00"), true},
		{"phrase, 3 days down", "every day at 08:00", saved, tick("every day at 08:00", "2026-12-14 08:00:00"), "2026-12-17 12:00:00", at("2026-12-17 08:00:00"), at("2026-12-18 08:00:00"), true},
		{"weekdays over a weekend", "every weekday at 7am", saved, tick("every weekday at 7am", "2026-12-18 07:00:00"), "2026-12-20 23:00:00", zero, at("2026-12-21 07:00:00"), false},
		// A schedule changed to an earlier time of day starts tomorrow,
		// not at once as if today's tick were missed.
		{"cron changed to a time passed today", "0 7 * * *", at("2026-12-14 08:30:00"), tick("0 8 * * *", "2026-12-14 08:00:00"), "2026-12-14 08:30:05", zero, at("2026-12-15 07:00:00"), false},
		// A job deleted and added again starts afresh.
		{"job added again later", "0 8 * * *", at("2026-12-20 12:00:00"), tick("0 8 * * *", "2026-12-14 08:00:00"), "2026-12-20 12:00:01", zero, at("2026-12-21 08:00:00"), false},
		{"leap day, years down", "0 0 29 2 *", at("2025-01-01 00:00:00"), nil, "2029-03-01 00:00:00", at("2028-02-29 00:00:00"), at("2032-02-29 00:00:00"), true},
		{"a last tick ahead of the clock", "15m", saved, tick("15m", "2026-12-14 08:00:00"), "2026-12-14 07:50:00", zero, at("2026-12-14 08:15:00"), false},
		{"no save time: it starts now", "15m", zero, nil, "2026-12-14 07:50:00", zero, at("2026-12-14 08:05:00"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := planJob(job(t, tt.every, tt.saved), tt.last, at(tt.now), grace)
			if !p.due.Equal(tt.due) || p.missed != tt.missed || !p.next.Equal(tt.next) {
				t.Errorf("at %s: due %v (missed %v), next %v; want due %v (missed %v), next %v",
					tt.now, p.due, p.missed, p.next, tt.due, tt.missed, tt.next)
			}
		})
	}
}

// TestLatestMatchesWalking compares the look-back search of a calendar
// schedule's latest tick with walking every tick from the base.
func TestLatestMatchesWalking(t *testing.T) {
	base := at("2026-12-14 07:00:00")
	for _, every := range []string{"* * * * *", "*/7 * * * *", "0 8 * * 1-5", "30 9 * * 1", "0 0 1 * *", "59 23 31 12 *", "* * 1 1 *"} {
		s := job(t, every, base).Schedule
		for _, d := range []time.Duration{0, time.Minute, 59 * time.Minute, 25 * time.Hour, 9 * 24 * time.Hour, 400 * 24 * time.Hour} {
			now := base.Add(d).Add(17 * time.Second)
			var want time.Time
			for n := s.Next(base); !n.IsZero() && !n.After(now); n = s.Next(n) {
				want = n
			}
			if got := latest(s, base, now); !got.Equal(want) {
				t.Errorf("%q at %v: latest %v, want %v", every, now, got, want)
			}
		}
	}
}
