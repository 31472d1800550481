//go:build !windows

package cli_test

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/castlog"
	"github.com/runlet/runlet/internal/termtest"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/pty"
)

// runletBinary is built once by TestMain for the tests that drive the real
// command as a person would.
var runletBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "runlet-cli-test")
	if err != nil {
		panic(err)
	}
	runletBinary = filepath.Join(dir, "runlet")
	out, err := exec.Command("go", "build", "-o", runletBinary, "github.com/runlet/runlet/cmd/runlet").CombinedOutput()
	if err != nil {
		os.RemoveAll(dir)
		panic("build runlet: " + err.Error() + "\n" + string(out))
	}
	restore := testenv.HermeticHome()
	// Sealing a log key at age's scrypt cost takes seconds, ten under
	// the race detector.
	castlog.SetScryptWorkFactorForTests(10)
	code := m.Run()
	restore()
	os.RemoveAll(dir)
	os.Exit(code)
}

// screen is what a terminal shows, for tests to wait on.
type screen = termtest.Screen

func newScreen(r io.Reader) *screen { return termtest.NewScreen(r) }

// startRunlet runs the runlet binary in a pseudo-terminal, like a person's
// shell would.
func startRunlet(t *testing.T, args ...string) (*pty.Terminal, *screen) {
	t.Helper()
	env := append(os.Environ(), "RUNLET_HOME="+t.TempDir(), "TERM=xterm-256color")
	term, err := pty.Start(pty.Command{Argv: append([]string{runletBinary}, args...), Env: env, Size: runlet.Size{Cols: 100, Rows: 30}})
	if err != nil {
		t.Fatalf("start runlet in a pty: %v", err)
	}
	t.Cleanup(func() { _ = term.Signal(pty.Kill); term.Close() })
	return term, newScreen(term)
}

func TestOfflineRunAnswersPrompt(t *testing.T) {
	jobs := writeJobs(t, `
ask:
  showDuration: true
  script: |
    read -p "Do you want to continue? [Y/n] " a
    printf 'answer=%q\n' "$a"
    exit 7
`)
	term, scr := startRunlet(t, "@run", "ask", "-f", jobs, "--offline")
	scr.WaitFor(t, "λ /bin/bash --login ")
	scr.WaitFor(t, "Do you want to continue? [Y/n] ")
	if _, err := term.Write([]byte("n\r")); err != nil {
		t.Fatal(err)
	}
	scr.WaitFor(t, "Exited with code: 7")
	wantPrinted(t, scr.String(), "answer", "n")
	scr.WaitFor(t, "Duration: ")
	st, err := term.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if st.Code != 7 {
		t.Fatalf("runlet exited with %+v, want the job's code 7; screen:\n%s", st, scr)
	}
}

func TestOfflineRunCtrlCGoesToJob(t *testing.T) {
	jobs := writeJobs(t, `
trap-int: |
  trap 'echo "job got INT"; exit 3' INT
  echo ready
  sleep 60 & wait
`)
	term, scr := startRunlet(t, "run", "trap-int", "-f", jobs, "--offline")
	scr.WaitFor(t, "ready")
	if _, err := term.Write([]byte{0x03}); err != nil {
		t.Fatal(err)
	}
	scr.WaitFor(t, "job got INT")
	st, err := term.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if st.Code != 3 {
		t.Fatalf("runlet exited with %+v, want 3 (the job's trap); screen:\n%s", st, scr)
	}
}

func TestOfflineRunFollowsWindowSize(t *testing.T) {
	// The job polls its own terminal's size: runlet applies SIGWINCH
	// asynchronously, so the job waits (bounded) for the new size to arrive.
	jobs := writeJobs(t, `
size: |
  echo "size=$(stty size)"
  for i in $(seq 300); do [ "$(stty size)" = "40 120" ] && break; sleep 0.1; done
  echo "now=$(stty size)"
`)
	term, scr := startRunlet(t, "run", "size", "-f", jobs, "--offline")
	scr.WaitFor(t, "size=30 100")
	if err := term.Resize(runlet.Size{Cols: 120, Rows: 40}); err != nil {
		t.Fatal(err)
	}
	scr.WaitFor(t, "now=40 120")
	if st, err := term.Wait(); err != nil || st.Code != 0 {
		t.Fatalf("runlet ended with %+v, %v; screen:\n%s", st, err, scr)
	}
}

func TestOfflineRunUnknownJob(t *testing.T) {
	jobs := writeJobs(t, "a: echo a\nb: echo b\n")
	term, scr := startRunlet(t, "run", "nope", "-f", jobs, "--offline")
	st, err := term.Wait()
	if err != nil {
		t.Fatal(err)
	}
	scr.WaitFor(t, `no job "nope"`)
	scr.WaitFor(t, "a, b")
	if st.Code == 0 {
		t.Fatalf("exit code 0 for an unknown job; screen:\n%s", scr)
	}
}
