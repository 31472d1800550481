package runner

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
)

// R-JOB-4, R-JOB-5: colour sequences pass byte for byte between the
// command line and the exit line; the script file is gone at the end.
func TestColoursSurviveBetweenCommandAndExitLines(t *testing.T) {
	var st statusLog
	r := newRunner(t, Config{OnStatus: st.add})
	e := enqueue(t, r, Spec{Job: "colours", Script: `printf '\033[1;31mred\033[0m \033[38;5;208morange\033[0m\n'`})
	end := waitDone(t, e)
	fs := frames(t, e, 1)
	checkSeqs(t, fs, 1)

	script := scriptPath(t, fs)
	if want := "λ /bin/bash --login " + script + "\r\n"; string(fs[0].Data) != want {
		t.Errorf("first frame %q, want %q", fs[0].Data, want)
	}
	if !strings.HasPrefix(filepath.Base(script), "runlet_") {
		t.Errorf("script file %s is not named runlet_*", script)
	}
	body := string(joined(fs[1 : len(fs)-1]))
	if want := "\x1b[1;31mred\x1b[0m \x1b[38;5;208morange\x1b[0m\r\n"; body != want {
		t.Errorf("output %q, want %q", body, want)
	}
	if last := string(fs[len(fs)-1].Data); last != "\r\nExited with code: 0\r\n" {
		t.Errorf("last frame %q", last)
	}
	checkRemoved(t, script)

	if end.Status != runlet.StatusFinished || end.ExitCode != 0 || end.Killed || end.Reason != "" {
		t.Errorf("end state %+v", end)
	}
	if end.Started.IsZero() || end.Finished.Before(end.Started) || end.Created.After(end.Started) {
		t.Errorf("times out of order: created %v started %v finished %v", end.Created, end.Started, end.Finished)
	}
	want := []runlet.Status{runlet.StatusPending, runlet.StatusRunning, runlet.StatusFinished}
	if got := st.statuses(e.ID()); !slices.Equal(got, want) {
		t.Errorf("transitions %v, want %v", got, want)
	}
}

// A non-zero exit is the job's answer: Finished with that code.
func TestNonZeroExitIsFinishedWithDuration(t *testing.T) {
	r := newRunner(t, Config{})
	e := enqueue(t, r, Spec{Script: "echo out; exit 3", ShowDuration: true})
	end := waitDone(t, e)
	if end.Status != runlet.StatusFinished || end.ExitCode != 3 || end.Signal != "" {
		t.Errorf("end state %+v, want Finished with code 3", end)
	}
	fs := frames(t, e, 1)
	n := len(fs)
	if got := string(fs[n-2].Data); got != "\r\nExited with code: 3\r\n" {
		t.Errorf("exit frame %q", got)
	}
	if got := string(fs[n-1].Data); !regexp.MustCompile(`^Duration: [0-9.]+(µs|ms|s|m[0-9.]+s)\r\n$`).MatchString(got) {
		t.Errorf("duration frame %q", got)
	}
}

// R-INT-2's prompt, answered through Input.
func TestPromptAnsweredThroughInput(t *testing.T) {
	r := newRunner(t, Config{})
	e := enqueue(t, r, Spec{Script: `read -p "Do you want to continue? [Y/n] " a; echo "answer=$a"`})
	s := watch(t, e)
	s.waitFor(t, "Do you want to continue? [Y/n] ")
	if err := e.Input([]byte("n\r")); err != nil {
		t.Fatal(err)
	}
	s.waitFor(t, "answer=n\r\n")
	if end := waitDone(t, e); end.Status != runlet.StatusFinished || end.ExitCode != 0 {
		t.Errorf("end state %+v", end)
	}
}

// R-JOB-4: Ctrl-C typed into the job reaches it as SIGINT.
func TestCtrlCReachesTheJob(t *testing.T) {
	r := newRunner(t, Config{})
	// Short sleeps: a SIGINT that reaches bash while it forks a long sleep
	// would wait for that sleep to end before the trap runs.
	e := enqueue(t, r, Spec{Script: `trap 'echo got INT; exit 3' INT; echo ready; while :; do sleep 0.1; done`})
	s := watch(t, e)
	s.waitFor(t, "ready")
	if err := e.Input([]byte{0x03}); err != nil {
		t.Fatal(err)
	}
	s.waitFor(t, "got INT")
	if end := waitDone(t, e); end.Status != runlet.StatusFinished || end.ExitCode != 3 || end.Killed {
		t.Errorf("end state %+v, want Finished with code 3", end)
	}
}

