//go:build !windows

package runner

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A job without a cwd runs in the home directory of the user the runner
// runs as ($HOME), not in the runner's own working directory.
func TestJobWithoutCwdRunsInTheHomeDirectory(t *testing.T) {
	home := resolved(t, t.TempDir())
	t.Setenv("HOME", home)
	t.Chdir(t.TempDir())
	r := newRunner(t, Config{})
	e := enqueue(t, r, Spec{Script: `echo "dir=$(pwd -P)"`})
	waitDone(t, e)
	if out := string(joined(frames(t, e, 1))); !strings.Contains(out, "dir="+home+"\r\n") {
		t.Errorf("output %q, want the job in %s", out, home)
	}

	// Config.DefaultCwd, when given, takes the home's place.
	other := resolved(t, t.TempDir())
	r = newRunner(t, Config{DefaultCwd: other})
	e = enqueue(t, r, Spec{Script: `echo "dir=$(pwd -P)"`})
	waitDone(t, e)
	if out := string(joined(frames(t, e, 1))); !strings.Contains(out, "dir="+other+"\r\n") {
		t.Errorf("output %q, want the job in %s", out, other)
	}
}

// With $HOME unset or naming no directory, a job without a cwd runs in
// the user's home from the user database, and in / when that is missing
// too.
func TestHomeDirFallsBack(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	found := func(p string) func() (string, error) { return func() (string, error) { return p, nil } }
	failed := func() (string, error) { return "", errors.New("no such user") }
	for _, c := range []struct {
		name    string
		env, db func() (string, error)
		want    string
	}{
		{"$HOME", found(dir), failed, dir},
		{"$HOME unset", failed, found(dir), dir},
		{"$HOME missing", found(filepath.Join(dir, "gone")), found(dir), dir},
		{"$HOME a file", found(file), found(dir), dir},
		{"$HOME relative", found("."), found(dir), dir},
		{"both missing", found(filepath.Join(dir, "gone")), found(filepath.Join(dir, "gone")), "/"},
		{"no user either", failed, failed, "/"},
	} {
		if got := homeDir(c.env, c.db, isDir); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}

	// The real thing, with $HOME naming a missing directory.
	t.Setenv("HOME", filepath.Join(dir, "gone"))
	want := "/"
	if u, err := userHome(); err == nil && isDir(u) {
		want = resolved(t, u)
	}
	r := newRunner(t, Config{})
	e := enqueue(t, r, Spec{Script: `echo "dir=$(pwd -P)"`})
	if end := waitDone(t, e); end.Status != "Finished" {
		t.Fatalf("end state %+v, want Finished", end)
	}
	if out := string(joined(frames(t, e, 1))); !strings.Contains(out, "dir="+want+"\r\n") {
		t.Errorf("output %q, want the job in %s", out, want)
	}
}

func resolved(t *testing.T, dir string) string {
	t.Helper()
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	return real
}
