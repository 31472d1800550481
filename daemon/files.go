package daemon

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/runlet/runlet"
)

// writeFileSync writes b to path atomically and durably: a temporary file,
// fsynced, renamed over path, and the directory fsynced, so that after a
// crash path holds either the old content or b. A full disk is named as
// such (runlet.EFULL), so that the log says what to free.
func writeFileSync(path string, b []byte) error {
	err := writeAtomic(path, b)
	if runlet.IsDiskFull(err) {
		return runlet.DiskFull("the daemon's state in "+filepath.Dir(path), err)
	}
	return err
}

func writeAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir makes a rename or removal in dir durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	// Some systems (Windows) cannot sync a directory; the rename is then
	// as durable as the system makes it.
	_ = f.Sync()
	return nil
}

// makeDir creates a state directory only the device's user can read.
func makeDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("daemon: create state directory: %w", err)
	}
	return nil
}
