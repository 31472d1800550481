package testenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/runlet/runlet/internal/disk"
)

// SmallDisk mounts a tmpfs of size bytes on a new temporary directory and
// returns the directory: a disk a test can fill (see FillDisk). It is
// unmounted when the test ends, whatever happens, after the cleanups
// registered later (a server using it stops first). Mounting needs root:
// without it the test is skipped, or fails when services are required.
func SmallDisk(t testing.TB, size int64) string {
	t.Helper()
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, fmt.Sprintf("size=%d,mode=0700", size)); err != nil {
		Unavailable(t, "a small disk (mount -t tmpfs, which needs root)", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, 0); err != nil {
			// Something still has a file open there: detach it anyway,
			// so that no mount outlives the test.
			t.Logf("unmount %s: %v; detaching it", dir, err)
			if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
				t.Errorf("unmount %s: %v", dir, err)
			}
		}
	})
	return dir
}

// FillDisk writes a file in dir until the disk under it has about leave
// bytes free (within 64 KiB, as others write too), and returns a function
// that removes the file; the test's end removes it too.
func FillDisk(t testing.TB, dir string, leave uint64) (free func()) {
	t.Helper()
	f, err := os.CreateTemp(dir, "filler-")
	if err != nil {
		t.Fatalf("fill the disk: %v", err)
	}
	path := f.Name()
	free = func() {
		f.Close()
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Errorf("free the disk: %v", err)
		}
	}
	t.Cleanup(free)
	var size int64
	for range 20 {
		sp, err := disk.Usage(dir)
		if err != nil {
			t.Fatalf("fill the disk: %v", err)
		}
		if sp.Free <= leave+64<<10 {
			return free
		}
		grow := int64(sp.Free - leave)
		for grow > 0 {
			err = unix.Fallocate(int(f.Fd()), 0, size, grow)
			if err == nil {
				size += grow
				break
			}
			if !errors.Is(err, unix.ENOSPC) {
				t.Fatalf("fill the disk: fallocate %s: %v", filepath.Base(path), err)
			}
			grow /= 2 // someone else wrote meanwhile
		}
	}
	t.Fatalf("fill the disk: %s keeps more than %d bytes free", dir, leave)
	return free
}
