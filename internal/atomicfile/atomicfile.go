// Package atomicfile writes a file so that a crash leaves either its old
// content or the new one, never a part, and the new one is on disk when the
// write returns: a temporary file beside the target, fsynced, renamed over
// it, and the directory fsynced. The device's state (execution records, the
// outbox) is written this way.
package atomicfile

import (
	"os"
	"path/filepath"
)

// TempPrefix starts the names of the temporary files Write makes in the
// target's directory; a crash may leave one behind, which a reader of the
// directory skips.
const TempPrefix = ".tmp-"

// Write writes b to path atomically and durably. A new file gets mode 0600.
func Write(path string, b []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, TempPrefix+"*")
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
	return SyncDir(dir)
}

// SyncDir makes a rename or removal in dir durable.
func SyncDir(dir string) error {
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
