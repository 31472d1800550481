package osservice

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Systemd manages systemd units: the system's (/etc/systemd/system) or,
// with User, the user's own (CONFIG/systemd/user, systemctl --user). The
// logs go to the journal.
type Systemd struct {
	// User picks the user's manager (systemctl --user).
	User bool
	// ConfigDir is the user's configuration directory (~/.config), for
	// User units.
	ConfigDir string
	// Root prefixes every file written or read ("" is /).
	Root string
	// Run runs systemctl.
	Run Runner
}

var _ Manager = (*Systemd)(nil)

// UnitPath is where the unit of service name is.
func (s *Systemd) UnitPath(name string) string {
	if s.User {
		return filepath.Join(s.ConfigDir, "systemd", "user", name+".service")
	}
	return filepath.Join("/etc/systemd/system", name+".service")
}

// EnvPath is where the secrets of service name are (mode 0600).
func (s *Systemd) EnvPath(name string) string {
	if s.User {
		return filepath.Join(s.ConfigDir, "runlet", name+".env")
	}
	return filepath.Join("/etc/runlet", name+".env")
}

func (s *Systemd) logs(name string) string {
	if s.User {
		return "journalctl --user -u " + name + " -f"
	}
	return "journalctl -u " + name + " -f"
}

func (s *Systemd) systemctl(ctx context.Context, args ...string) ([]byte, error) {
	if s.User {
		args = append([]string{"--user"}, args...)
	}
	return s.Run(ctx, "systemctl", args...)
}

// Install writes the unit (0644) and the secrets (0600), reloads systemd,
// enables the unit and restarts it.
func (s *Systemd) Install(ctx context.Context, sp Spec) (Installed, error) {
	if err := sp.check(); err != nil {
		return Installed{}, err
	}
	if s.User {
		sp.User = ""
	}
	in := Installed{Path: s.UnitPath(sp.Name), Logs: s.logs(sp.Name)}
	if len(sp.Secrets) > 0 {
		in.EnvPath = s.EnvPath(sp.Name)
		if err := writeFile(under(s.Root, in.EnvPath), envFile(sp.Secrets), 0o600, 0o700); err != nil {
			return Installed{}, err
		}
	} else if err := removeFile(under(s.Root, s.EnvPath(sp.Name))); err != nil {
		return Installed{}, err
	}
	if err := makeDir(under(s.Root, sp.Dir), sp.User); err != nil {
		return Installed{}, err
	}
	if err := writeFile(under(s.Root, in.Path), systemdUnit(sp, s.User, in.EnvPath), 0o644, 0o755); err != nil {
		return Installed{}, err
	}
	for _, args := range [][]string{{"daemon-reload"}, {"enable", sp.Name + ".service"}, {"restart", sp.Name + ".service"}} {
		if _, err := s.systemctl(ctx, args...); err != nil {
			return Installed{}, fmt.Errorf("the unit is written to %s, but systemd did not take it: %w", in.Path, err)
		}
	}
	if s.User {
		in.Note = "a user's unit runs while that user is logged in; to start it at boot and keep it after logout: loginctl enable-linger $USER"
	}
	return in, nil
}

// Uninstall stops and disables the unit, then removes it and its secrets.
func (s *Systemd) Uninstall(ctx context.Context, name string) error {
	if err := s.installed(name); err != nil {
		return err
	}
	// The files go even when systemd cannot be reached (a machine where it
	// does not run), so that what install wrote can always be removed.
	_, stopErr := s.systemctl(ctx, "disable", "--now", name+".service")
	if err := removeFile(under(s.Root, s.UnitPath(name))); err != nil {
		return err
	}
	if err := removeFile(under(s.Root, s.EnvPath(name))); err != nil {
		return err
	}
	if stopErr != nil {
		return fmt.Errorf("removed %s, but systemd did not stop and disable it: %w", s.UnitPath(name), stopErr)
	}
	if _, err := s.systemctl(ctx, "daemon-reload"); err != nil {
		return err
	}
	// Forget an earlier failure, so the name does not linger as "failed".
	_, _ = s.systemctl(ctx, "reset-failed", name+".service")
	return nil
}

// Start starts the unit.
func (s *Systemd) Start(ctx context.Context, name string) error {
	if err := s.installed(name); err != nil {
		return err
	}
	_, err := s.systemctl(ctx, "start", name+".service")
	return err
}

