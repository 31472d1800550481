//go:build !windows

package e2e_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/runlet/runlet/internal/testenv"
)

// runletBinary is built once by TestMain; every process of a test runs it.
var runletBinary string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "runlet-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	runletBinary = filepath.Join(dir, "runlet")
	out, err := exec.Command("go", "build", "-o", runletBinary, "github.com/runlet/runlet/cmd/runlet").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build runlet: %v\n%s", err, out)
		return 1
	}
	defer testenv.HermeticHome()()
	return m.Run()
}
