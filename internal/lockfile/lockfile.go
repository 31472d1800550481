// Package lockfile keeps two processes from using one directory at once:
// an exclusive lock on a file in it (flock on Unix, LockFileEx on
// Windows), which the operating system gives back when its holder exits or
// dies, and which holds the holder's process id so that the process turned
// away can say who has it.
package lockfile

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Lock is a lock this process holds until Close.
type Lock struct {
	f    *os.File
	path string
}

// HeldError is Acquire's error when another holder has the lock: another
// process, or another Lock of this one.
type HeldError struct {
	// Path is the lock file.
	Path string
	// PID is the holder's process id; 0 when it is not known (the holder
	// had not written it yet).
	PID int
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("%s is locked by %s", e.Path, e.Holder())
}

// Holder names the holder for a sentence: "process 1234", "this process"
// or "another process".
func (e *HeldError) Holder() string {
	switch e.PID {
	case 0:
		return "another process"
	case os.Getpid():
		return "this process"
	}
	return "process " + strconv.Itoa(e.PID)
}

// Acquire takes the lock at path, creating the file (not its directory),
// and writes this process's id in it. When another holder has it, it fails
// at once with a *HeldError; it never waits.
func Acquire(path string) (*Lock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open the lock file: %w", err)
	}
	held, err := lock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if held {
		f.Close()
		return nil, &HeldError{Path: path, PID: holder(path)}
	}
	if err := writePID(f); err != nil {
		unlock(f)
		f.Close()
		return nil, fmt.Errorf("write the process id in %s: %w", path, err)
	}
	return &Lock{f: f, path: path}, nil
}

func writePID(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return err
}

// holder reads the holder's pid. A holder writes it just after it locks:
// an empty file is read again a few times before giving up on it.
func holder(path string) int {
	for range 20 {
		b, err := os.ReadFile(path)
		if err != nil {
			return 0
		}
		if s := strings.TrimSpace(string(b)); s != "" {
			pid, _ := strconv.Atoi(s)
			return pid
		}
		time.Sleep(5 * time.Millisecond)
	}
	return 0
}

// Path is the lock file.
func (l *Lock) Path() string { return l.path }

// Close gives the lock back, first emptying the file so that a stale pid
// never names a process that no longer holds it. Closing twice is fine.
func (l *Lock) Close() error {
	if l == nil || l.f == nil {
		return nil
	}
	f := l.f
	l.f = nil
	err := f.Truncate(0)
	err = errors.Join(err, unlock(f), f.Close())
	if err != nil {
		return fmt.Errorf("release the lock %s: %w", l.path, err)
	}
	return nil
}
