package testenv

import (
	"os"
	"os/exec"
	"strings"
)

// HermeticHome points HOME at a fresh empty directory for the rest of the
// test binary and returns a function that removes it. Jobs run with
// `bash --login`, which reads the user's ~/.profile and ~/.bashrc; on a
// developer's machine those may do anything (this one runs `pyenv init`,
// whose rehash lock, left behind by a killed job, stalls every login shell
// for a minute). Tests must not depend on that. The Go caches keep their
// locations, so builds made later in the test binary stay incremental.
// Call it from TestMain, after anything that needs the real HOME.
func HermeticHome() (cleanup func()) {
	for _, v := range []string{"GOCACHE", "GOPATH", "GOMODCACHE"} {
		if os.Getenv(v) != "" {
			continue
		}
		if out, err := exec.Command("go", "env", v).Output(); err == nil {
			os.Setenv(v, strings.TrimSpace(string(out)))
		}
	}
	dir, err := os.MkdirTemp("", "runlet-test-home-")
	if err != nil {
		return func() {}
	}
	old, had := os.LookupEnv("HOME")
	os.Setenv("HOME", dir)
	return func() {
		if had {
			os.Setenv("HOME", old)
		} else {
			os.Unsetenv("HOME")
		}
		os.RemoveAll(dir)
	}
}
