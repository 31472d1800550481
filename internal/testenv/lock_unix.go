//go:build !windows

package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// lock takes a cross-process flock on a file named for service, shared or
// exclusive, until the test ends.
func lock(t testing.TB, service string, exclusive bool) {
	t.Helper()
	release, err := Lock(service, exclusive)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
}

// Lock takes the lock tests take on service ("rabbitmq"), shared or
// exclusive, for a program that is not a test (a benchmark that must not
// see the broker restarted under it); release gives it back.
func Lock(service string, exclusive bool) (release func(), err error) {
	path := filepath.Join(os.TempDir(), "runlet-test-"+service+".lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
