package dispatch

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/runlet/runlet/jobspec"
)

func TestShellLine(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		want string
	}{
		{[]string{"uname", "-a"}, "uname -a"},
		{[]string{"echo", "hi there"}, "echo 'hi there'"},
		{[]string{"echo", ""}, "echo ''"},
		{[]string{"echo", "it's"}, `echo 'it'\''s'`},
		{[]string{"echo", "$HOME", "`id`", "a;b", "a|b", "*", "~", "#x"}, "echo '$HOME' '`id`' 'a;b' 'a|b' '*' '~' '#x'"},
		{[]string{"ls", "--color=never", "a,b", "100%", "user@host:/x"}, "ls --color=never a,b 100% user@host:/x"},
		{[]string{"FOO=bar", "env"}, "'FOO=bar' env"},
		{[]string{"echo", "día"}, "echo 'día'"},
	} {
		if got := shellLine(tc.argv); got != tc.want {
			t.Errorf("shellLine(%q) = %s, want %s", tc.argv, got, tc.want)
		}
	}
}

func TestCmdLine(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		want string
		err  string
	}{
		{[]string{"ipconfig", "/all"}, "ipconfig /all", ""},
		{[]string{"dir", `C:\Program Files\`}, `dir "C:\Program Files\\"`, ""},
		{[]string{"echo", "a&b", "x|y", "%PATH%", "^"}, `echo "a&b" "x|y" "%%PATH%%" "^"`, ""},
		{[]string{"echo", ""}, `echo ""`, ""},
		{[]string{"echo", "a,b;c=d"}, `echo "a,b;c=d"`, ""},
		{[]string{"echo", `say "hi"`}, "", "word 2 holds a double quote"},
		{[]string{"echo", "a\nb"}, "", "line break"},
	} {
		got, err := cmdLine(tc.argv)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("cmdLine(%q) = %s, %v; want an error saying %q", tc.argv, got, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("cmdLine(%q) = %s, %v; want %s", tc.argv, got, err, tc.want)
		}
	}
}

// TestCommandScriptRunsInRealShells: what a device runs gives the program
// each word as it was typed, through bash as the runner starts it and
// through a plain sh, exit code included.
func TestCommandScriptRunsInRealShells(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("POSIX shells")
	}
	argv := []string{"printf", `[%s]\n`, "hi there", "it's", "$HOME", "`id`", "a;b", "*", "~", "", "#x", "día", `back\slash`, "tab\there", "new\nline", "FOO=bar"}
	want := "[hi there]\n[it's]\n[$HOME]\n[`id`]\n[a;b]\n[*]\n[~]\n[]\n[#x]\n[día]\n[back\\slash]\n[tab\there]\n[new\nline]\n[FOO=bar]\n"
	script, err := commandScript(argv, "linux")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(path, []byte(script+"exit 3\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, sh := range [][]string{{"/bin/bash", "--login"}, {"/bin/sh"}} {
		if _, err := os.Stat(sh[0]); err != nil {
			t.Logf("no %s: %v", sh[0], err)
			continue
		}
		cmd := exec.Command(sh[0], append(sh[1:], path)...)
		cmd.Dir = t.TempDir() // where * matches nothing, were it expanded
		out, err := cmd.Output()
		if string(out) != want {
			t.Errorf("%s printed\n%s\nwant\n%s", sh[0], out, want)
		}
		if x, ok := err.(*exec.ExitError); !ok || x.ExitCode() != 3 {
			t.Errorf("%s ended with %v, want exit 3", sh[0], err)
		}
	}
}

func TestCommandName(t *testing.T) {
	if got := commandName([]string{"uname", "-a"}); got != "$ uname -a" {
		t.Errorf("commandName = %q", got)
	}
	long := commandName([]string{"echo", strings.Repeat("é", 300)})
	if r := []rune(long); len(r) != maxCommandName || r[len(r)-1] != '…' {
		t.Errorf("a long command is named %q (%d characters), want %d ending in …", long, len(r), maxCommandName)
	}
	if got := commandName([]string{"echo", "a\x1b[2Jb"}); got != `$ echo 'a\x1b[2Jb'` {
		t.Errorf("a command with ESC is named %q", got)
	}
}

// FuzzShellLine: whatever the words, the line reads back as them, as a
// POSIX shell splits words (jobspec.SplitCommand follows its quoting).
func FuzzShellLine(f *testing.F) {
	f.Add("echo", "hi there", "it's")
	f.Add("", "$x", "`a`\\")
	f.Add("FOO=bar", "\"q\"", "~/x")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		argv := []string{a, b, c}
		line := shellLine(argv)
		got, err := jobspec.SplitCommand(line)
		if err != nil || !slices.Equal(got, argv) {
			t.Fatalf("shellLine(%q) = %s, which reads back as %q, %v", argv, line, got, err)
		}
	})
}
