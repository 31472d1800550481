package jobspec

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// FuzzParse feeds arbitrary bytes to Parse: it must never panic, a file
// that parses holds only valid jobs, and a file that does not gets Errors
// with lines inside the file. Seeds: testdata/*.yaml and testdata/fuzz/.
func FuzzParse(f *testing.F) {
	paths, _ := filepath.Glob("testdata/*.yaml")
	for _, p := range paths {
		if src, err := os.ReadFile(p); err == nil {
			f.Add(src)
		}
	}
	for _, s := range []string{
		"a: ls", "a:\n  script: ls\n  where: custom\n  whereCustom: [x]\n", "a: {{ index .Args 1 }}",
		"a:\n  <<: *b\n", ".x: &x {script: ls}\na: {<<: *x}\n", "settings: {daemons: {p: {enabled: false}}}",
		"a:\n  script: ls\n  every: every monday at 9:30\n  expires: 7d\n  entrypoint: sh -c 'x'\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		file, err := Parse("fuzz.yaml", src)
		if err != nil {
			checkFuzzErrors(t, src, err)
			return
		}
		for _, j := range file.Jobs {
			checkFuzzJob(t, j)
		}
	})
}

func checkFuzzErrors(t *testing.T, src []byte, err error) {
	var errs Errors
	if !errors.As(err, &errs) || len(errs) == 0 {
		t.Fatalf("error is not a non-empty Errors: %T %v", err, err)
	}
	lines := 1
	for _, c := range src {
		if c == '\n' || c == '\r' {
			lines++
		}
	}
	for _, e := range errs {
		if e.File != "fuzz.yaml" || e.Msg == "" || e.Line < 0 || e.Line > lines+1 {
			t.Fatalf("bad error %+v for a file of %d lines", *e, lines)
		}
	}
}

func checkFuzzJob(t *testing.T, j *Job) {
	if !validName.MatchString(j.Name) {
		t.Fatalf("job name %q is not valid", j.Name)
	}
	if j.Script == "" || j.tmpl == nil {
		t.Fatalf("job %q has an empty or unparsed script", j.Name)
	}
	switch j.Where {
	case WhereLocal, WhereAll, WhereAny:
		if j.WhereCustom != nil {
			t.Fatalf("job %q: whereCustom with where %s", j.Name, j.Where)
		}
	case WhereCustom:
		if len(j.WhereCustom) == 0 || slices.Contains(j.WhereCustom, "") {
			t.Fatalf("job %q: where custom with devices %q", j.Name, j.WhereCustom)
		}
	default:
		t.Fatalf("job %q: where %q", j.Name, j.Where)
	}
	if j.Expires <= 0 || (j.Every == "") != (j.Schedule == nil) {
		t.Fatalf("job %q: expires %v, every %q, schedule %v", j.Name, j.Expires, j.Every, j.Schedule)
	}
	if j.Entrypoint != nil && (len(j.Entrypoint) == 0 || j.Entrypoint[0] == "") {
		t.Fatalf("job %q: entrypoint %q", j.Name, j.Entrypoint)
	}
	_, _ = j.Render([]string{j.Name, "a"}) // may fail, must not panic
}

// FuzzSchedule feeds arbitrary specs and times to ParseSchedule and Next:
// no panic, and every Next is strictly after the time asked, within one
// interval for interval schedules.
func FuzzSchedule(f *testing.F) {
	for _, s := range []string{
		"*/5 * * * *", "0 8 * * 1-5", "@daily", "@every 90m", "15m", "1d12h", "every 5 minutes",
		"every day at 08:00", "every monday at 9:30", "every weekday at 7am", "every sat,sun at 10:00",
		"0 0 29 2 *", "TZ=", "every day at 8:30 p.m.",
	} {
		f.Add(s, int64(1772619450), int64(1772618400)) // 2026-03-04 10:17:30 and 10:00:00 UTC
	}
	f.Fuzz(func(t *testing.T, spec string, after, anchor int64) {
		s, err := ParseSchedule(spec)
		if err != nil {
			return
		}
		// Keep times between 1970 and 2400, where the search for a next
		// time is meaningful.
		const span = 430 * 365 * 24 * 3600
		at := time.Unix(mod(after, span), 0).UTC()
		s = s.In(time.UTC).AnchoredAt(time.Unix(mod(anchor, span), 0))
		next := s.Next(at)
		if s.Interval() > 0 {
			if !next.After(at) || next.Sub(at) > s.Interval() && !next.Equal(s.Anchor().Add(s.Interval())) {
				t.Fatalf("%q: Next(%v) = %v with interval %v, anchor %v", spec, at, next, s.Interval(), s.Anchor())
			}
			return
		}
		if !next.IsZero() && !next.After(at) {
			t.Fatalf("%q: Next(%v) = %v is not after it", spec, at, next)
		}
	})
}

func mod(n, m int64) int64 {
	n %= m
	if n < 0 {
		n += m
	}
	return n
}

// FuzzSplitCommand checks that SplitCommand never panics and reads back
// what QuoteCommand writes.
func FuzzSplitCommand(f *testing.F) {
	for _, s := range []string{"/bin/bash --login", `sh -c 'a "b"'`, `a\ b "c\"d"`, `C:\x\y.exe /c`, "a|b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words, err := SplitCommand(s)
		if err != nil {
			return
		}
		back, err := SplitCommand(QuoteCommand(words))
		if err != nil || !slices.Equal(back, words) {
			t.Fatalf("round trip of %q: %q -> %q, %v", s, words, back, err)
		}
	})
}
