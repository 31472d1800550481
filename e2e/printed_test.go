package e2e_test

import (
	"slices"
	"testing"

	"github.com/runlet/runlet/internal/termtest"
)

// wantPrinted fails t unless the job printed exactly the values want as
// lines label=VALUE (termtest.Printed), in order: what it read, quoted by
// printf %q, so that a key delivered twice shows.
func wantPrinted(t *testing.T, text, label string, want ...string) {
	t.Helper()
	if got := termtest.Printed(text, label); !slices.Equal(got, want) {
		t.Errorf("the job printed %s=%q, want %q; screen:\n%q", label, got, want, text)
	}
}
