//go:build !windows

package cli_test

import (
	"slices"
	"testing"

	"github.com/runlet/runlet/internal/termtest"
)

// `echo y | runlet @run hello`: the piped keys are sent before the job
// starts and reach it once it does; the end of the pipe is typed as Ctrl-D
// (twice after a partial line), so that a job reading a line or reading to
// the end of its input ends (issue 17). The jobs print exactly what they
// read.
func TestRunWithPipedInput(t *testing.T) {
	f := startFleet(t)
	pi := f.device("pi-1")
	applyJobs(t, pi, `
hello: |
  read -p "Continue? [Y/n] " a
  printf 'answer=%q\n' "$a"
partial: |
  read -p "Continue? [Y/n] " a
  printf '\nanswer=%q\n' "$a"
lines: |
  while IFS= read -r l; do printf 'line=%q\n' "$l"; done
  printf 'rest=%q\n' "$l"
`)
	for _, tc := range []struct {
		name, job, stdin, label string
		want                    []string
	}{
		{"a line", "hello", "y\n", "answer", []string{"y"}},
		// Nothing ends the line typed: the answer follows it.
		{"a partial line", "partial", "y", "answer", []string{"y"}},
		{"nothing", "hello", "", "answer", []string{"''"}},
		{"lines to the end", "lines", "one\ntwo words\n", "line", []string{"one", `two\ words`}},
		// The echo of "partial" may lead line=one's line: rest= follows
		// a line end.
		{"lines, the last partial", "lines", "one\npartial", "rest", []string{"partial"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runIn(t, pi, tc.stdin, "@run", tc.job)
			if r.code != 0 {
				t.Fatalf("exit %d, want 0\nstdout:\n%q\nstderr:\n%s", r.code, r.out, r.err)
			}
			wantPrinted(t, r.out, tc.label, tc.want...)
		})
	}
}

// @run --offline takes piped input the same way: kept until the job's
// terminal exists, its end typed as Ctrl-D.
func TestOfflineRunWithPipedInput(t *testing.T) {
	jobs := writeJobs(t, `
hello: |
  read -p "Continue? [Y/n] " a
  printf 'answer=%q\n' "$a"
lines: |
  while IFS= read -r l; do printf 'line=%q\n' "$l"; done
  printf 'rest=%q\n' "$l"
`)
	h := t.TempDir()
	r := runIn(t, h, "y\n", "@run", "--offline", "-f", jobs, "hello")
	if r.code != 0 {
		t.Fatalf("exit %d, want 0\nstdout:\n%q\nstderr:\n%s", r.code, r.out, r.err)
	}
	wantPrinted(t, r.out, "answer", "y")
	r = runIn(t, h, "one\ntwo", "@run", "--offline", "-f", jobs, "lines")
	if r.code != 0 {
		t.Fatalf("exit %d, want 0\nstdout:\n%q\nstderr:\n%s", r.code, r.out, r.err)
	}
	// The terminal echoes "one", then "two" without a line end, so that
	// line=one may follow it on its line: rest= comes after a line end.
	wantPrinted(t, r.out, "rest", "two")
}

// wantPrinted fails t unless the job printed exactly the values want as
// lines label=VALUE (termtest.Printed), in order: what it read, quoted.
func wantPrinted(t *testing.T, text, label string, want ...string) {
	t.Helper()
	if got := termtest.Printed(text, label); !slices.Equal(got, want) {
		t.Errorf("the job printed %s=%q, want %q; output:\n%q", label, got, want, text)
	}
}
