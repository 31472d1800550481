package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runlet/runlet/api"
)

// writeFile writes text to a new file named name and returns its path.
func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// jobNamesOf lists the workspace's jobs through the CLI.
func jobNamesOf(t *testing.T, h string) string {
	t.Helper()
	r := runIn(t, h, "", "@config", "list", "--json")
	var jobs []struct{ Name string }
	if err := json.Unmarshal([]byte(r.out), &jobs); err != nil {
		t.Fatalf("list: %v\n%s%s", err, r.out, r.err)
	}
	var names []string
	for _, j := range jobs {
		names = append(names, j.Name)
	}
	return strings.Join(names, ",")
}

// TestConfigApplyThatDeletesJobsNeedsPrune: issue 17's defect — an empty
// or wrong file applied wiped every job. Now apply names the jobs it would
// delete and saves nothing, unless --prune.
func TestConfigApplyThatDeletesJobsNeedsPrune(t *testing.T) {
	f := startFleet(t)
	h := f.signin("pi-1")
	applyJobs(t, h, "a: echo a\nb: echo b\n")

	for _, tc := range []struct{ name, text, says string }{
		{"empty.yaml", "{}\n", "does not define 2 job(s) of the workspace: a, b"},
		{"nothing.yaml", "# nothing here yet\n", "does not define 2 job(s) of the workspace: a, b"},
		{"only-a.yaml", "a: echo a\n", "does not define 1 job(s) of the workspace: b"},
	} {
		r := runIn(t, h, "", "@config", "apply", "-f", writeFile(t, tc.name, tc.text))
		if r.code != 1 || !strings.Contains(r.err, tc.says) || !strings.Contains(r.err, "nothing saved") || !strings.Contains(r.err, "--prune") || strings.Contains(r.out, "Saved") {
			t.Errorf("apply %s: exit %d\n%s%s", tc.name, r.code, r.out, r.err)
		}
	}
	// From standard input there is no one to ask.
	if r := runIn(t, h, "c: echo c\n", "@config", "apply", "-f", "-"); r.code != 1 || !strings.Contains(r.err, "the job file on standard input does not define 2 job(s)") {
		t.Errorf("apply from stdin: exit %d\n%s%s", r.code, r.out, r.err)
	}
	if names := jobNamesOf(t, h); names != "a,b" {
		t.Fatalf("after the refused applies the jobs are %q, want a,b", names)
	}

	// Adding and changing jobs needs no --prune.
	if r := runIn(t, h, "", "@config", "apply", "-f", writeFile(t, "more.yaml", "a: echo A\nb: echo b\nc: echo c\n")); r.code != 0 || strings.Contains(r.out, "Deleted") {
		t.Fatalf("apply adding a job: exit %d\n%s%s", r.code, r.out, r.err)
	}
	r := runIn(t, h, "", "@config", "apply", "-f", writeFile(t, "only-a.yaml", "a: echo a\n"), "--prune")
	if r.code != 0 || !strings.Contains(r.out, "Saved 1 job(s) (version 3).") || !strings.Contains(r.out, "Deleted 2 job(s): b, c (undo with 'runlet @config rollback 2').") {
		t.Fatalf("apply --prune: exit %d\n%s%s", r.code, r.out, r.err)
	}
	if names := jobNamesOf(t, h); names != "a" {
		t.Fatalf("after apply --prune the jobs are %q, want a", names)
	}
}

