//go:build !windows

package e2e_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runlet/runlet/internal/testenv"
)

// proc is a long-running runlet process (server or daemon). Its output is
// kept and shown in the test log if the test fails.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *testenv.Buffer
	done chan struct{}
	err  error // how it ended, once done is closed
}

// startProc starts runlet with args; t.Cleanup ends it (SIGTERM, then
// SIGKILL) and logs its output when the test failed.
func startProc(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, out: &testenv.Buffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(runletBinary, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.Env = append(os.Environ(), "RUNLET_ADMIN_PASSWORD=correct horse battery")
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("--- output of %s (%v):\n%s", name, p.err, p.out.String())
		}
	})
	return p
}

// running reports whether the process has not ended yet.
func (p *proc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// stop asks the process to end and kills it if it does not within 10 s.
func (p *proc) stop() {
	if !p.running() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.kill9()
	}
}

// kill9 ends the process with SIGKILL and waits until it is gone.
func (p *proc) kill9() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// result is how a short runlet command ended.
type result struct {
	code           int
	stdout, stderr string
}

// runCmd runs a short, non-interactive runlet command as the device whose
// home is given, with a deadline.
func runCmd(t *testing.T, home string, args ...string) result {
	t.Helper()
	return runPiped(t, home, "", args...)
}

// runPiped is runCmd with stdin piped to the command ("": none).
func runPiped(t *testing.T, home, stdin string, args ...string) result {
	t.Helper()
	return runWith(t, home, stdin, nil, args...)
}

// runWith is runPiped with variables (KEY=VALUE) added to the command's
// environment.
func runWith(t *testing.T, home, stdin string, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, runletBinary, append([]string{"--home", home}, args...)...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("runlet %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// mustRun is runCmd that fails the test unless the command succeeds.
func mustRun(t *testing.T, home string, args ...string) string {
	t.Helper()
	r := runCmd(t, home, args...)
	if r.code != 0 {
		t.Fatalf("runlet %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// pace is how often these tests poll a condition (testenv.EventuallyEvery,
// testenv.Poll): most conditions run a runlet command.
const pace = 200 * time.Millisecond