// R-JOB-6: a job that ignores SIGTERM ends by SIGKILL after the grace.
func TestStopOfAJobIgnoringTERMEndsInKill(t *testing.T) {
	r := newRunner(t, Config{StopGrace: 500 * time.Millisecond})
	e := enqueue(t, r, Spec{Script: `trap '' TERM; echo ready; sleep 100`})
	s := watch(t, e)
	s.waitFor(t, "ready")
	if err := e.Stop(); err != nil {
		t.Fatal(err)
	}
	end := waitDone(t, e)
	if end.Status != runlet.StatusError || end.Signal != "SIGKILL" || end.ExitCode != -1 || !end.Killed {
		t.Errorf("end state %+v, want Error by SIGKILL, killed", end)
	}
	if !strings.Contains(end.Reason, "stopped") {
		t.Errorf("reason %q does not say it was stopped", end.Reason)
	}
	fs := s.all(t)
	if got := string(fs[len(fs)-1].Data); got != "\r\nExited with code: -1 (killed by SIGKILL)\r\n" {
		t.Errorf("exit frame %q", got)
	}
	checkRemoved(t, scriptPath(t, fs))
}

// Stop of a job that obeys SIGTERM ends it without waiting for the grace.
func TestStopEndsByTERM(t *testing.T) {
	r := newRunner(t, Config{StopGrace: time.Hour})
	e := enqueue(t, r, Spec{Script: `echo ready; sleep 100`})
	watch(t, e).waitFor(t, "ready")
	if err := e.Stop(); err != nil {
		t.Fatal(err)
	}
	if end := waitDone(t, e); end.Status != runlet.StatusError || end.Signal != "SIGTERM" || !end.Killed {
		t.Errorf("end state %+v, want Error by SIGTERM", end)
	}
	if err := e.Stop(); runlet.ErrorCode(err) != runlet.ECONFLICT {
		t.Errorf("Stop after the end: %v, want a conflict", err)
	}
	if err := e.Input([]byte("x")); runlet.ErrorCode(err) != runlet.ECONFLICT {
		t.Errorf("Input after the end: %v, want a conflict", err)
	}
}

// R-JOB-6: kill does not wait for any grace.
func TestKillEndsAJobIgnoringTERM(t *testing.T) {
	r := newRunner(t, Config{StopGrace: time.Hour})
	e := enqueue(t, r, Spec{Script: `trap '' TERM; echo ready; sleep 100`})
	s := watch(t, e)
	s.waitFor(t, "ready")
	if err := e.Kill(); err != nil {
		t.Fatal(err)
	}
	end := waitDone(t, e)
	if end.Status != runlet.StatusError || end.Signal != "SIGKILL" || !end.Killed || !strings.Contains(end.Reason, "killed") {
		t.Errorf("end state %+v, want Error by SIGKILL, killed", end)
	}
	s.waitFor(t, "Exited with code: -1 (killed by SIGKILL)")
}

func TestResizeWhileRunningAndWhilePending(t *testing.T) {
	r := newRunner(t, Config{Parallel: 1})
	first := enqueue(t, r, Spec{Script: `stty size; read -p "ready " x; stty size`, Size: runlet.Size{Cols: 90, Rows: 30}})
	second := enqueue(t, r, Spec{Script: `stty size`})
	if err := second.Resize(runlet.Size{Cols: 132, Rows: 50}); err != nil {
		t.Fatal(err)
	}
	s := watch(t, first)
	s.waitFor(t, "30 90\r\nready ")
	if err := first.Resize(runlet.Size{Cols: 100, Rows: 40}); err != nil {
		t.Fatal(err)
	}
	if err := first.Input([]byte("\r")); err != nil {
		t.Fatal(err)
	}
	s.waitFor(t, "40 100\r\n")
	waitDone(t, first)
	watch(t, second).waitFor(t, "50 132\r\n")
	waitDone(t, second)
	if err := second.Resize(runlet.Size{Cols: 1, Rows: 1}); runlet.ErrorCode(err) != runlet.ECONFLICT {
		t.Errorf("Resize after the end: %v, want a conflict", err)
	}
	if err := first.Resize(runlet.Size{}); runlet.ErrorCode(err) != runlet.EINVALID {
		t.Errorf("Resize to zero: %v, want invalid", err)
	}
}

func TestCwdAndEnvironment(t *testing.T) {
	dir := t.TempDir()
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := newRunner(t, Config{})
	e := enqueue(t, r, Spec{
		ID: "env-1", Job: "where", Client: "cli", Device: "pi-1",
		Script: `echo "dir=$(pwd -P) term=$TERM id=$RUNLET_EXECUTION_ID job=$RUNLET_JOB device=$RUNLET_DEVICE x=$X"`,
		Cwd:    dir,
		Env:    []string{"X=42"},
	})
	waitDone(t, e)
	want := "dir=" + real + " term=xterm-256color id=env-1 job=where device=pi-1 x=42\r\n"
	if out := string(joined(frames(t, e, 1))); !strings.Contains(out, want) {
		t.Errorf("output %q lacks %q", out, want)
	}
}

