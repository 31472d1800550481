//go:build !windows

package cli_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet/internal/testenv"
)

// attachHint finds the execution in the line @run prints at the start of a
// run on several devices.
var attachHint = regexp.MustCompile(`runlet: execution (\S+) on pi-1, pi-2; follow one device alone with 'runlet attach (\S+) --device NAME'`)

// TestFanOutShowsPrompts: a prompt, a line without its end, appears after
// its device's name while the job still waits for an answer; the run says
// at the start which execution it is and how to attach to one device.
func TestFanOutShowsPrompts(t *testing.T) {
	f := startFleet(t)
	f.device("pi-1")
	f.device("pi-2")
	mac := f.signin("mac")
	applyJobs(t, mac, "ask: |\n  printf 'Continue? [Y/n] '\n  sleep 30\n")
	var out, errb testenv.Buffer
	done := make(chan int, 1)
	go func() { done <- runMainWith(mac, &out, &errb, "@run", "ask", "--on", "pi-1,pi-2") }()
	if !testenv.Poll(30*time.Second, testenv.Interval, func() bool {
		return strings.Contains(out.String(), "pi-1 | Continue? [Y/n] ") && strings.Contains(out.String(), "pi-2 | Continue? [Y/n] ")
	}) {
		t.Fatalf("no prompts while the job waits:\nstdout:\n%q\nstderr:\n%s", out.String(), errb.String())
	}
	m := attachHint.FindStringSubmatch(errb.String())
	if m == nil || m[1] != m[2] {
		t.Fatalf("no execution and attach hint on stderr:\n%s", errb.String())
	}
	if strings.Contains(out.String(), "runlet attach") {
		t.Errorf("the attach hint went to stdout:\n%s", out.String())
	}
	if r := runIn(t, mac, "", "stop", m[1]); r.code != 0 {
		t.Fatalf("stop: exit %d %q", r.code, r.err)
	}
	select {
	case code := <-done:
		if code == 0 {
			t.Errorf("a stopped run exited 0:\n%s%s", out.String(), errb.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("@run did not end after the stop")
	}
}

// TestFanOutInputAll: --input all sends piped input to every device,
// --input DEVICE to one; without --input it goes to none, and runlet says
// so. A device the input does not go to reads an empty one.
func TestFanOutInputAll(t *testing.T) {
	f := startFleet(t)
	f.device("pi-1")
	f.device("pi-2")
	mac := f.signin("mac")
	applyJobs(t, mac, "ask: |\n  read a\n  printf 'answer=%q\\n' \"$a\"\n")
	r := runIn(t, mac, "y\n", "@run", "ask", "--on", "pi-1,pi-2", "--input", "all")
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.out, r.err)
	}
	wantPrinted(t, r.out, "answer", "y", "y")
	for _, d := range []string{"pi-1", "pi-2"} {
		if !strings.Contains(r.out, d+" | answer=y") {
			t.Errorf("%s did not get the answer:\n%s", d, r.out)
		}
	}

	// --input DEVICE: that device gets it, the other an empty input.
	r = runIn(t, mac, "y\n", "@run", "ask", "--on", "pi-1,pi-2", "--input", "pi-2")
	if r.code != 0 || !strings.Contains(r.out, "pi-2 | answer=y") || !strings.Contains(r.out, "pi-1 | answer=''") {
		t.Errorf("--input pi-2: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.out, r.err)
	}

	r = runIn(t, mac, "y\n", "@run", "ask", "--on", "pi-1,pi-2")
	if r.code != 0 || !strings.Contains(r.err, "standard input goes to no device") {
		t.Fatalf("piped input without --input: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.out, r.err)
	}
	wantPrinted(t, r.out, "answer", "''", "''") // each read the end of its input
}
