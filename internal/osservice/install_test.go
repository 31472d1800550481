package osservice

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/runlet/runlet"
)

// recorder is a Runner that writes down the commands instead of running
// them; answer, when set, says what a command prints and whether it fails.
type recorder struct {
	mu     sync.Mutex
	calls  []string
	answer func(cmd string) (string, error)
}

func (r *recorder) run(_ context.Context, name string, args ...string) ([]byte, error) {
	cmd := strings.Join(append([]string{name}, args...), " ")
	r.mu.Lock()
	r.calls = append(r.calls, cmd)
	r.mu.Unlock()
	if r.answer == nil {
		return nil, nil
	}
	out, err := r.answer(cmd)
	return []byte(out), err
}

// take returns the calls so far and forgets them.
func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls = nil
	return c
}

func wantCalls(t *testing.T, r *recorder, want ...string) {
	t.Helper()
	if got := r.take(); !slices.Equal(got, want) {
		t.Errorf("commands:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func wantMode(t *testing.T, path string, mode fs.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != mode {
		t.Errorf("%s has mode %v; want %v", path, fi.Mode().Perm(), mode)
	}
}

func wantGone(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s is still there (%v)", path, err)
	}
}

// A system unit lands in ROOT/etc/systemd/system (0644), its secrets in
// ROOT/etc/runlet (0600, in a 0700 directory), and systemd is reloaded,
// told to enable it and (re)started; uninstall undoes it all.
func TestSystemdInstallSystem(t *testing.T) {
	root := t.TempDir()
	rec := &recorder{}
	s := &Systemd{Root: root, Run: rec.run}
	ctx := context.Background()
	sp := serverSpec()
	sp.User = "" // this test's machine has no account "runlet"

	in, err := s.Install(ctx, sp)
	if err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(root, "etc/systemd/system/runlet-server.service")
	env := filepath.Join(root, "etc/runlet/runlet-server.env")
	if in.Path != "/etc/systemd/system/runlet-server.service" || in.EnvPath != "/etc/runlet/runlet-server.env" || in.Logs != "journalctl -u runlet-server -f" {
		t.Errorf("Install = %+v", in)
	}
	wantMode(t, unit, 0o644)
	wantMode(t, env, 0o600)
	wantMode(t, filepath.Dir(env), 0o700)
	wantMode(t, filepath.Join(root, sp.Dir), 0o700)
	b, _ := os.ReadFile(unit)
	if string(b) != string(systemdUnit(sp, false, in.EnvPath)) {
		t.Errorf("the unit installed is not the one rendered:\n%s", b)
	}
	if strings.Contains(string(b), "postgres://") {
		t.Errorf("a secret is in the unit, which anyone may read:\n%s", b)
	}
	if e, _ := os.ReadFile(env); !strings.Contains(string(e), "RUNLET_DB=") {
		t.Errorf("the environment file lacks the secret:\n%s", e)
	}
	wantCalls(t, rec,
		"systemctl daemon-reload",
		"systemctl enable runlet-server.service",
		"systemctl restart runlet-server.service")

	// Installed again without secrets: the old ones go.
	sp.Secrets = nil
	if _, err := s.Install(ctx, sp); err != nil {
		t.Fatal(err)
	}
	wantGone(t, env)
	rec.take()

	rec.answer = func(cmd string) (string, error) {
		switch cmd {
		case "systemctl is-active runlet-server.service":
			return "active\n", nil
		case "systemctl status --no-pager --lines=5 runlet-server.service":
			return "● runlet-server.service - Runlet server\n     Active: active (running)\n", nil
		}
		return "", nil
	}
	st, err := s.Status(ctx, "runlet-server")
	if err != nil || !st.Installed || !st.Running || !strings.Contains(st.Detail, "active (running)") || st.Path != in.Path {
		t.Errorf("Status = %+v, %v; want installed and running", st, err)
	}
	rec.answer = func(cmd string) (string, error) {
		if strings.Contains(cmd, "is-active") {
			return "inactive\n", errors.New("exit status 3")
		}
		return "", nil
	}
	if st, _ := s.Status(ctx, "runlet-server"); !st.Installed || st.Running {
		t.Errorf("Status of a stopped unit = %+v", st)
	}
	rec.answer = nil
	rec.take()

	if err := s.Stop(ctx, "runlet-server"); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx, "runlet-server"); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, rec, "systemctl stop runlet-server.service", "systemctl start runlet-server.service")

	if err := s.Uninstall(ctx, "runlet-server"); err != nil {
		t.Fatal(err)
	}
	wantGone(t, unit)
	wantCalls(t, rec,
		"systemctl disable --now runlet-server.service",
		"systemctl daemon-reload",
		"systemctl reset-failed runlet-server.service")

	for verb, f := range map[string]func() error{
		"start":     func() error { return s.Start(ctx, "runlet-server") },
		"stop":      func() error { return s.Stop(ctx, "runlet-server") },
		"uninstall": func() error { return s.Uninstall(ctx, "runlet-server") },
	} {
		if err := f(); runlet.ErrorCode(err) != runlet.ENOTFOUND || !strings.Contains(err.Error(), "not installed") {
			t.Errorf("%s of a service not installed: %v; want ENOTFOUND", verb, err)
		}
	}
	if st, err := s.Status(ctx, "runlet-server"); err != nil || st.Installed {
		t.Errorf("Status after uninstall = %+v, %v", st, err)
	}
	wantCalls(t, rec)
}

