package cli_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/runlet/runlet/jobspec"
)

// fakeEditor is a script that stands in for a person at $EDITOR: each time
// it runs it keeps a copy of the file it was given (seen-N) and replaces
// the file with step-N when the test wrote one, or leaves it as is (quit
// without saving).
type fakeEditor struct {
	dir, path string
}

func newFakeEditor(t *testing.T, steps ...string) *fakeEditor {
	t.Helper()
	e := &fakeEditor{dir: t.TempDir()}
	e.path = filepath.Join(e.dir, "editor.sh")
	script := `#!/bin/sh
dir=$(dirname "$0")
n=$(cat "$dir/count" 2>/dev/null || echo 0)
n=$((n+1))
echo $n > "$dir/count"
cp "$1" "$dir/seen-$n"
if [ -f "$dir/step-$n" ]; then cp "$dir/step-$n" "$1"; fi
`
	if err := os.WriteFile(e.path, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	for i, s := range steps {
		if s == "" {
			continue
		}
		if err := os.WriteFile(filepath.Join(e.dir, fmt.Sprintf("step-%d", i+1)), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// seen is what the editor was shown on its n-th run ("" if it did not run).
func (e *fakeEditor) seen(n int) string {
	b, _ := os.ReadFile(filepath.Join(e.dir, fmt.Sprintf("seen-%d", n)))
	return string(b)
}

func (e *fakeEditor) edit(t *testing.T, h string) result {
	t.Helper()
	return runEnv(t, h, "", map[string]string{"EDITOR": e.path}, "@config")
}

func TestConfigEditorSavesAValidFile(t *testing.T) {
	f := startFleet(t)
	h := f.signin("pi-1")
	applyJobs(t, h, "a: echo a\n")
	invalid := "a: echo a\nb:\n  where: local\n  scrpt: echo b\n"
	valid := "a: echo a\nb: echo b\n"
	e := newFakeEditor(t, invalid, valid)
	r := e.edit(t, h)
	if r.code != 0 || !strings.Contains(r.out, "Saved 2 job(s)") {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.out, r.err)
	}
	if e.seen(1) != "a: echo a\n" {
		t.Errorf("the editor first showed %q, want the workspace's file", e.seen(1))
	}
	// The second time it shows the server's complaint on top, pointing
	// at the line as the editor numbers it.
	second := e.seen(2)
	if !strings.HasPrefix(second, "# runlet: ") || !strings.HasSuffix(second, invalid) || !strings.Contains(second, "scrpt") {
		t.Fatalf("second edit showed:\n%s", second)
	}
	m := regexp.MustCompile(`line (\d+): job "b": field "scrpt"`).FindStringSubmatch(second)
	if m == nil {
		t.Fatalf("no line for the bad field in:\n%s", second)
	}
	n, _ := strconv.Atoi(m[1])
	if lines := strings.Split(second, "\n"); n > len(lines) || !strings.Contains(lines[n-1], "scrpt") {
		t.Errorf("the header points at line %d, which is not the bad field:\n%s", n, second)
	}
	r = runIn(t, h, "", "@config", "list", "--json")
	var jobs []*jobspec.Job
	if err := json.Unmarshal([]byte(r.out), &jobs); err != nil || len(jobs) != 2 || jobs[1].Script != "echo b" {
		t.Fatalf("jobs after the edit: %s (%v)", r.out, err)
	}
}

func TestConfigEditorNoChanges(t *testing.T) {
	f := startFleet(t)
	h := f.signin("pi-1")
	applyJobs(t, h, "a: echo a\n")
	r := newFakeEditor(t).edit(t, h)
	if r.code != 0 || !strings.Contains(r.out, "No changes.") {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.out, r.err)
	}
}

func TestConfigEditorGivingUpKeepsTheEdits(t *testing.T) {
	f := startFleet(t)
	h := f.signin("pi-1")
	applyJobs(t, h, "a: echo a\n")
	r := newFakeEditor(t, "a: [unclosed\n").edit(t, h)
	if r.code == 0 || !strings.Contains(r.err, "still has the errors") {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.out, r.err)
	}
	kept := regexp.MustCompile(`edits are in (\S+)`).FindStringSubmatch(r.err)
	if kept == nil {
		t.Fatalf("no file named in %q", r.err)
	}
	b, err := os.ReadFile(kept[1])
	if err != nil || !strings.Contains(string(b), "a: [unclosed") {
		t.Errorf("kept file %s: %q, %v", kept[1], b, err)
	}
	os.Remove(kept[1])
	r = runIn(t, h, "", "@config", "show", "a")
	if r.out != "a: echo a\n" {
		t.Errorf("the job changed although nothing was saved: %q", r.out)
	}
}

func TestConfigListShowApplyDelete(t *testing.T) {
	f := startFleet(t)
	h := f.signin("pi-1")
	applyJobs(t, h, `# my jobs
backup:
  description: Nightly backup
  script: |
    tar czf /tmp/x.tgz ~
  where: all
  every: every day at 02:00

# the short one
hello: echo hello
`)
	r := runIn(t, h, "", "@config", "list")
	for _, want := range []string{"NAME", "backup", "all", "every day at 02:00", "Nightly backup", "hello"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("list lacks %q:\n%s", want, r.out)
		}
	}
	r = runIn(t, h, "", "@config", "show", "backup")
	want := "backup:\n  description: Nightly backup\n  script: |\n    tar czf /tmp/x.tgz ~\n  where: all\n  every: every day at 02:00\n"
	if r.out != want {
		t.Errorf("show backup:\n%q\nwant\n%q", r.out, want)
	}
	if r := runIn(t, h, "", "@config", "show", "nope"); r.code == 0 || !strings.Contains(r.err, "backup, hello") {
		t.Errorf("show of an unknown job: exit %d, %q", r.code, r.err)
	}
	if r := runIn(t, h, "", "@config", "delete", "backup"); r.code != 0 || !strings.Contains(r.out, "Deleted job backup") {
		t.Errorf("delete: exit %d %q %q", r.code, r.out, r.err)
	}
	if r := runIn(t, h, "", "@config", "show", "backup"); r.code == 0 {
		t.Errorf("backup still there after delete: %q", r.out)
	}

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("x:\n  scrpt: 1\n"), 0o600)
	r = runIn(t, h, "", "@config", "apply", "-f", bad)
	if r.code != 1 || !strings.Contains(r.err, bad+":2:") || !strings.Contains(r.err, "nothing saved") {
		t.Errorf("apply of a bad file: exit %d\n%s", r.code, r.err)
	}
	r = runIn(t, h, "hi: echo hi\n", "@config", "apply", "-f", "-", "--prune", "--json")
	if r.code != 0 || !strings.Contains(r.out, `"version"`) {
		t.Errorf("apply from stdin: exit %d %q %q", r.code, r.out, r.err)
	}
}

// TestConfigEditorNeedsATerminal: without a terminal and without an EDITOR
// of the person's choosing, @config says what to use instead of starting
// nano or vi on a pipe.
func TestConfigEditorNeedsATerminal(t *testing.T) {
	f := startFleet(t)
	r := runIn(t, f.signin("pi-1"), "", "@config")
	if r.code != 2 || !strings.Contains(r.err, "there is no terminal here") || !strings.Contains(r.err, "@config apply -f FILE") {
		t.Errorf("@config without a terminal: exit %d %q", r.code, r.err)
	}
}
