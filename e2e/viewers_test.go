//go:build !windows

package e2e_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runlet/runlet"
)

// Two viewers on two devices type into one execution; both see both
// lines.
func TestTwoViewersTypeIntoOneExecution(t *testing.T) {
	onEachStack(t, testTwoViewersTypeIntoOneExecution)
}

func testTwoViewersTypeIntoOneExecution(t *testing.T, st stack) {
	f := newFleetOn(t, st)
	f.applyJobs(`
echo2:
  script: |
    echo "ready"
    n=0
    while [ $n -lt 2 ] && read l; do printf 'got=%q\n' "$l"; n=$((n+1)); done
`)
	exec, _ := f.detach("mac", "echo2", "pi-2")
	a := startTerm(t, f.homes["pi-1"], "attach", exec)
	b := startTerm(t, f.homes["mac"], "attach", exec)
	a.waitFor(t, "ready")
	b.waitFor(t, "ready")
	a.send(t, "alpha\r")
	a.waitFor(t, "got=alpha")
	b.waitFor(t, "got=alpha")
	b.send(t, "beta\r")
	a.waitFor(t, "got=beta")
	b.waitFor(t, "got=beta")
	for name, tm := range map[string]*term{"pi-1": a, "mac": b} {
		if code := tm.exit(t); code != 0 {
			t.Errorf("the viewer on %s exited with %d, want 0; screen:\n%q", name, code, tm.scr)
		}
		wantPrinted(t, tm.scr.String(), "got", "alpha", "beta")
	}
	f.waitStatus(exec, "pi-2", runlet.StatusFinished)
}

// A viewer that attaches late sees all the output printed before it came,
// then the live rest.
func TestLateViewerSeesEarlierOutput(t *testing.T) {
	onEachStack(t, testLateViewerSeesEarlierOutput)
}

func testLateViewerSeesEarlierOutput(t *testing.T, st stack) {
	f := newFleetOn(t, st)
	dir := t.TempDir()
	printed, next := filepath.Join(dir, "printed"), filepath.Join(dir, "next")
	f.applyJobs(fmt.Sprintf(`
chatty:
  script: |
    for i in $(seq 1 300); do echo "early-$i"; done
    touch %q
    %s
    echo "late line"
    exit 4
`, printed, waitForFile(next)))
	exec, _ := f.detach("pi-2", "chatty", "mac")
	waitFile(t, printed)
	tm := startTerm(t, f.homes["pi-1"], "attach", exec)
	tm.waitFor(t, "early-300")
	scr := tm.scr.String()
	for i := 1; i <= 300; i++ {
		if !strings.Contains(scr, fmt.Sprintf("early-%d\r\n", i)) {
			t.Fatalf("the late viewer misses early-%d; screen:\n%q", i, scr)
		}
	}
	touch(t, next)
	tm.waitFor(t, "late line")
	if code := tm.exit(t); code != 4 {
		t.Fatalf("attach exited with %d, want the job's 4; screen:\n%q", code, tm.scr)
	}
}
