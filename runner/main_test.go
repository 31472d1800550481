package runner

import (
	"os"
	"testing"

	"github.com/runlet/runlet/internal/testenv"
)

// TestMain gives the jobs these tests run an empty HOME, so that no
// developer's login profile runs inside them (see testenv.HermeticHome).
func TestMain(m *testing.M) {
	restore := testenv.HermeticHome()
	code := m.Run()
	restore()
	os.Exit(code)
}
