package daemon

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/internal/atomicfile"
)

// writeFileSync writes b to path atomically and durably: a temporary file,
// fsynced, renamed over path, and the directory fsynced, so that after a
// crash path holds either the old content or b. A full disk is named as
// such (runlet.EFULL), so that the log says what to free.
func writeFileSync(path string, b []byte) error {
	err := atomicfile.Write(path, b)
	if runlet.IsDiskFull(err) {
		return runlet.DiskFull("the daemon's state in "+filepath.Dir(path), err)
	}
	return err
}

// makeDir creates a state directory only the device's user can read.
func makeDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("daemon: create state directory: %w", err)
	}
	return nil
}
