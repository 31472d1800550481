package runner

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/internal/termtest"
	"github.com/runlet/runlet/internal/testenv"
)

// arrow returns the bytes a terminal sends for an arrow key (A up, B down,
// C right, D left): programs that switch on application cursor mode
// (DECCKM, "\x1b[?1h") get SS3 sequences, the others CSI ones, as from
// xterm.
func arrow(screen string, key byte) string {
	if strings.LastIndex(screen, "\x1b[?1h") > strings.LastIndex(screen, "\x1b[?1l") {
		return "\x1bO" + string(key)
	}
	return "\x1b[" + string(key)
}

// need skips the test when program is not installed, or fails it when CI
// (RUNLET_REQUIRE_SERVICES=1) should have installed it.
func need(t *testing.T, program string) {
	t.Helper()
	if _, err := exec.LookPath(program); err != nil {
		msg := program + " is not installed (" + err.Error() + "); install it (apt-get install " + program + ") to run this test"
		if testenv.Required() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

// R-JOB-4: vim, driven by arrow keys, edits a file and quits.
func TestVimDrivenByArrowKeys(t *testing.T) {
	need(t, "vim")
	file := filepath.Join(t.TempDir(), "lines.txt")
	if err := os.WriteFile(file, []byte("one\ntwo\nthree\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := newRunner(t, Config{})
	e := enqueue(t, r, Spec{Script: `vim -u NONE -i NONE -N -n "` + file + `"`})
	s := watch(t, e)
	out := s.waitFor(t, "three")
	// Down to "two", delete it, write and quit.
	keys := []string{arrow(out, 'B'), "dd", ":wq\r"}
	for _, k := range keys {
		if err := e.Input([]byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	if end := waitDone(t, e); end.Status != runlet.StatusFinished || end.ExitCode != 0 {
		t.Fatalf("end state %+v; output:\n%q", end, s.String())
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "one\nthree\n" {
		t.Errorf("file after the edit %q, want the second line gone", b)
	}
}

// R-JOB-4: less scrolls with the down arrow and quits with q.
func TestLessScrollsAndQuits(t *testing.T) {
	need(t, "less")
	r := newRunner(t, Config{})
	e := enqueue(t, r, Spec{Script: `seq 1 500 | less`})
	s := watch(t, e)
	out := s.waitFor(t, "\r\n23\r\n")
	if strings.Contains(out, "\r\n26\r\n") {
		t.Fatalf("less shows more than one screen before any key:\n%q", out)
	}
	for range 3 {
		if err := e.Input([]byte(arrow(out, 'B'))); err != nil {
			t.Fatal(err)
		}
	}
	s.waitFor(t, "26\r\n")
	if err := e.Input([]byte("q")); err != nil {
		t.Fatal(err)
	}
	if end := waitDone(t, e); end.Status != runlet.StatusFinished || end.ExitCode != 0 {
		t.Fatalf("end state %+v; output:\n%q", end, s.String())
	}
}

// R-JOB-4 with the seed's rpi-htop job: arrow keys, then F10 quits. CI
// installs htop; here it may be missing.
func TestHtopQuitsOnF10(t *testing.T) {
	need(t, "htop")
	r := newRunner(t, Config{})
	e := enqueue(t, r, Spec{Script: `htop`})
	s := watch(t, e)
	out := s.waitFor(t, "Quit")
	for _, k := range []string{arrow(out, 'B'), arrow(out, 'B'), arrow(out, 'A'), "\x1b[21~"} {
		if err := e.Input([]byte(k)); err != nil {
			t.Fatalf("%v; output:\n%q", err, s.String())
		}
	}
	if end := waitDone(t, e); end.Status != runlet.StatusFinished || end.ExitCode != 0 {
		t.Fatalf("end state %+v", end)
	}
}

// Issue 17 defect 4: vim started at 80x24 and resized to 100x30 shows,
// in a viewer's terminal of 100x30 that replays all its output, the
// screen vim draws at 100x30: its 24-row scroll region from the start
// does not shift the lines it draws after the resize.
func TestVimResizedShowsRightInALateViewersTerminal(t *testing.T) {
	need(t, "vim")
	var lines []string
	for i := 1; i <= 100; i++ {
		lines = append(lines, fmt.Sprintf("line %d", i))
	}
	// A short name: vim's messages about the file must fit on one line,
	// or it waits for Enter.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "lines.txt"), []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := newRunner(t, Config{})
	e := enqueue(t, r, Spec{Script: `vim -u NONE -i NONE -N -n lines.txt`, Cwd: dir, Size: runlet.Size{Cols: 80, Rows: 24}})
	s := watch(t, e)
	// Ctrl-G, once vim has drawn, shows when it has started: vim may
	// miss a resize during its start.
	s.waitFor(t, "line 23")
	if err := e.Input([]byte("\x07")); err != nil {
		t.Fatal(err)
	}
	s.waitFor(t, "of 100 --")
	// vim 9.0 drops a resize that comes while it updates its screen (here,
	// for Ctrl-G): resize again, through another size, until it redraws.
	// Line 29 fits only in 30 rows.
	redrawn := func() bool { return strings.Contains(s.String(), "line 29") }
	resize := func(rows uint16) {
		if err := e.Resize(runlet.Size{Cols: 100, Rows: rows}); err != nil {
			t.Fatal(err)
		}
	}
	for try := 0; !redrawn(); try++ {
		switch try {
		case 0:
		case 5:
			t.Fatalf("vim did not redraw at 100x30 after %d resizes; output:\n%q", try, s.String())
		default:
			resize(29) // the terminal's size again would be no change
		}
		resize(30)
		testenv.Poll(patience/5, testenv.Interval, redrawn)
	}
	var got []string
	if !testenv.Poll(patience, testenv.Interval, func() bool {
		late := termtest.NewEmulator(100, 30)
		_, _ = late.Write([]byte(s.String()))
		got = late.Lines()[:29]
		return slices.Equal(got, lines[:29])
	}) {
		t.Errorf("a late viewer at 100x30 shows\n%s\nwant lines 1 to 29", strings.Join(got, "\n"))
	}
	if err := e.Input([]byte(":q!\r")); err != nil {
		t.Fatal(err)
	}
	waitDone(t, e)
}

// The margin reset goes into the output where the size changed, before
// what the job prints for the new size, and only when it changed.
func TestMarginResetWhereTheSizeChanged(t *testing.T) {
	r := newRunner(t, Config{})
	e := enqueue(t, r, Spec{Script: `stty size; read x; stty size; read y; stty size`, Size: runlet.Size{Cols: 90, Rows: 30}})
	s := watch(t, e)
	s.waitFor(t, "30 90\r\n")
	for _, size := range []runlet.Size{{Cols: 100, Rows: 40}, {Cols: 100, Rows: 40}} {
		if err := e.Resize(size); err != nil {
			t.Fatal(err)
		}
		if err := e.Input([]byte("\r")); err != nil {
			t.Fatal(err)
		}
	}
	s.all(t)
	out := s.String()
	if strings.Count(out, MarginReset) != 1 {
		t.Fatalf("%d margin resets in %q; want one, for the one change of size", strings.Count(out, MarginReset), out)
	}
	before, after, _ := strings.Cut(out, MarginReset)
	if !strings.Contains(before, "30 90\r\n") || strings.Contains(before, "40 100") || strings.Count(after, "40 100\r\n") != 2 {
		t.Errorf("the margin reset is not between the output at 90x30 and the output at 100x40: %q", out)
	}
}
