package blob

import (
	"strings"

	"github.com/runlet/runlet"
)

// MaxKey bounds a key's length (S3 allows 1024 bytes), and MaxElement
// the length of each of its elements (a file name: systems allow 255
// bytes, and a directory store adds a suffix).
const (
	MaxKey     = 512
	MaxElement = 200
)

// CheckKey reports, with EINVALID, a key that is not a slash-separated
// path of [A-Za-z0-9._-] elements (none empty, "." or "..", each at most
// MaxElement bytes), at most MaxKey bytes: such keys name the same object on every adapter and can
// never leave a directory store's root.
func CheckKey(key string) error {
	if key == "" || len(key) > MaxKey {
		return runlet.Errorf(runlet.EINVALID, "object key %q: want 1 to %d bytes", key, MaxKey)
	}
	for _, el := range strings.Split(key, "/") {
		if el == "" || el == "." || el == ".." {
			return runlet.Errorf(runlet.EINVALID, "object key %q: an element is empty, '.' or '..'", key)
		}
		if len(el) > MaxElement {
			return runlet.Errorf(runlet.EINVALID, "object key %q: an element is longer than %d bytes", key, MaxElement)
		}
		for _, c := range el {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
				return runlet.Errorf(runlet.EINVALID, "object key %q: %q is not allowed (letters, digits, '.', '_', '-' and '/')", key, c)
			}
		}
	}
	return nil
}
