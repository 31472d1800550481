package auth

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable time for the limiter's unit tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestLimiter(p limitPolicy) (*loginLimiter, *fakeClock) {
	c := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	return newLoginLimiter(c.Now, p), c
}

// fail makes one failed attempt, which begin must let through.
func fail(t *testing.T, l *loginLimiter, key string) (int, time.Duration) {
	t.Helper()
	if wait := l.begin(key); wait != 0 {
		t.Fatalf("begin(%q) = %v, want 0", key, wait)
	}
	return l.done(key, true)
}

// TestLimitPolicyWait: nothing before the free-th failure, then the base
// wait doubling with each failure, up to the cap, without overflow.
func TestLimitPolicyWait(t *testing.T) {
	for _, tt := range []struct {
		failures int
		want     time.Duration
	}{
		{10, 30 * time.Second},
		{11, time.Minute},
		{12, 2 * time.Minute},
		{13, 4 * time.Minute},
		{14, 8 * time.Minute},
		{15, 15 * time.Minute}, // 16 min, capped
		{16, 15 * time.Minute},
		{1 << 40, 15 * time.Minute},
	} {
		if got := signinPolicy.wait(tt.failures); got != tt.want {
			t.Errorf("wait(%d) = %v, want %v", tt.failures, got, tt.want)
		}
	}
}

// TestLoginLimiterBackoff: ten failures free, the tenth starts a wait that
// begin reports until it elapses; each further failure doubles it up to
// the cap; a success does not reset, reset does.
func TestLoginLimiterBackoff(t *testing.T) {
	l, clock := newTestLimiter(signinPolicy)
	for i := 1; i < 10; i++ {
		if n, wait := fail(t, l, "ann"); n != i || wait != 0 {
			t.Fatalf("failure %d: (%d, %v), want (%d, 0)", i, n, wait, i)
		}
	}
	if n, wait := fail(t, l, "ann"); n != 10 || wait != 30*time.Second {
		t.Fatalf("10th failure: (%d, %v), want (10, 30s)", n, wait)
	}
	if wait := l.begin("ann"); wait != 30*time.Second {
		t.Fatalf("begin while locked = %v, want 30s", wait)
	}
	if wait := l.begin("bob"); wait != 0 {
		t.Fatalf("another key waits %v", wait)
	}
	l.done("bob", false)
	clock.Advance(29 * time.Second)
	if wait := l.begin("ann"); wait != time.Second {
		t.Fatalf("begin 29 s later = %v, want 1s", wait)
	}
	want := 30 * time.Second
	for i := 11; i <= 17; i++ {
		clock.Advance(want)
		want = min(2*want, 15*time.Minute)
		if n, wait := fail(t, l, "ann"); n != i || wait != want {
			t.Fatalf("failure %d: (%d, %v), want (%d, %v)", i, n, wait, i, want)
		}
	}
	clock.Advance(want)
	if wait := l.begin("ann"); wait != 0 {
		t.Fatalf("begin after the wait = %v", wait)
	}
	if n, wait := l.done("ann", false); n != 17 || wait != 0 {
		t.Fatalf("a success: (%d, %v), want the failures kept, no wait", n, wait)
	}
	l.reset("ann")
	if n, _ := fail(t, l, "ann"); n != 1 {
		t.Fatalf("after reset, failures = %d, want 1", n)
	}
}

// TestLoginLimiterForgets: a key with no failure for an hour starts
// afresh, and a key with nothing to remember takes no memory.
func TestLoginLimiterForgets(t *testing.T) {
	l, clock := newTestLimiter(signinPolicy)
	for range 12 {
		fail(t, l, "ann")
		clock.Advance(15 * time.Minute)
	}
	fail(t, l, "bob")
	l.begin("carl")
	l.done("carl", false)
	if n := l.len(); n != 2 {
		t.Fatalf("remembers %d keys, want 2 (a success leaves nothing)", n)
	}
	clock.Advance(time.Hour)
	if wait := l.begin("dora"); wait != 0 {
		t.Fatal(wait)
	}
	if n := l.len(); n != 1 {
		t.Fatalf("an hour later, remembers %d keys, want only the one in flight", n)
	}
	l.done("dora", false)
	if n, _ := fail(t, l, "ann"); n != 1 {
		t.Fatalf("ann after an hour: %d failures, want 1", n)
	}
}

// TestLoginLimiterBounded: a flood of distinct keys keeps at most size,
// and evicts keys below the limit before a locked one, so that the flood
// cannot wipe out a lockout.
func TestLoginLimiterBounded(t *testing.T) {
	p := signinPolicy
	p.size = 100
	l, _ := newTestLimiter(p)
	for range p.free {
		fail(t, l, "victim")
	}
	for i := range 10_000 {
		fail(t, l, fmt.Sprintf("flood-%d", i))
		if n := l.len(); n > p.size {
			t.Fatalf("after %d keys, remembers %d, more than %d", i+1, n, p.size)
		}
	}
	if wait := l.begin("victim"); wait == 0 {
		t.Fatal("the flood evicted the locked key")
	}
	// Locked keys too are bounded.
	for i := range 200 {
		for range p.free {
			fail(t, l, fmt.Sprintf("locked-%d", i))
		}
	}
	if n := l.len(); n > p.size {
		t.Fatalf("remembers %d keys, more than %d", n, p.size)
	}
}

// TestLoginLimiterConcurrent: of attempts begun at once, only as many as
// the free failures get through; the rest wait, so parallel guesses gain
// nothing. Run with -race.
func TestLoginLimiterConcurrent(t *testing.T) {
	l, _ := newTestLimiter(signinPolicy)
	const n = 64
	var (
		wg, begun sync.WaitGroup
		mu        sync.Mutex
		allowed   int
		release   = make(chan struct{})
	)
	for i := range n {
		wg.Add(1)
		begun.Add(1)
		go func() {
			defer wg.Done()
			ok := l.begin("ann") == 0
			if ok {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
			begun.Done()
			if !ok {
				return
			}
			<-release
			l.done("ann", true)
			// Other keys at the same time, for the race detector.
			key := fmt.Sprintf("k-%d", i%8)
			if l.begin(key) == 0 {
				l.done(key, i%2 == 0)
			}
			l.reset(key)
		}()
	}
	begun.Wait() // every attempt has begun, none has ended
	if allowed != signinPolicy.free {
		t.Errorf("%d attempts got through at once, want %d", allowed, signinPolicy.free)
	}
	close(release)
	wg.Wait()
	if wait := l.begin("ann"); wait != 30*time.Second {
		t.Fatalf("after the concurrent failures, begin = %v, want 30s", wait)
	}
}
