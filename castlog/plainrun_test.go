package castlog

import (
	"math/rand/v2"
	"testing"
)

// slowPlainRun is plainRun one byte at a time: what plainRun must equal.
func slowPlainRun(s []byte) int {
	i := 0
	for i < len(s) && plain[s[i]] {
		i++
	}
	return i
}

// TestPlainRun: every byte value at every position of a word, and random
// mixes, give the run the byte-at-a-time scan gives.
func TestPlainRun(t *testing.T) {
	for c := range 256 {
		for pos := range 20 {
			s := []byte("abcdefghijklmnopqrstuvwxyz0123")
			s[pos] = byte(c)
			if got, want := plainRun(s), slowPlainRun(s); got != want {
				t.Fatalf("byte %#x at %d: plainRun = %d, want %d", c, pos, got, want)
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		s := make([]byte, r.IntN(40))
		for i := range s {
			s[i] = byte(0x20 + r.IntN(0x60))
			if r.IntN(30) == 0 {
				s[i] = byte(r.IntN(256))
			}
		}
		if got, want := plainRun(s), slowPlainRun(s); got != want {
			t.Fatalf("%q: plainRun = %d, want %d", s, got, want)
		}
	}
}

func FuzzPlainRun(f *testing.F) {
	f.Add([]byte("plain text \x1b[31mred\x1b[0m \"quoted\" back\\slash é"))
	f.Fuzz(func(t *testing.T, s []byte) {
		if got, want := plainRun(s), slowPlainRun(s); got != want {
			t.Fatalf("%q: plainRun = %d, want %d", s, got, want)
		}
	})
}
