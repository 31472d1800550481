//go:build !windows

package cli_test

import (
	"strings"
	"testing"
)

// TestFanOutAnswersOneDevice is the seed's experiment 2 from one @run: a
// job on two devices of which only pi-2 asks "Do you want to continue?
// [Y/n]"; the prompt shows while it waits, ~2 sends the keys to pi-2
// alone, and its answer lets it finish.
func TestFanOutAnswersOneDevice(t *testing.T) {
	f := startFleet(t)
	f.device("pi-1")
	f.device("pi-2")
	mac := f.signin("mac")
	applyJobs(t, mac, `
rpi-neofetch: |
  if [ "$RUNLET_DEVICE" = pi-2 ]; then
    read -p "Do you want to continue? [Y/n] " a
    printf 'answer=%q\n' "$a"
  fi
  echo "neofetch on $RUNLET_DEVICE"
`)
	term, scr := startRunlet(t, "--home", mac, "@run", "rpi-neofetch", "--on", "pi-1,pi-2")
	scr.WaitFor(t, "pi-2 | Do you want to continue? [Y/n] ")
	scr.WaitFor(t, "pi-1 | neofetch on pi-1")
	// Keys before a pick go nowhere, and runlet says how to pick.
	if _, err := term.Write([]byte("n")); err != nil {
		t.Fatal(err)
	}
	scr.WaitFor(t, "input goes to no device yet")
	if _, err := term.Write([]byte("~2")); err != nil {
		t.Fatal(err)
	}
	scr.WaitFor(t, "runlet: input goes to pi-2")
	if _, err := term.Write([]byte("y\r")); err != nil {
		t.Fatal(err)
	}
	scr.WaitFor(t, "pi-2 | neofetch on pi-2")
	waitExit(t, term, scr, 0)
	wantPrinted(t, scr.String(), "answer", "y")
	if !strings.Contains(scr.String(), "pi-2 | answer=y") {
		t.Errorf("the answer is not pi-2's:\n%s", scr)
	}
}

// TestFanOutTypesToAllThenDetaches: ~* sends the keys to every device, and
// ~. detaches, leaving the jobs running.
func TestFanOutTypesToAllThenDetaches(t *testing.T) {
	f := startFleet(t)
	f.device("pi-1")
	f.device("pi-2")
	mac := f.signin("mac")
	applyJobs(t, mac, "ask: |\n  read -p 'name? ' n\n  printf 'hello=%q\\n' \"$n\"\n  sleep 60\n")
	term, scr := startRunlet(t, "--home", mac, "@run", "ask", "--on", "pi-1,pi-2")
	scr.WaitFor(t, "pi-1 | name? ")
	scr.WaitFor(t, "pi-2 | name? ")
	if _, err := term.Write([]byte("~*")); err != nil {
		t.Fatal(err)
	}
	scr.WaitFor(t, "runlet: input goes to every device")
	if _, err := term.Write([]byte("Ada\r")); err != nil {
		t.Fatal(err)
	}
	scr.WaitFor(t, "pi-1 | hello=Ada")
	scr.WaitFor(t, "pi-2 | hello=Ada")
	if _, err := term.Write([]byte("~.")); err != nil {
		t.Fatal(err)
	}
	scr.WaitFor(t, "rejoin it with 'runlet attach ")
	waitExit(t, term, scr, 0)
	exec := attachHint.FindStringSubmatch(strings.ReplaceAll(scr.String(), "\n", ""))
	if exec == nil {
		t.Fatalf("no execution named on screen:\n%s", scr)
	}
	// The jobs go on: stop them.
	if r := runIn(t, mac, "", "stop", exec[1]); r.code != 0 {
		t.Fatalf("stop after detaching: exit %d %q", r.code, r.err)
	}
	waitFinal(t, mac, exec[1])
}

// TestFanOutCtrlCBeforeAPick: with no device picked, Ctrl-C stops following
// instead of going nowhere.
func TestFanOutCtrlCBeforeAPick(t *testing.T) {
	f := startFleet(t)
	f.device("pi-1")
	f.device("pi-2")
	mac := f.signin("mac")
	applyJobs(t, mac, "long: |\n  echo ready\n  sleep 60\n")
	term, scr := startRunlet(t, "--home", mac, "@run", "long", "--on", "pi-1,pi-2")
	scr.WaitFor(t, "pi-1 | ready")
	scr.WaitFor(t, "pi-2 | ready")
	if _, err := term.Write([]byte{0x03}); err != nil {
		t.Fatal(err)
	}
	scr.WaitFor(t, "rejoin it with 'runlet attach ")
	waitExit(t, term, scr, 130)
	exec := attachHint.FindStringSubmatch(strings.ReplaceAll(scr.String(), "\n", ""))
	if exec == nil {
		t.Fatalf("no execution named on screen:\n%s", scr)
	}
	if r := runIn(t, mac, "", "kill", exec[1]); r.code != 0 {
		t.Fatalf("kill: exit %d %q", r.code, r.err)
	}
	waitFinal(t, mac, exec[1])
}
