//go:build !windows

package cli_test

import (
	"strings"
	"testing"
)

// TestConfigApplyAsksBeforeDeletingJobs: at a terminal, apply names the
// jobs the file lacks and deletes them only on a yes.
func TestConfigApplyAsksBeforeDeletingJobs(t *testing.T) {
	f := startFleet(t)
	h := f.signin("pi-1")
	applyJobs(t, h, "a: echo a\nb: echo b\nc: echo c\n")
	onlyA := writeFile(t, "only-a.yaml", "a: echo a\n")

	term, scr := startRunlet(t, "--home", h, "@config", "apply", "-f", onlyA)
	scr.WaitFor(t, "only-a.yaml does not define 2 job(s) of the workspace: b, c.")
	scr.WaitFor(t, "[y/N] ")
	if _, err := term.Write([]byte("\r")); err != nil { // no answer is a no
		t.Fatal(err)
	}
	scr.WaitFor(t, "nothing saved")
	waitExit(t, term, scr, 1)
	if names := jobNamesOf(t, h); names != "a,b,c" {
		t.Fatalf("after no, the jobs are %q", names)
	}

	term, scr = startRunlet(t, "--home", h, "@config", "apply", "-f", onlyA)
	scr.WaitFor(t, "[y/N] ")
	if _, err := term.Write([]byte("y\r")); err != nil {
		t.Fatal(err)
	}
	scr.WaitFor(t, "Deleted 2 job(s): b, c")
	waitExit(t, term, scr, 0)
	if names := jobNamesOf(t, h); names != "a" {
		t.Fatalf("after yes, the jobs are %q", names)
	}
	if !strings.Contains(scr.String(), "rollback") {
		t.Errorf("the answer does not say how to undo:\n%s", scr)
	}
}
