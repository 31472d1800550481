package lockfile_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet/internal/lockfile"
)

// holdEnv makes the test binary a holder: it takes the lock named there,
// says "held", and keeps it until its standard input closes or it is
// killed.
const holdEnv = "RUNLET_LOCKFILE_TEST_HOLD"

func TestMain(m *testing.M) {
	if path := os.Getenv(holdEnv); path != "" {
		l, err := lockfile.Acquire(path)
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("held")
		_, _ = io.Copy(io.Discard, os.Stdin)
		l.Close()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// acquire runs Acquire, failing the test if it waits instead of answering.
func acquire(t *testing.T, path string) (*lockfile.Lock, error) {
	t.Helper()
	type result struct {
		l   *lockfile.Lock
		err error
	}
	done := make(chan result, 1)
	go func() {
		l, err := lockfile.Acquire(path)
		done <- result{l, err}
	}()
	select {
	case r := <-done:
		if r.l != nil {
			t.Cleanup(func() { r.l.Close() })
		}
		return r.l, r.err
	case <-time.After(30 * time.Second):
		t.Fatal("Acquire waited for the lock instead of failing at once")
		return nil, nil
	}
}

// wantHeld checks that err says path is held by pid, in its text too.
func wantHeld(t *testing.T, err error, path string, pid int, holder string) {
	t.Helper()
	var held *lockfile.HeldError
	if !errors.As(err, &held) {
		t.Fatalf("got %v, want a HeldError", err)
	}
	if held.Path != path || held.PID != pid {
		t.Errorf("HeldError{%q, %d}, want {%q, %d}", held.Path, held.PID, path, pid)
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), holder) {
		t.Errorf("the error %q does not name %s and %s", err, path, holder)
	}
}

func TestSecondLockInThisProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	l, err := acquire(t, path)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
		t.Errorf("the lock file holds %q, want this process's id %d", b, os.Getpid())
	}
	_, err = acquire(t, path)
	wantHeld(t, err, path, os.Getpid(), "this process")

	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); len(b) != 0 {
		t.Errorf("a released lock file still holds %q", b)
	}
	if err := l.Close(); err != nil {
		t.Errorf("closing twice: %v", err)
	}
	if _, err := acquire(t, path); err != nil {
		t.Fatalf("after Close the lock is still held: %v", err)
	}
}

func TestNoDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "lock")
	_, err := acquire(t, path)
	var held *lockfile.HeldError
	if err == nil || errors.As(err, &held) || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Errorf("got %v, want a not-exist error naming %s", err, path)
	}
}

// TestOtherProcess: a lock another process holds is refused at once with
// that process's id, and comes free when that process is killed
// (SIGKILL: it never gets to release it).
func TestOtherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), holdEnv+"="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case s := <-line:
		if s != "held" {
			t.Fatalf("the holder said %q", s)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the holder process did not take the lock")
	}

	_, err = acquire(t, path)
	wantHeld(t, err, path, cmd.Process.Pid, "process "+strconv.Itoa(cmd.Process.Pid))

	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	l, err := acquire(t, path)
	if err != nil {
		t.Fatalf("the lock of a killed process is still held: %v", err)
	}
	if b, _ := os.ReadFile(path); strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
		t.Errorf("after taking over, the lock file holds %q, want %d", b, os.Getpid())
	}
	l.Close()
}

func TestHolder(t *testing.T) {
	for _, c := range []struct {
		pid  int
		want string
	}{{0, "another process"}, {os.Getpid(), "this process"}, {os.Getpid() + 1, "process " + strconv.Itoa(os.Getpid()+1)}} {
		e := &lockfile.HeldError{Path: "/d/lock", PID: c.pid}
		if e.Holder() != c.want || e.Error() != "/d/lock is locked by "+c.want {
			t.Errorf("pid %d: Holder %q, Error %q; want %q", c.pid, e.Holder(), e.Error(), c.want)
		}
	}
}
