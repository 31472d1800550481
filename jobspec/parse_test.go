package jobspec

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func mustParse(t *testing.T, src string) *File {
	t.Helper()
	f, err := Parse("jobs.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return f
}

func TestParseShortFormAndOrder(t *testing.T) {
	f := mustParse(t, "zeta: ls -lah\nalpha: 'echo hi'\nmid:\n  script: pwd\n")
	var names []string
	for _, j := range f.Jobs {
		names = append(names, j.Name)
	}
	if want := []string{"zeta", "alpha", "mid"}; !slices.Equal(names, want) {
		t.Errorf("jobs %v, want file order %v", names, want)
	}
	z := f.Job("zeta")
	if z.Script != "ls -lah" || z.Where != WhereLocal || z.Expires != DefaultExpires || z.Line != 1 || z.Entrypoint != nil || z.Schedule != nil {
		t.Errorf("short form job = %+v", z)
	}
	if f.Job("nope") != nil {
		t.Error("Job of an unknown name is not nil")
	}
}

func TestParseEmptyFiles(t *testing.T) {
	for _, src := range []string{"", "# only a comment\n", "~\n", "---\n", "settings:\n"} {
		f := mustParse(t, src)
		if len(f.Jobs) != 0 {
			t.Errorf("%q: %d jobs, want none", src, len(f.Jobs))
		}
	}
}

func TestParseSourceKept(t *testing.T) {
	src := []byte("a: ls # the comment stays\n")
	f, err := Parse("jobs.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	src[0] = 'b'
	if string(f.Source) != "a: ls # the comment stays\n" {
		t.Errorf("Source = %q, want the original text, unchanged by the caller's buffer", f.Source)
	}
}

func TestParseFields(t *testing.T) {
	f := mustParse(t, `job:
  description: All the fields
  showDuration: yes
  script: |
    echo one
    echo two
  cwd: ~/work
  where: Custom
  whereCustom:
    - pi-1,pi-2
    - " pi-3 "
    - pi-1
  every: every 5 minutes
  catchup: None
  entrypoint: /bin/zsh -l
  expires: 1d12h
`)
	j := f.Job("job")
	want := Job{
		Name: "job", Description: "All the fields", ShowDuration: true,
		Script: "echo one\necho two\n", Cwd: "~/work", Where: WhereCustom,
		WhereCustom: []string{"pi-1", "pi-2", "pi-3"}, Every: "every 5 minutes", Catchup: CatchupNone,
		Entrypoint: []string{"/bin/zsh", "-l"}, Expires: 36 * time.Hour, Line: 1,
	}
	got := *j
	got.Schedule, got.tmpl = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if j.Schedule == nil || j.Schedule.Interval() != 5*time.Minute {
		t.Errorf("Schedule = %v, want every 5 minutes", j.Schedule)
	}
}

// TestParseCatchupDefault: a scheduled job catches up one missed tick
// unless it says none; a job without a schedule has no catch-up.
func TestParseCatchupDefault(t *testing.T) {
	f := mustParse(t, "a:\n  script: ls\n  every: 15m\nb: ls\nc:\n  script: ls\n  every: '@daily'\n  catchup: ''\n")
	for job, want := range map[string]Catchup{"a": CatchupOne, "b": "", "c": CatchupOne} {
		if got := f.Job(job).Catchup; got != want {
			t.Errorf("job %s: catchup %q, want %q", job, got, want)
		}
	}
}

func TestParseWhereCustomAsString(t *testing.T) {
	f := mustParse(t, "a:\n  script: ls\n  where: custom\n  whereCustom: pi-1, pi-2,\n")
	if got := f.Job("a").WhereCustom; !slices.Equal(got, []string{"pi-1", "pi-2"}) {
		t.Errorf("WhereCustom = %q", got)
	}
}

func TestParseSettings(t *testing.T) {
	f := mustParse(t, `settings:
  entrypoint: [/bin/bash, --login]
  daemons:
    pi-3: {enabled: false}
    pi-4: {enabled: true}
    pi-5:
a: ls
b:
  script: ls
  entrypoint: /bin/zsh -l
`)
	if got := f.Job("a").Entrypoint; !slices.Equal(got, []string{"/bin/bash", "--login"}) {
		t.Errorf("job a entrypoint %q, want the settings' default", got)
	}
	if got := f.Job("b").Entrypoint; !slices.Equal(got, []string{"/bin/zsh", "-l"}) {
		t.Errorf("job b entrypoint %q, want its own", got)
	}
	f.Job("a").Entrypoint[0] = "changed"
	if f.Settings.Entrypoint[0] != "/bin/bash" {
		t.Error("a job shares its entrypoint slice with the settings")
	}
	for name, want := range map[string]bool{"pi-3": false, "pi-4": true, "pi-5": true, "unknown": true} {
		if got := f.Settings.DeviceEnabled(name); got != want {
			t.Errorf("DeviceEnabled(%q) = %v, want %v", name, got, want)
		}
	}
	if f.Job("settings") != nil {
		t.Error("settings was read as a job")
	}
}

// TestParseSettingsCommands: settings.commands turns commands and shells
// off; a file that does not say, or has no settings, allows them.
func TestParseSettingsCommands(t *testing.T) {
	for _, c := range []struct {
		src  string
		want bool
	}{
		{"a: ls\n", true},
		{"settings:\n  commands:\n", true},
		{"settings:\n  commands: true\n", true},
		{"settings:\n  commands: false\n", false},
		{"settings: {commands: no}\na: ls\n", false},
	} {
		f := mustParse(t, c.src)
		if got := f.Settings.CommandsAllowed(); got != c.want {
			t.Errorf("%q: CommandsAllowed() = %v, want %v", c.src, got, c.want)
		}
	}
	var zero Settings
	if !zero.CommandsAllowed() {
		t.Error("with no settings commands are allowed")
	}
}

func TestSettingsAfterJobs(t *testing.T) {
	f := mustParse(t, "a: ls\nsettings:\n  entrypoint: /bin/sh -e\n")
	if got := f.Job("a").Entrypoint; !slices.Equal(got, []string{"/bin/sh", "-e"}) {
		t.Errorf("entrypoint %q: settings written after a job must still apply", got)
	}
	var zero Settings
	if !zero.DeviceEnabled("any") {
		t.Error("with no settings every device is enabled")
	}
}

// TestParseMergeAndHidden checks YAML anchors, merge keys and hidden
// (dot-prefixed) entries that hold shared fields.
func TestParseMergeAndHidden(t *testing.T) {
	f := mustParse(t, `.pis: &pis
  where: custom
  whereCustom: [pi-1]
  showDuration: true
.more: &more
  <<: *pis
  description: from more
a:
  <<: *pis
  script: ls
  showDuration: false
c: &script pwd
b:
  <<: [*more, {cwd: /tmp}]
  script: *script
`)
	if len(f.Jobs) != 3 {
		t.Fatalf("%d jobs, want 3 (hidden entries are not jobs)", len(f.Jobs))
	}
	a, b := f.Job("a"), f.Job("b")
	if a.Where != WhereCustom || !slices.Equal(a.WhereCustom, []string{"pi-1"}) || a.ShowDuration {
		t.Errorf("a = %+v: want merged where and its own showDuration", a)
	}
	if b.Description != "from more" || b.Cwd != "/tmp" || b.Where != WhereCustom || !b.ShowDuration {
		t.Errorf("b = %+v: want fields merged from both maps", b)
	}
}

func TestParseAliasScript(t *testing.T) {
	f := mustParse(t, "a: &cmd ls -lah\nb:\n  script: *cmd\n")
	if f.Job("b").Script != "ls -lah" {
		t.Errorf("b script %q, want the alias' text", f.Job("b").Script)
	}
}

func TestParseWhereValues(t *testing.T) {
	for _, w := range []Where{WhereLocal, WhereAll, WhereAny} {
		f := mustParse(t, "a:\n  script: ls\n  where: "+string(w)+"\n")
		if f.Job("a").Where != w {
			t.Errorf("where %q read as %q", w, f.Job("a").Where)
		}
	}
}

func TestParseExpires(t *testing.T) {
	for spec, want := range map[string]time.Duration{"30m": 30 * time.Minute, "24h": 24 * time.Hour, "7d": 7 * 24 * time.Hour, "1h30m": 90 * time.Minute, "2.5h": 150 * time.Minute} {
		f := mustParse(t, "a:\n  script: ls\n  expires: "+spec+"\n")
		if got := f.Job("a").Expires; got != want {
			t.Errorf("expires %s = %v, want %v", spec, got, want)
		}
	}
}

// A job's timeout is a duration as expires takes it, or none; settings.timeout
// is the limit of every job that sets none of its own.
func TestParseTimeout(t *testing.T) {
	for _, c := range []struct {
		src  string
		want map[string]time.Duration
	}{
		{"a:\n  script: ls\n", map[string]time.Duration{"a": 0}},
		{"a:\n  script: ls\n  timeout: 10m\n", map[string]time.Duration{"a": 10 * time.Minute}},
		{"a:\n  script: ls\n  timeout: 1h30m\n", map[string]time.Duration{"a": 90 * time.Minute}},
		{"a:\n  script: ls\n  timeout: 1.5s\n", map[string]time.Duration{"a": 1500 * time.Millisecond}},
		{"a:\n  script: ls\n  timeout: 2d\n", map[string]time.Duration{"a": 48 * time.Hour}},
		{"a:\n  script: ls\n  timeout: None\n", map[string]time.Duration{"a": 0}},
		{"a:\n  script: ls\n  timeout:\n", map[string]time.Duration{"a": 0}},
		{"settings:\n  timeout: 1h\na: ls\nb:\n  script: ls\n  timeout: 5m\nc:\n  script: ls\n  timeout: none\n",
			map[string]time.Duration{"a": time.Hour, "b": 5 * time.Minute, "c": 0}},
		{"a: ls\nsettings:\n  timeout: 30s\n", map[string]time.Duration{"a": 30 * time.Second}},
		{"settings:\n  timeout: none\na: ls\n", map[string]time.Duration{"a": 0}},
	} {
		f := mustParse(t, c.src)
		for job, want := range c.want {
			if got := f.Job(job).Timeout; got != want {
				t.Errorf("%q: job %s has timeout %v, want %v", c.src, job, got, want)
			}
		}
	}
}

// TestJobJSON checks the JSON the server returns, and that it reads back.
func TestJobJSON(t *testing.T) {
	f := mustParse(t, "a:\n  script: echo {{ index .Args 1 }}\n  every: every monday at 9:30\n  expires: 7d\n  timeout: 1h30m\n")
	b, err := json.Marshal(f.Job("a"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m["expires"] != "7d" || m["timeout"] != "1h30m" || m["every"] != "every monday at 9:30" || m["where"] != "local" {
		t.Errorf("JSON %s", b)
	}
	if s, _ := m["schedule"].(map[string]any); s["cron"] != "30 9 * * 1" {
		t.Errorf("schedule in JSON = %v, want cron 30 9 * * 1", m["schedule"])
	}
	var back Job
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Expires != 7*24*time.Hour || back.Timeout != 90*time.Minute || back.Schedule == nil || back.Schedule.Cron() != "30 9 * * 1" || back.Script != f.Job("a").Script {
		t.Errorf("read back %+v", back)
	}
	out, err := back.Render([]string{"a", "x"})
	if err != nil || out != "echo x" {
		t.Errorf("Render of a job read from JSON = %q, %v", out, err)
	}
}

// TestExampleFile keeps the repository's example job file valid. The file
// is part of the repository: a missing one is a failure, not a skip.
func TestExampleFile(t *testing.T) {
	src, err := os.ReadFile("../examples/jobs.yaml")
	if err != nil {
		t.Fatalf("the repository's example job file: %v", err)
	}
	if _, err := Parse("examples/jobs.yaml", src); err != nil {
		t.Fatal(err)
	}
}

// TestParseMergeBomb checks that merges of merges, each naming the one
// below many times, cost time linear in the file, not exponential.
func TestParseMergeBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString(".m0: &m0 {script: ls}\n")
	for i := 1; i <= 8; i++ {
		fmt.Fprintf(&b, ".m%d: &m%d\n  <<: [", i, i)
		for k := 0; k < 50; k++ {
			fmt.Fprintf(&b, "*m%d, ", i-1)
		}
		b.WriteString("]\n")
	}
	b.WriteString("job:\n  <<: *m8\n")
	f := mustParse(t, b.String())
	if f.Job("job").Script != "ls" {
		t.Errorf("script %q, want the merged one", f.Job("job").Script)
	}
}

// TestParseAliasBudget checks that a small file whose aliases name a large
// map many times is refused instead of read at quadratic cost.
func TestParseAliasBudget(t *testing.T) {
	var b strings.Builder
	b.WriteString(".big: &big\n  script: ls\n")
	for i := 0; i < 2000; i++ {
		fmt.Fprintf(&b, "  x%d: 1\n", i)
	}
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&b, "j%d: *big\n", i)
	}
	_, err := Parse("jobs.yaml", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "aliases") {
		t.Fatalf("error = %.300v, want one about aliases", err)
	}
}

// TestParseErrorCap checks that a file with very many problems reports the
// first ones and says how many more there are.
func TestParseErrorCap(t *testing.T) {
	var b strings.Builder
	for i := 0; i < maxErrors+50; i++ {
		fmt.Fprintf(&b, "bad name %d: ls\n", i)
	}
	_, err := Parse("jobs.yaml", []byte(b.String()))
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("want Errors, got %v", err)
	}
	if len(errs) != maxErrors+1 || !strings.Contains(errs[maxErrors].Msg, "50 more problems") {
		t.Errorf("%d errors, last %q; want %d and a note of 50 more", len(errs), errs[len(errs)-1].Msg, maxErrors+1)
	}
}
