//go:build !windows

package cli_test

import (
	"strings"
	"testing"
)

// TestShellOnAnotherDevice: 'runlet shell pi-1' in a terminal opens the
// login shell of pi-1's user ($SHELL) with the run's environment, passes
// what is typed to it and exits with its code; activity records it.
func TestShellOnAnotherDevice(t *testing.T) {
	// The daemons run in this process: their user's shell is sh, so that
	// no profile of this machine's bash speaks in between.
	t.Setenv("SHELL", "/bin/sh")
	f := startFleet(t)
	f.device("pi-1")
	mac := f.signin("mac")
	waitOnline(t, mac, "pi-1")

	term, scr := startRunlet(t, "--home", mac, "shell", "pi-1")
	scr.WaitFor(t, "λ ") // the run started on pi-1: the shell reads from now on
	if _, err := term.Write([]byte("echo \"dev=$RUNLET_DEVICE sh=$0\"; exit 3\r")); err != nil {
		t.Fatal(err)
	}
	scr.WaitFor(t, "dev=pi-1 sh=/bin/sh")
	waitExit(t, term, scr, 3)

	r := runIn(t, mac, "", "activity")
	if !strings.Contains(r.out, "$ (login shell)") || !strings.Contains(r.out, "pi-1") {
		t.Errorf("activity does not show the shell on pi-1:\n%s%s", r.out, r.err)
	}
}
