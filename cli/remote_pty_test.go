//go:build !windows

package cli_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/pty"
)

// These tests drive the runlet binary in a pseudo-terminal, as a person
// would, against a server and daemons running in the test process.

func waitExit(t *testing.T, term *pty.Terminal, scr *screen, want int) {
	t.Helper()
	st, err := term.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if st.Code != want {
		t.Fatalf("runlet exited with %+v, want %d; screen:\n%s", st, want, scr)
	}
}

func TestRemoteRunAnswersPromptOnAnotherDevice(t *testing.T) {
	f := startFleet(t)
	pi := f.signin("pi-1")
	f.device("mac")
	applyJobs(t, pi, `
ask: |
  read -p "Do you want to continue? [Y/n] " a
  printf 'answer=%q\n' "$a"
  exit 7
`)
	term, scr := startRunlet(t, "--home", pi, "@run", "ask", "--on", "mac")
	scr.WaitFor(t, "Do you want to continue? [Y/n] ")
	if _, err := term.Write([]byte("n\r")); err != nil {
		t.Fatal(err)
	}
	waitExit(t, term, scr, 7)
	wantPrinted(t, scr.String(), "answer", "n")
}

func TestAttachSendsKeysAndSize(t *testing.T) {
	f := startFleet(t)
	pi := f.device("pi-1")
	mac := f.signin("mac")
	applyJobs(t, pi, `
keys: |
  echo "size=$(stty size)"
  for i in $(seq 300); do [ "$(stty size)" = "40 120" ] && break; sleep 0.1; done
  stty -echo
  echo "resized=$(stty size)"
  IFS= read -rn3 key
  printf 'key=%q\n' "$key"
`)
	r := runIn(t, mac, "", "run", "keys", "--on", "pi-1", "--detach")
	exec := strings.TrimSpace(r.out)
	if r.code != 0 || exec == "" {
		t.Fatalf("detach: exit %d %q %q", r.code, r.out, r.err)
	}
	term, scr := startRunlet(t, "--home", mac, "attach", exec)
	// attach gives the job this terminal's size (100x30), then follows it.
	scr.WaitFor(t, "size=")
	if err := term.Resize(runlet.Size{Cols: 120, Rows: 40}); err != nil {
		t.Fatal(err)
	}
	scr.WaitFor(t, "resized=40 120")
	if _, err := term.Write([]byte("\x1b[A")); err != nil {
		t.Fatal(err)
	}
	waitExit(t, term, scr, 0)
	wantPrinted(t, scr.String(), "key", `$'\E[A'`)
}

func TestTwoViewersTypeIntoOneExecution(t *testing.T) {
	f := startFleet(t)
	pi := f.device("pi-1")
	mac := f.signin("mac")
	applyJobs(t, pi, `
two: |
  read -p "first? " a
  read -p "second? " b
  printf 'a=%q\nb=%q\n' "$a" "$b"
`)
	r := runIn(t, mac, "", "run", "two", "--on", "pi-1", "--detach")
	exec := strings.TrimSpace(r.out)
	if r.code != 0 || exec == "" {
		t.Fatalf("detach: exit %d %q %q", r.code, r.out, r.err)
	}
	t1, s1 := startRunlet(t, "--home", mac, "attach", exec)
	t2, s2 := startRunlet(t, "--home", pi, "attach", exec, "--device", "pi-1")
	s1.WaitFor(t, "first? ")
	s2.WaitFor(t, "first? ")
	if _, err := t1.Write([]byte("one\r")); err != nil {
		t.Fatal(err)
	}
	s2.WaitFor(t, "second? ")
	if _, err := t2.Write([]byte("two\r")); err != nil {
		t.Fatal(err)
	}
	waitExit(t, t1, s1, 0)
	waitExit(t, t2, s2, 0)
	for _, s := range []*screen{s1, s2} {
		wantPrinted(t, s.String(), "a", "one")
		wantPrinted(t, s.String(), "b", "two")
	}
}