// A user's unit lands in CONFIG/systemd/user, runs as that user (no
// User=) and every command goes to the user's manager.
func TestSystemdInstallUser(t *testing.T) {
	root := t.TempDir()
	rec := &recorder{}
	s := &Systemd{User: true, ConfigDir: "/home/ann/.config", Root: root, Run: rec.run}
	ctx := context.Background()
	in, err := s.Install(ctx, daemonSpec())
	if err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(root, "home/ann/.config/systemd/user/runlet-daemon.service")
	wantMode(t, unit, 0o644)
	b, _ := os.ReadFile(unit)
	if strings.Contains(string(b), "User=") || !strings.Contains(string(b), "WantedBy=default.target") {
		t.Errorf("user unit:\n%s", b)
	}
	if in.EnvPath != "" || !strings.Contains(in.Note, "enable-linger") || in.Logs != "journalctl --user -u runlet-daemon -f" {
		t.Errorf("Install = %+v", in)
	}
	wantCalls(t, rec,
		"systemctl --user daemon-reload",
		"systemctl --user enable runlet-daemon.service",
		"systemctl --user restart runlet-daemon.service")
	if err := s.Uninstall(ctx, "runlet-daemon"); err != nil {
		t.Fatal(err)
	}
	wantGone(t, unit)
}

// systemctl failing (no systemd running, as in a container) is reported
// with what it said, and where the unit is.
func TestSystemdInstallSystemctlFails(t *testing.T) {
	rec := &recorder{answer: func(string) (string, error) {
		return "", errors.New("systemctl daemon-reload: exit status 1: System has not been booted with systemd as init system (PID 1). Can't operate.")
	}}
	s := &Systemd{Root: t.TempDir(), Run: rec.run}
	sp := daemonSpec()
	sp.User = "" // no account "ann" here
	_, err := s.Install(context.Background(), sp)
	if err == nil || !strings.Contains(err.Error(), "not been booted with systemd") || !strings.Contains(err.Error(), "/etc/systemd/system/runlet-daemon.service") {
		t.Errorf("Install = %v; want systemctl's words and the unit's path", err)
	}
}

