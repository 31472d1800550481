//go:build !windows

package e2e_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runlet/runlet"
)

// Seed experiment 1: a job on mac started from pi-1 shows its output live
// on pi-1, and pi-1's runlet exits with the job's code.
func TestSeedRunOnAnotherDeviceLive(t *testing.T) {
	onEachStack(t, testSeedRunOnAnotherDeviceLive)
}

func testSeedRunOnAnotherDeviceLive(t *testing.T, st stack) {
	f := newFleetOn(t, st)
	next := filepath.Join(t.TempDir(), "next")
	f.applyJobs(fmt.Sprintf(`
hello:
  script: |
    echo "first line from $RUNLET_DEVICE"
    %s
    echo "second line"
    exit 3
`, waitForFile(next)))
	tm := startTerm(t, f.homes["pi-1"], "@run", "hello", "--on", "mac")
	tm.waitFor(t, "first line from mac")
	if strings.Contains(tm.scr.String(), "second line") {
		t.Fatalf("the second line came before the job was let go; screen:\n%q", tm.scr)
	}
	// The job waits for this file: the first line was seen while the
	// job was still running, so it came live.
	touch(t, next)
	tm.waitFor(t, "second line")
	if code := tm.exit(t); code != 3 {
		t.Fatalf("runlet exited with %d, want the job's 3; screen:\n%q", code, tm.scr)
	}
}

// Seed experiment 2: a job on pi-1 and pi-2 where only pi-2 asks a
// question, answered through `runlet attach --device pi-2` from pi-1,
// while pi-1's run finishes by itself.
func TestSeedAnswerPromptThroughAttach(t *testing.T) {
	onEachStack(t, testSeedAnswerPromptThroughAttach)
}

func testSeedAnswerPromptThroughAttach(t *testing.T, st stack) {
	f := newFleetOn(t, st)
	f.applyJobs(`
ask:
  where: custom
  whereCustom: [pi-1, pi-2]
  script: |
    if [ "$RUNLET_DEVICE" = pi-2 ]; then
      read -p "Do you want to continue? [Y/n] " a
      printf 'answer=%q\n' "$a"
    else
      echo "nothing to ask on $RUNLET_DEVICE"
    fi
`)
	exec, _ := f.detach("mac", "ask")
	f.waitStatus(exec, "pi-1", runlet.StatusFinished)
	tm := startTerm(t, f.homes["pi-1"], "attach", exec, "--device", "pi-2")
	tm.waitFor(t, "Do you want to continue? [Y/n] ")
	tm.send(t, "y\r")
	if code := tm.exit(t); code != 0 {
		t.Fatalf("attach exited with %d, want 0; screen:\n%q", code, tm.scr)
	}
	wantPrinted(t, tm.scr.String(), "answer", "y")
	for _, d := range []string{"pi-1", "pi-2"} {
		if e := f.waitStatus(exec, d, runlet.StatusFinished); e.ExitCode != 0 {
			t.Errorf("%s: %+v, want exit code 0", d, e)
		}
	}
}

// Seed experiment 3: a full-screen program (less) on one device, driven
// through attach from another with arrow keys, then an F-key read by the
// job, and quit with q.
func TestSeedFullScreenThroughAttach(t *testing.T) {
	onEachStack(t, testSeedFullScreenThroughAttach)
}

func testSeedFullScreenThroughAttach(t *testing.T, st stack) {
	f := newFleetOn(t, st)
	file := filepath.Join(t.TempDir(), "lines.txt")
	var b strings.Builder
	for i := 1; i <= 200; i++ {
		fmt.Fprintf(&b, "line %03d\n", i)
	}
	writeFile(t, file, b.String())
	f.applyJobs(fmt.Sprintf(`
pager:
  script: |
    less %q
    stty -echo
    echo "less has quit"
    IFS= read -rN5 key
    stty echo
    printf 'key=%%q\n' "$key"
`, file))
	exec, _ := f.detach("pi-1", "pager", "pi-2")
	f.waitStatus(exec, "pi-2", runlet.StatusRunning)
	tm := startTerm(t, f.homes["mac"], "attach", exec)
	tm.waitFor(t, "line 010")
	if strings.Contains(tm.scr.String(), "line 035") {
		t.Fatalf("line 035 is on the first page; screen:\n%q", tm.scr)
	}
	// less switched the terminal to application cursor keys (ESC [?1h),
	// where a terminal sends arrow down as ESC O B.
	tm.send(t, strings.Repeat("\x1bOB", 10))
	tm.waitFor(t, "line 035")
	tm.send(t, "\x1b[6~") // page down
	tm.waitFor(t, "line 060")
	tm.send(t, "q")
	// The script turns echo off before it says so: an F5 sent earlier
	// would be echoed by the device's terminal ahead of key=.
	tm.waitFor(t, "less has quit")
	tm.send(t, "\x1b[15~") // F5
	if code := tm.exit(t); code != 0 {
		t.Fatalf("attach exited with %d, want 0; screen:\n%q", code, tm.scr)
	}
	wantPrinted(t, tm.scr.String(), "key", `$'\E[15~'`)
	f.waitStatus(exec, "pi-2", runlet.StatusFinished)
}
