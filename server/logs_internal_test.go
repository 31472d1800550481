package server

import (
	"net/http"
	"testing"
)

func TestByteRange(t *testing.T) {
	const etag = `"abc"`
	for _, c := range []struct {
		rng, ifRange       string
		size, off, n       int64
		partial, satisfied bool
	}{
		{"", "", 100, 0, 100, false, true},
		{"bytes=0-9", "", 100, 0, 10, true, true},
		{"bytes=90-", "", 100, 90, 10, true, true},
		{"bytes=90-1000", "", 100, 90, 10, true, true},
		{"bytes=-16", "", 100, 84, 16, true, true},
		{"bytes=-1000", "", 100, 0, 100, true, true},
		{"bytes=100-", "", 100, 0, 0, false, false},
		{"bytes=-0", "", 100, 0, 0, false, false},
		{"bytes=0-", "", 0, 0, 0, false, false},
		{"bytes=5-4", "", 100, 0, 100, false, true},
		{"bytes=0-1,3-4", "", 100, 0, 100, false, true},
		{"bytes=x-", "", 100, 0, 100, false, true},
		{"items=0-1", "", 100, 0, 100, false, true},
		{"bytes=0-9", etag, 100, 0, 10, true, true},
		{"bytes=0-9", `"other"`, 100, 0, 100, false, true},
	} {
		r, _ := http.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Range", c.rng)
		if c.ifRange != "" {
			r.Header.Set("If-Range", c.ifRange)
		}
		off, n, partial, ok := byteRange(r, etag, c.size)
		if off != c.off || n != c.n || partial != c.partial || ok != c.satisfied {
			t.Errorf("Range %q of %d bytes: %d, %d, %v, %v; want %d, %d, %v, %v", c.rng, c.size, off, n, partial, ok, c.off, c.n, c.partial, c.satisfied)
		}
	}
}

// FuzzByteRange: whatever the Range header, the answer is within the
// object, and the whole of it unless a single range was asked.
func FuzzByteRange(f *testing.F) {
	for _, s := range []string{"bytes=0-9", "bytes=-16", "bytes=5-", "bytes=0-1,2-3", "bytes=-", "bytes=9223372036854775807-", "bytes=--1"} {
		f.Add(s, int64(100))
	}
	f.Fuzz(func(t *testing.T, rng string, size int64) {
		if size < 0 {
			size = -(size + 1)
		}
		r, _ := http.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Range", rng)
		off, n, partial, ok := byteRange(r, `"x"`, size)
		switch {
		case !ok:
			if partial {
				t.Fatalf("%q: unsatisfiable and partial", rng)
			}
		case partial:
			if off < 0 || n <= 0 || off+n > size || off+n < off {
				t.Fatalf("%q of %d: bytes %d+%d", rng, size, off, n)
			}
		default:
			if off != 0 || n != size {
				t.Fatalf("%q of %d: whole but %d+%d", rng, size, off, n)
			}
		}
	})
}
