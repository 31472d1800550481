//go:build !windows

package e2e_test

import (
	"testing"
)

// `echo y | runlet @run hello`, the real binary on each stack: the piped
// answer is sent before the job starts on the other device, which keeps it
// for the job, and the end of the pipe ends the job's input (issue 17).
func TestPipedAnswerBeforeTheJobStarts(t *testing.T) {
	onEachStack(t, testPipedAnswerBeforeTheJobStarts)
}

func testPipedAnswerBeforeTheJobStarts(t *testing.T, st stack) {
	f := newFleetOn(t, st)
	f.applyJobs(`
hello: |
  read -p "Continue? [Y/n] " a
  printf 'answer=%q\n' "$a"
`)
	r := runPiped(t, f.homes["pi-1"], "y\n", "@run", "hello", "--on", "mac")
	if r.code != 0 {
		t.Fatalf("exit %d, want 0\nstdout:\n%q\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	wantPrinted(t, r.stdout, "answer", "y")
}
