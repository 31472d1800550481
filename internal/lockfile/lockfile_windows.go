package lockfile

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// lockedByte is the one byte LockFileEx locks: far beyond the pid, because
// Windows locks are mandatory and a locked range cannot be read by the
// process that wants to name the holder.
var lockedByte = windows.Overlapped{OffsetHigh: 1} // 4 GiB

// lock takes an exclusive LockFileEx lock without waiting; held reports
// that another handle (of this process or another) has it. Windows drops
// it when the holder's handle closes, which its exit does.
func lock(f *os.File) (held bool, err error) {
	ol := lockedByte
	err = windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ol)
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) {
		return true, nil
	}
	return false, err
}

func unlock(f *os.File) error {
	ol := lockedByte
	return windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, &ol)
}
