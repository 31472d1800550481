package runner

import (
	"bytes"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/internal/termtest"
	"github.com/runlet/runlet/internal/testenv"
)

// waitStatus waits until OnStatus has reported want for e.
func waitStatus(t *testing.T, st *statusLog, e *Execution, want runlet.Status) {
	t.Helper()
	testenv.Eventually(t, "status "+string(want)+" of "+e.ID(), patience, func() bool {
		for _, s := range st.statuses(e.ID()) {
			if s == want {
				return true
			}
		}
		return false
	})
}

// Keys typed while the execution waits in the queue reach the job once it
// starts, in order: those given with the Spec, then those of Input, then
// what is typed once it runs. The job prints exactly what it read.
func TestInputTypedAheadReachesTheJobInOrder(t *testing.T) {
	var st statusLog
	r := newRunner(t, Config{Parallel: 1, OnStatus: st.add})
	blocker := enqueue(t, r, Spec{Entrypoint: plainShell, Script: `read -p "hold " x`})
	queued := enqueue(t, r, Spec{
		Entrypoint: plainShell,
		Script:     `read -r a; read -r b; read -r c; printf 'got=%q,%q,%q\n' "$a" "$b" "$c"`,
		Input:      []byte("one\n"),
	})
	if err := queued.Input([]byte("two 2\n")); err != nil {
		t.Fatalf("Input while pending: %v, want it kept for the start", err)
	}
	watch(t, blocker).waitFor(t, "hold ")
	if err := blocker.Input([]byte("\r")); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, &st, queued, runlet.StatusRunning)
	if err := queued.Input([]byte("three\n")); err != nil {
		t.Fatal(err)
	}
	out := watch(t, queued).waitFor(t, "Exited with code")
	if end := waitDone(t, queued); end.Status != runlet.StatusFinished || end.ExitCode != 0 {
		t.Errorf("end state %+v", end)
	}
	wantPrinted(t, out, "got", `one,two\ 2,three`)
}

// wantPrinted fails t unless the job printed exactly the values want as
// lines label=VALUE (termtest.Printed): what it read, quoted by printf %q.
func wantPrinted(t *testing.T, text, label string, want ...string) {
	t.Helper()
	if got := termtest.Printed(text, label); !slices.Equal(got, want) {
		t.Errorf("the job printed %s=%q, want %q; output:\n%q", label, got, want, text)
	}
}

// The input kept before the start is bounded: past MaxTypeAhead it is
// dropped, with one warning, and so is what follows until the start; once
// the job runs, input flows again.
func TestInputTypedAheadIsBounded(t *testing.T) {
	var st statusLog
	var log testenv.Buffer
	r := newRunner(t, Config{Parallel: 1, OnStatus: st.add, Logger: slog.New(slog.NewTextHandler(&log, nil))})
	blocker := enqueue(t, r, Spec{Entrypoint: plainShell, Script: `read -p "hold " x`})
	queued := enqueue(t, r, Spec{
		Entrypoint: plainShell,
		Script:     `read -r a; printf 'first=%q\n' "$a"; read -r b; printf 'then=%q\n' "$b"`,
	})
	if err := queued.Input([]byte("kept\n")); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("x"), MaxTypeAhead)
	for i, p := range [][]byte{big, []byte("dropped\n")} {
		err := queued.Input(p)
		if runlet.ErrorCode(err) != runlet.ECONFLICT || !strings.Contains(err.Error(), "dropped until it starts") {
			t.Errorf("Input %d past the bound: %v, want a conflict saying input is dropped until the start", i+1, err)
		}
	}
	if n := strings.Count(log.String(), "dropping input until it starts"); n != 1 {
		t.Errorf("the warning was logged %d times, want once:\n%s", n, log.String())
	}
	watch(t, blocker).waitFor(t, "hold ")
	if err := blocker.Input([]byte("\r")); err != nil {
		t.Fatal(err)
	}
	s := watch(t, queued)
	s.waitFor(t, "first=")
	if err := queued.Input([]byte("live\n")); err != nil {
		t.Fatalf("Input once running: %v", err)
	}
	waitDone(t, queued)
	out := s.waitFor(t, "Exited with code")
	wantPrinted(t, out, "first", "kept")
	wantPrinted(t, out, "then", "live") // nothing dropped comes later
}

// A Spec may not carry more input than the execution would keep.
func TestSpecInputPastTheBound(t *testing.T) {
	r := newRunner(t, Config{})
	_, err := r.Enqueue(Spec{Script: "true", Input: make([]byte, MaxTypeAhead+1)})
	if runlet.ErrorCode(err) != runlet.EINVALID {
		t.Errorf("Enqueue with %d bytes of input: %v, want invalid", MaxTypeAhead+1, err)
	}
}

// A job that never reads the input typed ahead still ends when killed,
// however much of it the terminal took: writing it does not hold up the run.
func TestInputTypedAheadThatTheJobNeverReads(t *testing.T) {
	r := newRunner(t, Config{StopGrace: 100 * time.Millisecond})
	e := enqueue(t, r, Spec{
		Entrypoint: plainShell,
		Script:     `stty -icanon -echo; echo ready; sleep 100`,
		Input:      bytes.Repeat([]byte("y"), MaxTypeAhead),
	})
	watch(t, e).waitFor(t, "ready")
	if err := e.Kill(); err != nil {
		t.Fatal(err)
	}
	if end := waitDone(t, e); end.Status != runlet.StatusError || end.Signal != "SIGKILL" {
		t.Errorf("end state %+v, want Error by SIGKILL", end)
	}
}
