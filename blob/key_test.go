package blob_test

import (
	"strings"
	"testing"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/blob"
)

func TestCheckKey(t *testing.T) {
	for _, key := range []string{"a", "ws/w1/logs/e-1/dev_2.rcast", ".hidden/x", "a..b", "...", strings.Repeat("k", blob.MaxElement)} {
		if err := blob.CheckKey(key); err != nil {
			t.Errorf("CheckKey(%q) = %v, want nil", key, err)
		}
	}
	for _, key := range []string{"", "/", "/a", "a/", "a//b", ".", "..", "a/./b", "a/../b", "../x", `a\b`, "a b", "a~", "a:b", "ä", "a\x00", strings.Repeat("k", blob.MaxElement+1), strings.Repeat("k/", blob.MaxKey/2) + "k"} {
		if err := blob.CheckKey(key); runlet.ErrorCode(err) != runlet.EINVALID {
			t.Errorf("CheckKey(%q) = %v, want EINVALID", key, err)
		}
	}
}

// FuzzCheckKey: no input panics, and an accepted key is a clean relative
// path (no "..", ".", empty element, backslash, or a byte outside the
// alphabet) within the bounds.
func FuzzCheckKey(f *testing.F) {
	for _, s := range []string{"ws/w/logs/e/d.rcast", "../etc/passwd", `a\..\b`, "a//b", "a/./b", "..", ".", "", "/abs", "ok/", "é", "a\x00b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if blob.CheckKey(key) != nil {
			return
		}
		if len(key) == 0 || len(key) > blob.MaxKey || strings.ContainsAny(key, "\\\x00:~ ") {
			t.Fatalf("accepted %q", key)
		}
		for _, el := range strings.Split(key, "/") {
			if el == "" || el == "." || el == ".." || len(el) > blob.MaxElement {
				t.Fatalf("accepted %q with element %q", key, el)
			}
		}
		for _, c := range []byte(key) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == '/') {
				t.Fatalf("accepted %q with byte %q", key, c)
			}
		}
	})
}
