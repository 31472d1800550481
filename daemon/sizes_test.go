//go:build !windows

package daemon_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/internal/termtest"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/runner"
	"github.com/runlet/runlet/wire"
)

// sizeWatcher prints "size=ROWS COLS" each time its terminal's size
// changes, and "typed=LINE" for each line typed. (The loop in the
// background reads the size from /dev/tty: a background command's input
// is /dev/null.)
const sizeWatcher = `while :; do
  s=$(stty size </dev/tty)
  [ "$s" = "$last" ] || { echo "size=$s"; last=$s; }
  sleep 0.05
done &
while IFS= read -r l; do echo "typed=$l"; done`

// The window-size policy (daemon/sizes.go): the job has the size of the
// viewer that acted last, by typing or by joining to type; a viewer that
// only watches does not change it, nor does one whose size is unknown.
func TestTheViewerWhoActedLastSetsTheSize(t *testing.T) {
	_, s, _ := setup(t)
	exec := s.dispatch(device, sizeWatcher) // 80x24, the default
	out := s.watch(bus.OutputKey(exec, device))
	s.waitStatus(exec, runlet.StatusRunning)
	resize := func(viewer string, cols, rows uint16, active bool) {
		s.control(exec, device, wire.Control{Op: wire.OpResize, Size: runlet.Size{Cols: cols, Rows: rows}, Viewer: viewer, Active: active})
	}
	seqs := map[string]uint64{}
	typeLine := func(viewer, line string) {
		seqs[viewer]++
		s.input(exec, viewer, seqs[viewer], line+"\n")
	}
	// sizes is what the job printed, whole lines only, without the
	// runner's margin resets (which start the lines after a resize).
	sizes := func() []string {
		text := strings.ReplaceAll(out.text(), runner.MarginReset, "")
		return termtest.Printed(text[:strings.LastIndex(text, "\n")+1], "size")
	}
	var want []string
	// expect waits for the job to print size next, failing at once on
	// any other size.
	expect := func(size string) {
		t.Helper()
		want = append(want, size)
		testenv.Eventually(t, "size="+size, patience, func() bool {
			got := sizes()
			if len(got) > len(want) || !slices.Equal(got, want[:len(got)]) {
				t.Fatalf("the job's sizes were %q, want %q", got, want)
			}
			return len(got) == len(want)
		})
	}
	// Each step waits for a size the job prints; the control requests
	// sent before it went through the same subscription first.
	expect("24 80")
	// The laptop attaches: joining to type is acting.
	resize("laptop", 100, 30, true)
	expect("30 100")
	// A phone opens the page: it only watches.
	resize("phone", 40, 20, false)
	// The laptop's window changes: it acted last, the job follows.
	resize("laptop", 101, 30, false)
	expect("30 101")
	// The phone types: the job takes its size, then its window changes.
	typeLine("phone", "b")
	expect("20 40")
	resize("tablet", 60, 25, false) // only watches
	resize("phone", 50, 22, false)
	expect("22 50")
	// The laptop types again: its size comes back.
	typeLine("laptop", "c")
	expect("30 101")
	// Input from a viewer without a window (a pipe) changes nothing, and
	// the laptop is still the one the job follows.
	typeLine("pipe", "d")
	out.waitText("typed=d\r\n")
	resize("laptop", 110, 35, false)
	expect("35 110")

	if got := termtest.Printed(out.text(), "typed"); !slices.Equal(got, []string{"b", "c", "d"}) {
		t.Errorf("the job read %q, want b, c, d", got)
	}
	if !strings.Contains(out.text(), runner.MarginReset) {
		t.Errorf("no margin reset in the output of a job resized while running:\n%q", out.text())
	}
}
