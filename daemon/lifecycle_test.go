//go:build !windows

package daemon_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/wire"
)

// A dispatch's timeout stops the run (SIGTERM), and kills it after the
// grace when it ignores the stop; it ends in Error, "timed out after 1s".
func TestTimeoutOfADispatch(t *testing.T) {
	_, s, _ := setup(t) // StopGrace: 1s
	limit := func(d *wire.Dispatch, _ *bus.Message) { d.Timeout = time.Second }
	for script, signal := range map[string]string{
		"echo ready; sleep 600":               "SIGTERM",
		"trap '' TERM; echo ready; sleep 600": "SIGKILL",
	} {
		id := s.dispatch(device, script, limit)
		st := s.waitStatus(id, runlet.StatusError)
		if st.Reason != "timed out after 1s" || st.Signal != signal || st.Killed || st.Execution.Outcome() != runlet.OutcomeError {
			t.Errorf("%q: %+v, want Error by %s, \"timed out after 1s\", not killed", script, st.Execution, signal)
		}
	}
}

// A job without a cwd runs in the home directory of the user the daemon
// runs as, not in the directory the daemon was started from.
func TestJobWithoutCwdRunsInTheUsersHome(t *testing.T) {
	t.Chdir(t.TempDir())
	home, err := os.UserHomeDir()
	if err != nil {
		t.Fatal(err)
	}
	if home, err = filepath.EvalSymlinks(home); err != nil {
		t.Fatal(err)
	}
	_, s, _ := setup(t)
	id := testenv.RandomName("cwd")
	out := s.watch(bus.OutputKey(id, device))
	s.dispatch(device, `echo "in=$(pwd -P)."`, func(d *wire.Dispatch, _ *bus.Message) { d.Execution = id })
	s.waitStatus(id, runlet.StatusFinished)
	out.waitText("in=" + home + ".")
}
