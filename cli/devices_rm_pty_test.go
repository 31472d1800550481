//go:build !windows

package cli_test

import (
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet/internal/testenv"
)

// TestDevicesRemoveAsksAtATerminal: at a terminal, `runlet devices rm`
// asks before removing (no is the default, and removes nothing), then asks
// for the admin and a password it does not echo.
func TestDevicesRemoveAsksAtATerminal(t *testing.T) {
	f := startFleet(t)
	mac := f.signin("mac")
	f.signin("pi-2")
	f.signin("pi-3")

	term, scr := startRunlet(t, "--home", mac, "devices", "rm", "pi-2")
	scr.WaitFor(t, "Remove pi-2 from workspace default? It loses its access at once")
	scr.WaitFor(t, "[y/N] ")
	if _, err := term.Write([]byte("\r")); err != nil {
		t.Fatal(err)
	}
	scr.WaitFor(t, "pi-2 was not removed.")
	waitExit(t, term, scr, 1)

	term, scr = startRunlet(t, "--home", mac, "devices", "rm", "pi-3")
	scr.WaitFor(t, "[y/N] ")
	if _, err := term.Write([]byte("y\r")); err != nil {
		t.Fatal(err)
	}
	scr.WaitFor(t, "Admin email: ")
	if _, err := term.Write([]byte("admin@localhost\r")); err != nil {
		t.Fatal(err)
	}
	scr.WaitFor(t, "Password of admin@localhost: ")
	// The prompt comes before runlet turns echo off: type once it has.
	testenv.Eventually(t, "echo off for the password", 30*time.Second, func() bool {
		on, err := term.Echoes()
		return err == nil && !on
	})
	if _, err := term.Write([]byte(adminPassword + "\r")); err != nil {
		t.Fatal(err)
	}
	scr.WaitFor(t, "Removed pi-3")
	waitExit(t, term, scr, 0)
	if strings.Contains(scr.String(), adminPassword) {
		t.Errorf("the password was echoed:\n%s", scr)
	}

	r := runIn(t, mac, "", "devices")
	if !strings.Contains(r.out, "pi-2") || strings.Contains(r.out, "pi-3") {
		t.Errorf("devices after declining pi-2 and removing pi-3:\n%s%s", r.out, r.err)
	}
}
