// Package disk tells how much space the file system under a path has, for
// the parts of Runlet that must stop writing before it is full (the
// embedded broker's store) or explain an error by it (a database write that
// failed on a full disk).
package disk

import "errors"

// Space is the size of a file system and the part of it still free for
// ordinary users' files (root may have a little more).
type Space struct {
	Free  uint64
	Total uint64
}

// ErrUnsupported is Usage's error on systems where it is not implemented.
var ErrUnsupported = errors.New("disk: free space is not known on this system")

// Usage returns the space of the file system that holds path.
func Usage(path string) (Space, error) { return usage(path) }
