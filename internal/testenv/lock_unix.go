//go:build !windows

package testenv

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// lock takes a cross-process flock on a file named for service, shared or
// exclusive, until the test ends.
func lock(t testing.TB, service string, exclusive bool) {
	t.Helper()
	path := filepath.Join(os.TempDir(), "runlet-test-"+service+".lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatalf("open lock %s: %v", path, err)
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		t.Fatalf("lock %s: %v", path, err)
	}
	t.Cleanup(func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	})
}
