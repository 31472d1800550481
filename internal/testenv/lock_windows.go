package testenv

import "testing"

// lock is a no-op on Windows: the services these tests share run on the
// Linux CI machine, and tests that restart them skip elsewhere.
func lock(t testing.TB, service string, exclusive bool) {}
