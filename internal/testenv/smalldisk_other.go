//go:build !linux

package testenv

import (
	"errors"
	"testing"
)

// SmallDisk needs Linux's tmpfs: elsewhere the test is skipped, or fails
// when services are required.
func SmallDisk(t testing.TB, size int64) string {
	t.Helper()
	Unavailable(t, "a small disk (tmpfs)", errors.New("only on Linux"))
	return ""
}

// FillDisk is never reached without SmallDisk.
func FillDisk(t testing.TB, dir string, leave uint64) (free func()) {
	t.Helper()
	t.Fatal("FillDisk without SmallDisk")
	return nil
}
