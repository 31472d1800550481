package cli_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runlet/runlet/cli"
)

func writeJobs(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "jobs.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func runMain(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	m := &cli.Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
	code = m.Run(context.Background(), append([]string{"--home", t.TempDir()}, args...))
	return code, out.String(), errb.String()
}

func TestConfigCheckListsJobs(t *testing.T) {
	jobs := writeJobs(t, `
rpi-htop:
  script: htop
  description: htop
  showDuration: true
  where: custom
  whereCustom:
    - pi-3
nightly:
  script: echo hi
  every: every day at 08:00
short: ls -lah
`)
	code, out, errs := runMain(t, "@config", "check", "-f", jobs)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errs)
	}
	for _, want := range []string{"rpi-htop", "custom: pi-3", "nightly", "every day at 08:00", "short", "3 job(s) OK"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestConfigCheckReportsEveryError(t *testing.T) {
	jobs := writeJobs(t, "ok: echo ok\nbad name!: x\nj:\n  where: custom\n  scrpt: 1\n")
	code, _, errs := runMain(t, "config", "check", "-f", jobs)
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", code, errs)
	}
	for _, want := range []string{
		jobs + ":2:", `"bad name!"`,
		jobs + ":4:", `field "where"`,
		jobs + ":5:", `field "scrpt"`, `did you mean "script"`,
		"error(s)",
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("errors lack %q:\n%s", want, errs)
		}
	}
}

func TestConfigCheckNeedsFile(t *testing.T) {
	code, _, errs := runMain(t, "@config", "check")
	if code == 0 || !strings.Contains(errs, "file") {
		t.Fatalf("exit %d, stderr %q: want a failure naming the missing file flag", code, errs)
	}
	code, _, errs = runMain(t, "@config", "check", "-f", "/does/not/exist.yaml")
	if code == 0 || !strings.Contains(errs, "/does/not/exist.yaml") {
		t.Fatalf("exit %d, stderr %q: want a failure naming the file", code, errs)
	}
}

func TestRunWithoutOfflineExplains(t *testing.T) {
	code, _, errs := runMain(t, "@run", "x")
	if code == 0 || !strings.Contains(errs, "--offline") {
		t.Fatalf("exit %d, stderr %q: want advice to use --offline", code, errs)
	}
}

func TestHelpEverywhere(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"@run", "--help"}, {"run", "--help"}, {"@config", "--help"}, {"config", "check", "--help"}} {
		code, out, errs := runMain(t, args...)
		if code != 0 || !strings.Contains(out, "Usage:") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errs)
		}
	}
}
