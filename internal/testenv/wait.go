package testenv

import (
	"testing"
	"time"
)

// Interval is how long Eventually pauses between two calls of its
// condition.
const Interval = 20 * time.Millisecond

// Poll calls cond until it returns true or timeout has passed, pausing
// interval between calls (none if interval is not positive), and reports
// whether cond held. cond is called at least once, and never interrupted:
// the deadline is looked at after each call that returned false.
//
// Poll is the one deadline loop of the tests. Use it directly where the
// wait is not a failure (a short wait for the answer to a request the
// caller repeats) or where the failure message must show what the last
// call saw; otherwise use Eventually.
func Poll(timeout, interval time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		if interval > 0 {
			time.Sleep(interval)
		}
	}
	return true
}

// Eventually polls cond every Interval until it returns true, and fails t
// (t.Fatalf, so call it from the test's goroutine) if it has not within
// timeout. what describes the awaited event for the message: "timed out
// after 30s waiting for <what>". cond may itself fail t.
func Eventually(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	EventuallyEvery(t, what, timeout, Interval, cond)
}

// EventuallyEvery is Eventually pausing interval between calls, for
// conditions that cost something to test (they run a command).
func EventuallyEvery(t testing.TB, what string, timeout, interval time.Duration, cond func() bool) {
	t.Helper()
	if !Poll(timeout, interval, cond) {
		t.Fatalf("timed out after %v waiting for %s", timeout, what)
	}
}
