package cli_test

import (
	"strings"
	"testing"
)

// TestRunCommand: '@run --on DEVICES -- CMD ARGS' runs a command that is
// no job, prints its output, exits with its code and is recorded in
// activity under its command line; a device that names no device runs it
// itself.
func TestRunCommand(t *testing.T) {
	f := startFleet(t)
	pi := f.device("pi-1")
	f.device("pi-2")
	mac := f.signin("mac")

	r := runIn(t, mac, "", "@run", "--on", "pi-1", "--", "echo", "hi", "there")
	if r.code != 0 || !strings.Contains(r.out, "hi there\r\n") {
		t.Fatalf("@run -- echo hi there: exit %d\n%s%s", r.code, r.out, r.err)
	}
	// Each word is one argument: what the shell would split or expand
	// arrives as typed.
	r = runIn(t, mac, "", "@run", "--on", "pi-1", "--", "printf", "[%s]\n", "a b", "$HOME", "*")
	if r.code != 0 || !strings.Contains(r.out, "[a b]\r\n[$HOME]\r\n[*]\r\n") {
		t.Errorf("@run -- printf with words to keep: exit %d\n%s%s", r.code, r.out, r.err)
	}
	r = runIn(t, mac, "", "@run", "--on", "pi-1", "--", "sh", "-c", "echo oops >&2; exit 7")
	if r.code != 7 || !strings.Contains(r.out, "oops") {
		t.Errorf("a failing command: exit %d, want 7\n%s%s", r.code, r.out, r.err)
	}
	r = runIn(t, mac, "", "@run", "--on", "pi-1,pi-2", "--", "sh", "-c", "echo on $RUNLET_DEVICE")
	if r.code != 0 || !strings.Contains(r.out, "on pi-1") || !strings.Contains(r.out, "on pi-2") {
		t.Errorf("a command on two devices: exit %d\n%s%s", r.code, r.out, r.err)
	}
	r = runIn(t, pi, "", "run", "--", "sh", "-c", "echo here on $RUNLET_DEVICE")
	if r.code != 0 || !strings.Contains(r.out, "here on pi-1") {
		t.Errorf("pi-1's command without --on: exit %d\n%s%s", r.code, r.out, r.err)
	}

	r = runIn(t, mac, "", "activity")
	for _, want := range []string{"$ echo hi there", "$ printf '[%s]\\n' 'a b' '$HOME' '*'", "$ sh -c 'echo oops >&2; exit 7'"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("activity lacks %q:\n%s%s", want, r.out, r.err)
		}
	}
}

// TestRefusedCommands: a command the workspace turned off, one with
// --offline, one on no device: each is refused with a sentence, and
// nothing runs.
func TestRefusedCommands(t *testing.T) {
	f := startFleet(t)
	f.signin("pi-1")
	mac := f.signin("mac")

	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"@run", "--offline", "--", "uname", "-a"}, 2, "--offline runs a job of a file"},
		{[]string{"@run", "--on", "nas-*", "--", "uname"}, 2, "No device matches nas-*"},
		{[]string{"shell", "pi-*"}, 1, "pi-1 is offline"},
		{[]string{"shell", "ghost"}, 2, "Unknown device ghost"},
	} {
		r := runIn(t, mac, "", tc.args...)
		if r.code != tc.code || !strings.Contains(r.err, tc.says) {
			t.Errorf("%q: exit %d, stderr %q; want %d saying %q", tc.args, r.code, r.err, tc.code, tc.says)
		}
	}

	applyJobs(t, mac, "settings:\n  commands: false\nhello: echo hello\n")
	for _, args := range [][]string{{"@run", "--on", "pi-1", "--", "uname", "-a"}, {"shell", "pi-1"}} {
		r := runIn(t, mac, "", args...)
		if r.code == 0 || !strings.Contains(r.err, "commands and shells are turned off by 'commands: false' under settings") {
			t.Errorf("%q with commands off: exit %d, stderr %q", args, r.code, r.err)
		}
	}
	if r := runIn(t, mac, "", "activity"); strings.Contains(r.out, "$ ") {
		t.Errorf("refused commands are in activity:\n%s", r.out)
	}
}
