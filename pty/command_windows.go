package pty

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/windows"
)

// prepare turns c into what CreateProcess takes. Strings become UTF-16 with
// windows.UTF16PtrFromString, which refuses a NUL inside them rather than
// cutting them short.
func prepare(c Command) (process, error) {
	if len(c.Argv) == 0 || c.Argv[0] == "" {
		return process{}, errors.New("start a terminal: no program given")
	}
	path, err := program(c.Argv[0], c.Dir)
	if err != nil {
		return process{}, err
	}
	var p process
	if p.app, err = windows.UTF16PtrFromString(path); err != nil {
		return process{}, fmt.Errorf("program %q: %w", path, err)
	}
	// Arguments are quoted the way CommandLineToArgvW and the C runtime
	// split them. cmd.exe splits its own way; give it one string after /c.
	line := windows.ComposeCommandLine(c.Argv)
	if p.cmdline, err = windows.UTF16PtrFromString(line); err != nil {
		return process{}, fmt.Errorf("command line of %s: %w", path, err)
	}
	if c.Dir != "" {
		if p.dir, err = windows.UTF16PtrFromString(c.Dir); err != nil {
			return process{}, fmt.Errorf("working directory %q: %w", c.Dir, err)
		}
	}
	if c.Env != nil {
		block, err := environmentBlock(c.Env)
		if err != nil {
			return process{}, err
		}
		p.env = &block[0]
	}
	return p, nil
}

// program resolves argv0 as os/exec does: a bare name is looked up in our
// PATH with PATHEXT (never in the current directory), a path gets PATHEXT
// added if needed. A relative path with a directory in it is taken relative
// to dir, the child's working directory, as it would be on Unix.
func program(argv0, dir string) (string, error) {
	name := argv0
	if dir != "" && strings.ContainsAny(name, `\/`) && filepath.VolumeName(name) == "" && !os.IsPathSeparator(name[0]) {
		name = filepath.Join(dir, name)
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("find program %q: %w", argv0, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("find program %q: %w", argv0, err)
	}
	return abs, nil
}

// environmentBlock builds the block CREATE_UNICODE_ENVIRONMENT expects:
// "KEY=value\0" for each variable, then one more "\0". As os/exec does on
// Windows, keys are matched case-insensitively with the last one winning,
// SYSTEMROOT is added when missing (much of Windows fails without it), and
// the variables are sorted by key as CreateProcess documents.
func environmentBlock(env []string) ([]uint16, error) {
	env = withSystemRoot(dedupEnv(env))
	slices.SortStableFunc(env, func(a, b string) int {
		return strings.Compare(strings.ToUpper(envKey(a)), strings.ToUpper(envKey(b)))
	})
	var block []uint16
	for _, kv := range env {
		s, err := windows.UTF16FromString(kv) // NUL-terminated
		if err != nil {
			return nil, fmt.Errorf("environment variable %q: %w", envKey(kv), err)
		}
		block = append(block, s...)
	}
	if len(block) == 0 {
		block = append(block, 0) // an empty block is still two NULs
	}
	return append(block, 0), nil
}

// envKey is the name of a "KEY=value" entry. Windows keeps per-drive
// directories in entries like "=C:=C:\dir", whose name starts with '='.
func envKey(kv string) string {
	start := 0
	if strings.HasPrefix(kv, "=") {
		start = 1
	}
	if i := strings.IndexByte(kv[start:], '='); i >= 0 {
		return kv[:start+i]
	}
	return kv
}

// dedupEnv keeps the last entry of each key, in the order of those entries.
func dedupEnv(env []string) []string {
	seen := make(map[string]bool, len(env))
	out := make([]string, 0, len(env))
	for i := len(env) - 1; i >= 0; i-- {
		k := strings.ToUpper(envKey(env[i]))
		if env[i] == "" || seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, env[i])
	}
	slices.Reverse(out)
	return out
}

func withSystemRoot(env []string) []string {
	for _, kv := range env {
		if strings.EqualFold(envKey(kv), "SYSTEMROOT") {
			return env
		}
	}
	if root, ok := os.LookupEnv("SYSTEMROOT"); ok {
		return append(env, "SYSTEMROOT="+root)
	}
	return env
}