func TestMissingCwdIsAnError(t *testing.T) {
	r := newRunner(t, Config{})
	missing := filepath.Join(t.TempDir(), "gone")
	e := enqueue(t, r, Spec{Script: "echo never", Cwd: missing})
	end := waitDone(t, e)
	if end.Status != runlet.StatusError || !strings.Contains(end.Reason, missing) || !strings.Contains(end.Reason, "does not exist") {
		t.Errorf("end state %+v, want Error naming the missing directory", end)
	}
	if !end.Started.IsZero() {
		t.Errorf("an execution that never started has a start time %v", end.Started)
	}
	fs := frames(t, e, 1)
	checkRemoved(t, scriptPath(t, fs))
	if out := string(joined(fs)); strings.Contains(out, "never") || !strings.Contains(out, "does not exist") {
		t.Errorf("output %q", out)
	}
}

func TestMissingEntrypointIsAnError(t *testing.T) {
	r := newRunner(t, Config{})
	e := enqueue(t, r, Spec{Script: "true", Entrypoint: []string{"/nonexistent/shell", "-x"}})
	end := waitDone(t, e)
	if end.Status != runlet.StatusError || !strings.Contains(end.Reason, "/nonexistent/shell") {
		t.Errorf("end state %+v", end)
	}
	fs := frames(t, e, 1)
	if got := string(fs[0].Data); !strings.HasPrefix(got, "λ /nonexistent/shell -x ") {
		t.Errorf("first frame %q", got)
	}
	checkRemoved(t, scriptPath(t, fs))
}

func TestCustomEntrypointGetsTheFile(t *testing.T) {
	r := newRunner(t, Config{})
	e := enqueue(t, r, Spec{Script: `echo "args=$0"; exit 5`, Entrypoint: []string{"/bin/sh", "-e"}})
	end := waitDone(t, e)
	fs := frames(t, e, 1)
	script := scriptPath(t, fs)
	if got, want := string(fs[0].Data), "λ /bin/sh -e "+script+"\r\n"; got != want {
		t.Errorf("first frame %q, want %q", got, want)
	}
	if out := string(joined(fs)); !strings.Contains(out, "args="+script+"\r\n") {
		t.Errorf("output %q", out)
	}
	if end.Status != runlet.StatusFinished || end.ExitCode != 5 {
		t.Errorf("end state %+v", end)
	}
}

// The temp script file is private to the runner's user while it runs.
func TestScriptFileIsPrivateAndRemoved(t *testing.T) {
	r := newRunner(t, Config{})
	e := enqueue(t, r, Spec{Script: `stat -c %a "$0"`})
	waitDone(t, e)
	fs := frames(t, e, 1)
	if out := string(joined(fs)); !strings.Contains(out, "\r\n700\r\n") {
		t.Errorf("output %q does not show mode 700", out)
	}
	checkRemoved(t, scriptPath(t, fs))
}

func TestEnqueueChecksTheID(t *testing.T) {
	r := newRunner(t, Config{})
	for _, id := range []string{"../x", "a/b", "..", strings.Repeat("a", 129), "é"} {
		if _, err := r.Enqueue(Spec{ID: id, Script: "true"}); runlet.ErrorCode(err) != runlet.EINVALID {
			t.Errorf("id %q: %v, want invalid", id, err)
		}
	}
	e := enqueue(t, r, Spec{ID: "same", Script: "true"})
	if _, err := r.Enqueue(Spec{ID: "same", Script: "true"}); runlet.ErrorCode(err) != runlet.ECONFLICT {
		t.Errorf("second id same: %v, want conflict", err)
	}
	if r.Get("same") != e || r.Get("other") != nil {
		t.Error("Get does not find what was enqueued")
	}
	waitDone(t, e)
	if err := r.Remove("same"); err != nil {
		t.Fatal(err)
	}
	if r.Get("same") != nil {
		t.Error("removed execution still found")
	}
	if _, err := os.Stat(e.LogPath()); err != nil {
		t.Errorf("log of a removed execution: %v", err)
	}
}

func TestNewChecksTheConfig(t *testing.T) {
	for _, cfg := range []Config{{}, {LogDir: t.TempDir(), Parallel: -1}, {LogDir: t.TempDir(), RingBytes: -1}} {
		if _, err := New(cfg); runlet.ErrorCode(err) != runlet.EINVALID {
			t.Errorf("New(%+v): %v, want invalid", cfg, err)
		}
	}
}

// The line the runner prints shows arguments with spaces quoted.
func TestCommandLine(t *testing.T) {
	got := commandLine([]string{"/bin/zsh", "-l", "a b", "", "it's"})
	if want := `/bin/zsh -l 'a b' '' 'it'\''s'`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestValidID(t *testing.T) {
	for id, want := range map[string]bool{
		"a": true, "Exec-1.log_2": true, strings.Repeat("z", 128): true, "...": true,
		"": false, ".": false, "..": false, strings.Repeat("z", 129): false,
		"a/b": false, "a b": false, "é": false, "a\x00": false, "a:b": false,
	} {
		if got := ValidID(id); got != want {
			t.Errorf("ValidID(%q) = %v, want %v", id, got, want)
		}
	}
}
