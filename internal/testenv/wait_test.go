package testenv

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestPoll(t *testing.T) {
	n := 0
	if !Poll(time.Minute, time.Millisecond, func() bool { n++; return n == 3 }) || n != 3 {
		t.Errorf("Poll of a condition true at the third call: %d calls", n)
	}
	n = 0
	start := time.Now()
	if Poll(50*time.Millisecond, 10*time.Millisecond, func() bool { n++; return false }) {
		t.Error("Poll of a condition never true reported true")
	}
	if d := time.Since(start); d < 50*time.Millisecond || n < 2 {
		t.Errorf("Poll gave up after %v and %d calls, before its timeout", d, n)
	}
	n = 0
	if Poll(0, 0, func() bool { n++; return false }) || n != 1 {
		t.Errorf("Poll with no time: %d calls, want 1", n)
	}
}

func TestEventually(t *testing.T) {
	n := 0
	Eventually(t, "the third call", time.Minute, func() bool { n++; return n == 3 })
	if n != 3 {
		t.Errorf("%d calls", n)
	}
}

func TestBuffer(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 100 {
				fmt.Fprintf(&b, "%d", i)
				_ = b.String()
			}
		})
	}
	wg.Wait()
	if b.Len() != 800 || len(b.String()) != 800 {
		t.Errorf("Len %d, String of %d bytes; want 800", b.Len(), len(b.String()))
	}
}
