package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/jobspec"
)

func TestPrefixer(t *testing.T) {
	var b strings.Builder
	p := newPrefixer(&b, []string{"pi-1", "mac"})
	p.quiet = 0 // lines wait for their end (TestPrefixerShowsPrompts)
	steps := []struct{ dev, data string }{
		{"pi-1", "hel"},
		{"mac", "one\r\ntwo\r\n"},
		{"pi-1", "lo\r\nwor"},
		{"mac", "\r\n"},
	}
	for _, s := range steps {
		if err := p.write(s.dev, []byte(s.data)); err != nil {
			t.Fatal(err)
		}
	}
	_ = p.flush("pi-1")
	_ = p.flush("mac")
	want := "mac  | one\nmac  | two\npi-1 | hello\nmac  | \npi-1 | wor\n"
	if b.String() != want {
		t.Errorf("got\n%q\nwant\n%q", b.String(), want)
	}
}

// TestPrefixerShowsPrompts: an unfinished line is shown after a quiet
// time, and its rest continues it unless another device came in between.
func TestPrefixerShowsPrompts(t *testing.T) {
	var b testenv.Buffer
	p := newPrefixer(&b, []string{"pi-1", "pi-2"})
	p.quiet = 10 * time.Millisecond
	write := func(dev, data string) {
		t.Helper()
		if err := p.write(dev, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	shows := func(want string) {
		t.Helper()
		if !testenv.Poll(10*time.Second, time.Millisecond, func() bool { return b.String() == want }) {
			t.Fatalf("got\n%q\nwant\n%q", b.String(), want)
		}
	}
	write("pi-1", "Continue? [Y/n] ")
	shows("pi-1 | Continue? [Y/n] ")
	write("pi-1", "y\r\n")
	shows("pi-1 | Continue? [Y/n] y\n")
	write("pi-2", "name? ")
	shows("pi-1 | Continue? [Y/n] y\npi-2 | name? ")
	write("pi-1", "done\r\n")
	write("pi-2", "Ada\r\n")
	write("pi-2", "tail")
	if err := p.flush("pi-2"); err != nil {
		t.Fatal(err)
	}
	shows("pi-1 | Continue? [Y/n] y\npi-2 | name? \npi-1 | done\npi-2 | Ada\npi-2 | tail\n")
}

func TestJobSource(t *testing.T) {
	src := "# jobs\na: echo a\n\nb:\n  script: |\n    echo b\n\n  where: all\n# next\nc: echo c\n"
	f, err := jobspec.Parse("jobs.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"a": "a: echo a\n",
		"b": "b:\n  script: |\n    echo b\n\n  where: all\n",
		"c": "c: echo c\n",
	}
	for _, j := range f.Jobs {
		if got := jobSource(src, j); got != want[j.Name] {
			t.Errorf("job %s: got %q, want %q", j.Name, got, want[j.Name])
		}
	}
}

func TestErrorHeaderRoundTrip(t *testing.T) {
	text := "a: echo a\nb:\n  scrpt: x\n"
	ve := &apiclient.ValidationError{
		Err:     runlet.Errorf(runlet.EINVALID, "jobs.yaml:3: bad"),
		Details: []jobspec.Error{{File: "jobs.yaml", Line: 3, Job: "b", Field: "scrpt", Msg: "unknown field"}},
	}
	shown := errorHeader(ve) + text
	lines := strings.Split(shown, "\n")
	if !strings.Contains(shown, `line 6: job "b": field "scrpt": unknown field`) || !strings.Contains(lines[5], "scrpt") {
		t.Errorf("header does not point at the line as shown:\n%s", shown)
	}
	if got := stripHeader(shown); got != text {
		t.Errorf("stripHeader left %q, want %q", got, text)
	}
	if got := stripHeader("# a comment of the person\n" + text); got != "# a comment of the person\n"+text {
		t.Errorf("stripHeader removed the person's own comment: %q", got)
	}
}

func TestRunRequestFromFlags(t *testing.T) {
	size := runlet.Size{Cols: 80, Rows: 24}
	for _, tc := range []struct {
		r     remoteRun
		where jobspec.Where
		bad   bool
	}{
		{r: remoteRun{}, where: ""},
		{r: remoteRun{where: "all"}, where: jobspec.WhereAll},
		{r: remoteRun{on: []string{"a", "b"}}, where: jobspec.WhereCustom},
		{r: remoteRun{where: "custom", on: []string{"a"}}, where: jobspec.WhereCustom},
		{r: remoteRun{where: "any", on: []string{"a"}}, bad: true},
		{r: remoteRun{where: "everywhere"}, bad: true},
	} {
		req, err := tc.r.request([]string{"job", "x", "y"}, size)
		if (err != nil) != tc.bad {
			t.Errorf("%+v: error %v, want error %v", tc.r, err, tc.bad)
			continue
		}
		if tc.bad {
			continue
		}
		if req.Where != tc.where || req.Job != "job" || strings.Join(req.Args, " ") != "x y" || *req.Size != size {
			t.Errorf("%+v: request %+v", tc.r, req)
		}
	}
}

func TestHighestExit(t *testing.T) {
	recs := []runlet.Execution{
		{Status: runlet.StatusFinished, ExitCode: 0},
		{Status: runlet.StatusFinished, ExitCode: 3},
		{Status: runlet.StatusError, Reason: "gone"},
	}
	err := highestExit(recs)
	if x, ok := err.(*exitError); !ok || x.code != 3 {
		t.Errorf("highestExit = %v, want exit 3", err)
	}
	if err := highestExit(recs[:1]); err != nil {
		t.Errorf("all fine: %v", err)
	}
}
