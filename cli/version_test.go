package cli_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestVersion: `runlet --version` says the build's version. A go build
// from this git checkout that records the VCS state (the default,
// -buildvcs=auto; this machine's GOFLAGS turn it off, so the test asks for
// it) gets the commit's version without any flag; a release's -X value
// wins.
func TestVersion(t *testing.T) {
	rev, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("no git checkout to stamp a version from: %v", err)
	}
	for _, c := range []struct {
		what  string
		flags []string
		want  func(string) bool
		say   string
	}{
		{"go build -buildvcs=true", []string{"-buildvcs=true"},
			func(v string) bool { return strings.Contains(v, string(rev[:12])) && v != "dev" },
			"a version naming commit " + string(rev[:12])},
		{"go build -ldflags -X", []string{"-ldflags", "-X github.com/runlet/runlet/cli.Version=v9.8.7-test"},
			func(v string) bool { return v == "v9.8.7-test" }, "v9.8.7-test"},
	} {
		bin := filepath.Join(t.TempDir(), "runlet")
		build := exec.Command("go", append(append([]string{"build", "-o", bin}, c.flags...), "github.com/runlet/runlet/cmd/runlet")...)
		if b, err := build.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", c.what, err, b)
		}
		out, err := exec.Command(bin, "--version").Output()
		v, ok := strings.CutPrefix(strings.TrimSpace(string(out)), "runlet version ")
		if err != nil || !ok || !c.want(v) {
			t.Errorf("runlet --version of %s printed %q (%v), want runlet version and %s", c.what, out, err, c.say)
		}
	}
}