// A LaunchAgent lands in ~/Library/LaunchAgents, its log file is made in
// ~/Library/Logs/Runlet, and it is bootstrapped into the user's GUI
// domain; installing over a loaded one boots that out first.
func TestLaunchdInstallAgent(t *testing.T) {
	root := t.TempDir()
	loaded := false
	rec := &recorder{}
	rec.answer = func(cmd string) (string, error) {
		switch {
		case strings.HasPrefix(cmd, "launchctl print "):
			if !loaded {
				return "Could not find service \"io.github.runlet.daemon\" in domain for uid: 501", errors.New("exit status 113")
			}
			return "gui/501/io.github.runlet.daemon = {\n\tactive count = 1\n\tstate = running\n\tpid = 4242\n\truns = 1\n\tlast exit code = (never exited)\n}\n", nil
		case strings.HasPrefix(cmd, "launchctl bootstrap "):
			loaded = true
		case strings.HasPrefix(cmd, "launchctl bootout "):
			loaded = false
		}
		return "", nil
	}
	l := &Launchd{User: true, Home: "/Users/ann", UID: 501, Root: root, Run: rec.run}
	ctx := context.Background()
	sp := daemonSpec()
	sp.Dir = "/Users/ann/.runlet"
	in, err := l.Install(ctx, sp)
	if err != nil {
		t.Fatal(err)
	}
	plist := "/Users/ann/Library/LaunchAgents/io.github.runlet.daemon.plist"
	if in.Path != plist || in.Logs != "tail -f /Users/ann/Library/Logs/Runlet/runlet-daemon.log" || in.Note == "" {
		t.Errorf("Install = %+v", in)
	}
	wantMode(t, filepath.Join(root, plist), 0o644)
	wantMode(t, filepath.Join(root, "Users/ann/Library/Logs/Runlet/runlet-daemon.log"), 0o640)
	b, _ := os.ReadFile(filepath.Join(root, plist))
	if string(b) != string(launchdPlist(sp, "/Users/ann/Library/Logs/Runlet/runlet-daemon.log", true)) || strings.Contains(string(b), "UserName") {
		t.Errorf("the plist installed is not the agent's rendering:\n%s", b)
	}
	wantCalls(t, rec,
		"launchctl print gui/501/io.github.runlet.daemon",
		"launchctl enable gui/501/io.github.runlet.daemon",
		"launchctl bootstrap gui/501 "+plist)

	st, err := l.Status(ctx, "runlet-daemon")
	if err != nil || !st.Installed || !st.Running || st.Detail != "state = running\npid = 4242\nruns = 1\nlast exit code = (never exited)" {
		t.Errorf("Status = %+v, %v", st, err)
	}
	rec.take()

	// Again, over the loaded one.
	if _, err := l.Install(ctx, sp); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, rec,
		"launchctl print gui/501/io.github.runlet.daemon",
		"launchctl bootout gui/501/io.github.runlet.daemon",
		"launchctl print gui/501/io.github.runlet.daemon",
		"launchctl enable gui/501/io.github.runlet.daemon",
		"launchctl bootstrap gui/501 "+plist)

	if err := l.Start(ctx, "runlet-daemon"); err != nil {
		t.Fatal(err)
	}
	if err := l.Stop(ctx, "runlet-daemon"); err != nil {
		t.Fatal(err)
	}
	if st, _ := l.Status(ctx, "runlet-daemon"); !st.Installed || st.Running {
		t.Errorf("Status after stop = %+v", st)
	}
	if err := l.Start(ctx, "runlet-daemon"); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, rec,
		"launchctl print gui/501/io.github.runlet.daemon",
		"launchctl kickstart gui/501/io.github.runlet.daemon",
		"launchctl print gui/501/io.github.runlet.daemon",
		"launchctl bootout gui/501/io.github.runlet.daemon",
		"launchctl print gui/501/io.github.runlet.daemon",
		"launchctl print gui/501/io.github.runlet.daemon",
		"launchctl print gui/501/io.github.runlet.daemon",
		"launchctl bootstrap gui/501 "+plist)

	if err := l.Uninstall(ctx, "runlet-daemon"); err != nil {
		t.Fatal(err)
	}
	wantGone(t, filepath.Join(root, plist))
	wantMode(t, filepath.Join(root, "Users/ann/Library/Logs/Runlet/runlet-daemon.log"), 0o640)
	if err := l.Stop(ctx, "runlet-daemon"); runlet.ErrorCode(err) != runlet.ENOTFOUND {
		t.Errorf("Stop after uninstall: %v; want ENOTFOUND", err)
	}
}

// A LaunchDaemon with secrets is written 0600 and bootstrapped into the
// system domain.
func TestLaunchdInstallDaemon(t *testing.T) {
	root := t.TempDir()
	rec := &recorder{answer: func(cmd string) (string, error) {
		if strings.HasPrefix(cmd, "launchctl print ") {
			return "", errors.New("exit status 113")
		}
		return "", nil
	}}
	l := &Launchd{Root: root, Run: rec.run}
	sp := serverSpec()
	sp.User = ""
	in, err := l.Install(context.Background(), sp)
	if err != nil {
		t.Fatal(err)
	}
	if in.Path != "/Library/LaunchDaemons/io.github.runlet.server.plist" {
		t.Errorf("Install = %+v", in)
	}
	wantMode(t, filepath.Join(root, in.Path), 0o600)
	wantMode(t, filepath.Join(root, "Library/Logs/Runlet/runlet-server.log"), 0o640)
	wantCalls(t, rec,
		"launchctl print system/io.github.runlet.server",
		"launchctl enable system/io.github.runlet.server",
		"launchctl bootstrap system "+in.Path)
}

// Serve, away from Windows, runs the command with the streams it is given.
func TestServeRunsDirectly(t *testing.T) {
	var got []any
	err := Serve(context.Background(), os.Stdout, os.Stderr, func(_ context.Context, out, errw io.Writer) error {
		got = append(got, out, errw)
		return nil
	})
	if err != nil || len(got) != 2 || got[0] != os.Stdout || got[1] != os.Stderr {
		t.Errorf("Serve: %v, %v", err, got)
	}
}