// Stop stops the unit; it starts again at the next boot (or login).
func (s *Systemd) Stop(ctx context.Context, name string) error {
	if err := s.installed(name); err != nil {
		return err
	}
	_, err := s.systemctl(ctx, "stop", name+".service")
	return err
}

// Status says whether the unit is installed and active, with systemctl
// status's own words.
func (s *Systemd) Status(ctx context.Context, name string) (Status, error) {
	if err := checkName(name); err != nil {
		return Status{}, err
	}
	st := Status{Path: s.UnitPath(name), Logs: s.logs(name)}
	if !exists(under(s.Root, st.Path)) {
		return Status{Logs: st.Logs}, nil
	}
	st.Installed = true
	// is-active and status exit non-zero for a unit that is not running:
	// their output is the answer all the same.
	out, _ := s.systemctl(ctx, "is-active", name+".service")
	st.Running = strings.TrimSpace(string(out)) == "active"
	detail, _ := s.systemctl(ctx, "status", "--no-pager", "--lines=5", name+".service")
	st.Detail = strings.TrimRight(string(detail), "\n")
	return st, nil
}

func (s *Systemd) installed(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	if p := s.UnitPath(name); !exists(under(s.Root, p)) {
		return notInstalled(name, p)
	}
	return nil
}

// systemdUnit renders the unit: restarted RestartDelay after a failure
// (not after ExitNoRestart), the journal for its output, and KillMode=mixed
// so that a stop signals the program alone, which ends its own children
// and reports them, before systemd kills what is left.
func systemdUnit(sp Spec, user bool, envPath string) []byte {
	var b bytes.Buffer
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("# Installed by runlet: the next install rewrites this file, uninstall removes it.")
	line("[Unit]")
	line("Description=%s", escapeSpecifiers(sp.Description))
	if !user {
		// The user's manager cannot order itself after a system target.
		line("Wants=network-online.target")
		line("After=network-online.target")
	}
	line("")
	line("[Service]")
	line("Type=simple")
	exec := []string{execWord(sp.Program)}
	for _, a := range sp.Args {
		exec = append(exec, execWord(a))
	}
	line("ExecStart=%s", strings.Join(exec, " "))
	if sp.Dir != "" {
		line("WorkingDirectory=%s", escapeSpecifiers(sp.Dir))
	}
	if sp.User != "" && !user {
		line("User=%s", sp.User)
	}
	for _, k := range slices.Sorted(maps.Keys(sp.Env)) {
		line("Environment=%s", quoteWord(k+"="+escapeSpecifiers(sp.Env[k])))
	}
	if envPath != "" {
		line("EnvironmentFile=%s", escapeSpecifiers(envPath))
	}
	line("Restart=on-failure")
	line("RestartSec=%ds", int(RestartDelay.Seconds()))
	line("RestartPreventExitStatus=%d", ExitNoRestart)
	line("KillMode=mixed")
	line("")
	line("[Install]")
	if user {
		line("WantedBy=default.target")
	} else {
		line("WantedBy=multi-user.target")
	}
	return b.Bytes()
}

var plainWord = regexp.MustCompile(`^[A-Za-z0-9_@+=:,./-]+$`)

// execWord writes one word of ExecStart= so systemd reads it back whole:
// '%' (specifiers) and '$' (variables) doubled, then quoted.
func execWord(s string) string {
	return quoteWord(strings.ReplaceAll(escapeSpecifiers(s), "$", "$$"))
}

// quoteWord quotes s, C-style, when it has anything but plain characters.
func quoteWord(s string) string {
	if plainWord.MatchString(s) {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`
}

func escapeSpecifiers(s string) string { return strings.ReplaceAll(s, "%", "%%") }

// envFile renders secrets for EnvironmentFile=: one KEY="VALUE" a line,
// with the characters systemd's parser takes as special escaped.
func envFile(env map[string]string) []byte {
	var b bytes.Buffer
	b.WriteString("# Installed by runlet, mode 0600: the service's secrets.\n")
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`, "`", "\\`")
	for _, k := range slices.Sorted(maps.Keys(env)) {
		fmt.Fprintf(&b, "%s=\"%s\"\n", k, r.Replace(env[k]))
	}
	return b.Bytes()
}
