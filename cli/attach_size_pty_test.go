//go:build !windows

package cli_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet/cli"
	"github.com/runlet/runlet/internal/termtest"
	"github.com/runlet/runlet/internal/testenv"
)

// needVim skips the test without vim, or fails it where CI
// (RUNLET_REQUIRE_SERVICES=1) should have installed it.
func needVim(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("vim"); err != nil {
		if testenv.Required() {
			t.Fatalf("vim is not installed: %v", err)
		}
		t.Skipf("vim is not installed (%v); apt-get install vim to run this test", err)
	}
}

// watchOnly follows exec from a CLI whose output is not a terminal: a
// viewer that never sends a window size, whose keys (keys, piped) do not
// resize the job. Its output is the job's, byte for byte.
func watchOnly(t *testing.T, h, exec, keys string) *testenv.Buffer {
	t.Helper()
	out, errb := &testenv.Buffer{}, &testenv.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		m := &cli.Main{Stdin: strings.NewReader(keys), Stdout: out, Stderr: errb, Getenv: func(string) string { return "" }}
		m.Run(ctx, []string{"--home", h, "attach", exec})
	}()
	t.Cleanup(func() { cancel(); <-done })
	return out
}

// emulated is what a terminal of cols×rows shows after text.
func emulated(text string, cols, rows int) *termtest.Emulator {
	e := termtest.NewEmulator(cols, rows)
	_, _ = e.Write([]byte(text))
	return e
}

// numbered is "line from" to "line to", the lines of the file vim edits.
func numbered(from, to int) []string {
	var l []string
	for i := from; i <= to; i++ {
		l = append(l, fmt.Sprintf("line %d", i))
	}
	return l
}

// Issue 17 defect 4, R-INT-3: vim started detached at 80x24 and attached
// from a 100x30 terminal shows, in that terminal, the screen vim itself
// says it shows: lines 1 to 29 of its file and its command line at the
// bottom. The replay of what it drew at 80x24 (its scroll region of 24
// rows among them) must not shift what it draws at 100x30.
func TestAttachVimAtAnotherSize(t *testing.T) {
	needVim(t)
	f := startFleet(t)
	pi := f.device("pi-1")
	mac := f.signin("mac")
	// A short name: vim's messages about the file must fit on one line,
	// or it waits for Enter.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "lines.txt"), []byte(strings.Join(numbered(1, 100), "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	applyJobs(t, pi, fmt.Sprintf("edit: cd %q && vim -u NONE -i NONE -N -n lines.txt\n", dir))
	r := runIn(t, mac, "", "run", "edit", "--on", "pi-1", "--detach")
	exec := strings.TrimSpace(r.out)
	if r.code != 0 || exec == "" {
		t.Fatalf("detach: exit %d %q %q", r.code, r.out, r.err)
	}

	// The screen the job sees before anyone attaches: vim at the 80x24 of
	// a detached run, from its own output. Ctrl-G shows where vim is once
	// it has started: a resize during its start may be missed.
	job := watchOnly(t, mac, exec, "\x07")
	testenv.Eventually(t, "vim started at 80x24", 45*time.Second, func() bool {
		return strings.Contains(emulated(job.String(), 80, 24).Lines()[23], "of 100 --")
	})
	if got := emulated(job.String(), 80, 24).Lines()[:23]; !slices.Equal(got, numbered(1, 23)) {
		t.Fatalf("vim at 80x24 shows\n%s\nwant lines 1 to 23", strings.Join(got, "\n"))
	}

	term, scr := startRunlet(t, "--home", mac, "attach", exec) // 100x30
	screen := func() *termtest.Emulator { return emulated(scr.String(), 100, 30) }
	// Line 29 fits only in 30 rows: vim has redrawn at the new size.
	testenv.Eventually(t, "vim redrawn at 100x30", 45*time.Second, func() bool {
		return strings.Contains(screen().String(), "line 29")
	})
	// vim says what it shows, on its command line.
	if _, err := term.Write([]byte(":echo 'size='.&columns.'x'.&lines.' shows='.line('w0').'-'.line('w$')\r")); err != nil {
		t.Fatal(err)
	}
	const said = "size=100x30 shows=1-29"
	want := append(numbered(1, 29), said)
	var got []string
	if !testenv.Poll(45*time.Second, testenv.Interval, func() bool {
		got = screen().Lines()
		return slices.Equal(got, want)
	}) {
		t.Fatalf("the attached terminal shows\n%s\n\nwant what vim says it shows (%s): lines 1 to 29, then its command line",
			strings.Join(got, "\n"), said)
	}
	if _, err := term.Write([]byte(":q!\r")); err != nil {
		t.Fatal(err)
	}
	waitExit(t, term, scr, 0)
}
