//go:build !windows

// The jobs of these tests are POSIX shell scripts (trap).

package runner

import (
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
)

// A job that runs past its timeout is stopped (SIGTERM) and ends in Error,
// "timed out after 1s": not Stopped, since nobody asked.
func TestTimeoutStopsTheJob(t *testing.T) {
	r := newRunner(t, Config{StopGrace: time.Hour})
	e := enqueue(t, r, Spec{Script: `echo ready; sleep 600`, Timeout: time.Second})
	s := watch(t, e)
	end := waitDone(t, e)
	if end.Status != runlet.StatusError || end.Signal != "SIGTERM" || end.Reason != "timed out after 1s" || end.Killed {
		t.Errorf("end state %+v, want Error by SIGTERM, \"timed out after 1s\", not killed", end)
	}
	if end.Outcome() != runlet.OutcomeError {
		t.Errorf("outcome %s, want Error", end.Outcome())
	}
	fs := s.all(t)
	if got := string(fs[len(fs)-1].Data); got != "\r\nExited with code: -1 (killed by SIGTERM)\r\nrunlet: timed out after 1s\r\n" {
		t.Errorf("exit frame %q, want the exit line and the timeout", got)
	}
}

// A job that ignores SIGTERM is killed once the grace period after its
// timeout has passed.
func TestTimeoutKillsAJobIgnoringTERM(t *testing.T) {
	r := newRunner(t, Config{StopGrace: 500 * time.Millisecond})
	e := enqueue(t, r, Spec{Script: `trap '' TERM; echo ready; sleep 600`, Timeout: time.Second})
	end := waitDone(t, e)
	if end.Status != runlet.StatusError || end.Signal != "SIGKILL" || end.Reason != "timed out after 1s" || end.Killed {
		t.Errorf("end state %+v, want Error by SIGKILL, \"timed out after 1s\", not killed", end)
	}
}

// A job that leaves by itself when its timeout stops it has still timed
// out: Error, whatever its exit code.
func TestTimeoutOfAJobThatLeavesOnTERM(t *testing.T) {
	r := newRunner(t, Config{StopGrace: time.Hour})
	e := enqueue(t, r, Spec{Script: `trap 'echo cleaning up; exit 0' TERM; echo ready; while :; do sleep 0.1; done`, Timeout: time.Second})
	s := watch(t, e)
	end := waitDone(t, e)
	if end.Status != runlet.StatusError || end.ExitCode != 0 || end.Signal != "" || end.Reason != "timed out after 1s" {
		t.Errorf("end state %+v, want Error with code 0, \"timed out after 1s\"", end)
	}
	s.waitFor(t, "cleaning up")
}

// A job that ends within its timeout is Finished; a stop asked before the
// timeout is a stop.
func TestTimeoutNotReached(t *testing.T) {
	r := newRunner(t, Config{StopGrace: time.Hour})
	quick := enqueue(t, r, Spec{Script: `echo done`, Timeout: time.Hour})
	if end := waitDone(t, quick); end.Status != runlet.StatusFinished || end.Reason != "" {
		t.Errorf("end state %+v, want Finished", end)
	}
	stopped := enqueue(t, r, Spec{Script: `echo ready; sleep 600`, Timeout: time.Hour})
	watch(t, stopped).waitFor(t, "ready")
	if err := stopped.Stop(); err != nil {
		t.Fatal(err)
	}
	if end := waitDone(t, stopped); end.Outcome() != runlet.OutcomeStopped || strings.Contains(end.Reason, "timed out") {
		t.Errorf("end state %+v, want Stopped", end)
	}
}