func TestDetachWithTildeDotLeavesTheJobRunning(t *testing.T) {
	f := startFleet(t)
	pi := f.device("pi-1")
	mac := f.signin("mac")
	applyJobs(t, pi, "ask: |\n  read -p 'name? ' n\n  printf 'hello=%q\\n' \"$n\"\n  read -p 'again? ' m\n  printf 'bye=%q\\n' \"$m\"\n")
	r := runIn(t, mac, "", "run", "ask", "--on", "pi-1", "--detach")
	exec := strings.TrimSpace(r.out)
	if r.code != 0 || exec == "" {
		t.Fatalf("detach: exit %d %q %q", r.code, r.out, r.err)
	}
	term, scr := startRunlet(t, "--home", mac, "attach", exec)
	scr.WaitFor(t, "name? ")
	// A tilde mid-line is typed as is; "~." after Enter detaches.
	if _, err := term.Write([]byte("a~b\r")); err != nil {
		t.Fatal(err)
	}
	scr.WaitFor(t, "hello=")
	if _, err := term.Write([]byte("~.")); err != nil {
		t.Fatal(err)
	}
	scr.WaitFor(t, "rejoin it with 'runlet attach ")
	waitExit(t, term, scr, 0)
	wantPrinted(t, scr.String(), "hello", "a~b")
	// The job still waits for its second answer: attach again and give it.
	t2, s2 := startRunlet(t, "--home", mac, "attach", exec)
	s2.WaitFor(t, "again? ")
	if _, err := t2.Write([]byte("~~x\r")); err != nil {
		t.Fatal(err)
	}
	waitExit(t, t2, s2, 0)
	wantPrinted(t, s2.String(), "bye", `\~x`) // printf %q escapes a leading ~
}

func TestInterruptedFollowLeavesTheJobRunning(t *testing.T) {
	f := startFleet(t)
	pi := f.device("pi-1")
	mac := f.signin("mac")
	applyJobs(t, pi, "long: |\n  echo ready\n  sleep 60\n")
	term, scr := startRunlet(t, "--home", mac, "@run", "long", "--on", "pi-1")
	scr.WaitFor(t, "ready")
	if err := term.Signal(pty.Terminate); err != nil {
		t.Fatal(err)
	}
	scr.WaitFor(t, "rejoin it with 'runlet attach ")
	waitExit(t, term, scr, 130)
	exec := regexp.MustCompile(`runlet attach (\S+) --device pi-1`).FindStringSubmatch(scr.String())
	if exec == nil {
		t.Fatalf("no execution named on screen:\n%s", scr)
	}
	// It still runs: a viewer that joins now sees its start, then kills it.
	out, errb := &testenv.Buffer{}, &testenv.Buffer{}
	attached := make(chan int, 1)
	go func() { attached <- runMainWith(mac, out, errb, "attach", exec[1]) }()
	waitText(t, out, "ready")
	if r := runIn(t, mac, "", "stop", exec[1], "--device", "pi-1"); r.code != 0 {
		t.Fatalf("stop: exit %d %q", r.code, r.err)
	}
	select {
	case code := <-attached:
		if code == 0 {
			t.Errorf("attach to a stopped job exited 0:\n%s%s", out, errb)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("attach did not end after the stop")
	}
}

func TestCtrlCWhileWaitingForAnOfflineDevice(t *testing.T) {
	f := startFleet(t)
	pi := f.signin("pi-1")
	f.signin("mac") // no daemon: offline
	applyJobs(t, pi, "hello: echo hello\n")
	term, scr := startRunlet(t, "--home", pi, "@run", "hello", "--on", "mac")
	scr.WaitFor(t, "mac is offline")
	// Not in raw mode yet: Ctrl-C is a signal for runlet, not a byte for
	// a job that has not started.
	if _, err := term.Write([]byte{0x03}); err != nil {
		t.Fatal(err)
	}
	scr.WaitFor(t, "rejoin it with 'runlet attach ")
	waitExit(t, term, scr, 130)
	r := runIn(t, pi, "", "activity", "--status", "Pending")
	if !strings.Contains(r.out, "hello") {
		t.Errorf("the job is not queued any more:\n%s%s", r.out, r.err)
	}
}