// TestConfigHistoryDiffRollback: every save is a version that history
// lists and prints, diff compares and rollback makes current again.
func TestConfigHistoryDiffRollback(t *testing.T) {
	f := startFleet(t)
	h := f.signin("pi-1")
	v1 := "a: echo a\nb: echo b\n"
	applyJobs(t, h, v1)
	if r := runIn(t, h, "", "@config", "apply", "--prune", "-f", writeFile(t, "v2.yaml", "a: echo A\n")); r.code != 0 {
		t.Fatalf("apply v2: exit %d\n%s%s", r.code, r.out, r.err)
	}

	r := runIn(t, h, "", "@config", "history")
	rows := map[string][]string{}
	for _, l := range strings.Split(r.out, "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			rows[f[0]] = f
		}
	}
	// VERSION DATE TIME BY JOBS NOTE
	if r.code != 0 || rows["VERSION"] == nil || len(rows["2"]) < 6 || rows["2"][3] != "pi-1" || rows["2"][4] != "1" || rows["2"][5] != "current" ||
		len(rows["1"]) != 5 || rows["1"][4] != "2" || !strings.Contains(r.out, "keeps the last 100 versions") {
		t.Fatalf("history: exit %d\n%s%s", r.code, r.out, r.err)
	}
	if r := runIn(t, h, "", "@config", "history", "1"); r.code != 0 || r.out != v1 {
		t.Errorf("history 1: exit %d %q, want %q", r.code, r.out, v1)
	}
	r = runIn(t, h, "", "@config", "history", "--json")
	var hist api.JobVersions
	if err := json.Unmarshal([]byte(r.out), &hist); err != nil || len(hist.Versions) != 2 || hist.Versions[0].By != "pi-1" || hist.Kept != 100 {
		t.Errorf("history --json: %v\n%s", err, r.out)
	}

	want := "--- version 1\n+++ version 2\n@@ -1,2 +1 @@\n-a: echo a\n-b: echo b\n+a: echo A\n"
	if r := runIn(t, h, "", "@config", "diff", "1", "2"); r.code != 0 || r.out != want {
		t.Errorf("diff 1 2: exit %d\n%s\nwant\n%s%s", r.code, r.out, want, r.err)
	}
	if r := runIn(t, h, "", "@config", "diff", "1"); r.code != 0 || !strings.Contains(r.out, "+++ version 2 (current)\n") {
		t.Errorf("diff 1: exit %d\n%s%s", r.code, r.out, r.err)
	}
	if r := runIn(t, h, "", "@config", "diff", "2", "2"); r.code != 0 || r.out != "" || !strings.Contains(r.err, "No differences") {
		t.Errorf("diff 2 2: exit %d %q %q", r.code, r.out, r.err)
	}
	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"diff", "one"}, 2, `"one" is not a version`},
		{[]string{"diff", "1", "9"}, 1, "no version 9"},
		{[]string{"history", "0"}, 2, `"0" is not a version`},
		{[]string{"rollback", "2"}, 2, "current job set already"},
		{[]string{"rollback", "7"}, 1, "no version 7"},
		{[]string{"rollback"}, 1, "accepts 1 arg"},
	} {
		if r := runIn(t, h, "", append([]string{"@config"}, tc.args...)...); r.code != tc.code || !strings.Contains(r.err, tc.says) {
			t.Errorf("%v: exit %d %q, want %d saying %q", tc.args, r.code, r.err, tc.code, tc.says)
		}
	}

	r = runIn(t, h, "", "@config", "rollback", "1")
	if r.code != 0 || !strings.Contains(r.out, "Rolled back to version 1: saved as version 3 with 2 job(s).") || !strings.Contains(r.out, "Restored: b.") {
		t.Fatalf("rollback 1: exit %d\n%s%s", r.code, r.out, r.err)
	}
	if r := runIn(t, h, "", "@config", "show", "a"); r.out != "a: echo a\n" {
		t.Errorf("after the rollback, a is %q", r.out)
	}
	if r := runIn(t, h, "", "@config", "history"); !strings.Contains(r.out, "rollback to version 1; current") {
		t.Errorf("history after the rollback:\n%s", r.out)
	}
}

// TestConfigWarnsAboutMisindentedField: a field that lost its indentation
// reads as a job named after the field; check and apply say so.
func TestConfigWarnsAboutMisindentedField(t *testing.T) {
	file := writeFile(t, "jobs.yaml", "backup:\n  script: tar czf /tmp/x.tgz ~\nwhere: all\n")
	r := runIn(t, t.TempDir(), "", "@config", "check", "-f", file)
	hint := `warning: ` + file + `:3: job "where": "where" is the name of a job field, so this reads as a job of its own: it is probably a field of job "backup" above that lost its indentation`
	if r.code != 0 || !strings.Contains(r.err, hint) || !strings.Contains(r.out, "2 job(s) OK") {
		t.Errorf("check: exit %d\n%s%s", r.code, r.out, r.err)
	}

	f := startFleet(t)
	h := f.signin("pi-1")
	r = runIn(t, h, "", "@config", "apply", "-f", file)
	if r.code != 0 || !strings.Contains(r.err, hint) {
		t.Errorf("apply: exit %d\n%s%s", r.code, r.out, r.err)
	}
	bad := writeFile(t, "bad.yaml", "backup:\n  description: Nightly\nscript: tar czf /tmp/x.tgz ~\n")
	r = runIn(t, h, "", "@config", "apply", "-f", bad, "--prune")
	if r.code != 1 || !strings.Contains(r.err, bad+`:3: job "script": "script" is the name of a job field`) || !strings.Contains(r.err, "nothing saved") {
		t.Errorf("apply of a job left without its script: exit %d\n%s%s", r.code, r.out, r.err)
	}
}

// TestConfigEditorRemovingJobsNeedsPrune: an edit that removes jobs is not
// saved without a yes at a terminal; elsewhere the message says how.
func TestConfigEditorRemovingJobsNeedsPrune(t *testing.T) {
	f := startFleet(t)
	h := f.signin("pi-1")
	applyJobs(t, h, "a: echo a\nb: echo b\n")
	r := newFakeEditor(t, "a: echo a\n").edit(t, h)
	if r.code == 0 || !strings.Contains(r.err, "the edited file does not define b") || !strings.Contains(r.err, "--prune") || !strings.Contains(r.err, "your edits are in") {
		t.Fatalf("exit %d\n%s%s", r.code, r.out, r.err)
	}
	if names := jobNamesOf(t, h); names != "a,b" {
		t.Errorf("after the refused edit the jobs are %q, want a,b", names)
	}
}
