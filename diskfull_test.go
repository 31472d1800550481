package runlet_test

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"testing"

	"github.com/runlet/runlet"
)

// A full disk is recognised from the system's error however deeply it is
// wrapped, and DiskFull's error keeps its code and sentence through more
// wrapping, while its cause stays for the log.
func TestDiskFull(t *testing.T) {
	enospc := fmt.Errorf("write log: %w", &fs.PathError{Op: "write", Path: "/data/x", Err: syscall.ENOSPC})
	for _, c := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("disk full"), false}, // the words alone are not the error
		{syscall.EIO, false},
		{runlet.Errorf(runlet.EINTERNAL, "x"), false},
		{enospc, true},
		{runlet.DiskFull("the database at /data/runlet.db", nil), true},
	} {
		if got := runlet.IsDiskFull(c.err); got != c.want {
			t.Errorf("IsDiskFull(%v) = %v, want %v", c.err, got, c.want)
		}
	}

	err := fmt.Errorf("put jobs: %w", runlet.DiskFull("the database at /data/runlet.db", enospc))
	if code := runlet.ErrorCode(err); code != runlet.EFULL {
		t.Errorf("code %q, want %q", code, runlet.EFULL)
	}
	const want = "The disk is full (the database at /data/runlet.db): free space on it, then try again."
	if msg := runlet.ErrorMessage(err); msg != want {
		t.Errorf("message %q, want %q", msg, want)
	}
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "no space left on device") {
		t.Errorf("the cause is lost: %v", err)
	}
}
