// Package osservice installs a program as the operating system's own
// service (R-DEV-1): a systemd unit (system or --user) on Linux, a launchd
// daemon or agent on macOS, a Windows service; restarted after a failure,
// with its logs where that platform keeps them (the journal, a file under
// Library/Logs, the event log). One Spec describes the service; each
// platform renders it (golden-tested on any OS), writes the files under a
// Root that tests point at a temporary directory, and drives the platform's
// tool (systemctl, launchctl) through a Runner that tests record. Windows
// speaks to the service control manager directly (x/sys/windows/svc/mgr),
// and Serve hosts a command under it.
package osservice

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/internal/atomicfile"
)

// ExitNoRestart is the exit status of a program that running again cannot
// help (EX_CONFIG: not signed in, signed out): the service managers restart
// after any other failure, never after this one.
const ExitNoRestart = 78

// RestartDelay is how long a failed service waits before it starts again,
// on every platform.
const RestartDelay = 5 * time.Second

// Spec describes one service.
type Spec struct {
	// Name names the service: the systemd unit (NAME.service), the
	// Windows service and its event-log source, the log file on macOS;
	// the launchd label is Label(Name). Letters, digits, '.', '_', '-'.
	Name string
	// Description is one line for people ("Runlet daemon for /home/ann/.runlet").
	Description string
	// Program is the absolute path of the executable; Args follow it.
	Program string
	Args    []string
	// User is the account a system service runs as; "" is root
	// (LocalSystem on Windows). A user service runs as its user.
	User string
	// Password is User's password, for Windows only; it is handed to the
	// service control manager and written nowhere.
	Password string
	// Dir is the working directory, created (0700) when missing.
	Dir string
	// Env is environment written into the definition, readable by all.
	Env map[string]string
	// Secrets is environment only the service's owner may read: a 0600
	// environment file beside a systemd unit, a 0600 plist, the service's
	// registry key closed to all but SYSTEM and Administrators.
	Secrets map[string]string
}

// Installed is what Install did.
type Installed struct {
	Path    string // the definition (unit, plist); "" on Windows
	EnvPath string // the secrets' environment file, if one was written
	Logs    string // where the logs go, as a person reads them
	Note    string // what else the person should know, or ""
}

// Status is what the platform says of a service.
type Status struct {
	Installed bool
	Running   bool
	Path      string // the definition, when installed; "" on Windows
	Logs      string // where the logs go, as a person reads them
	Detail    string // the platform tool's own words, for people
}

// Manager installs, removes, starts, stops and reports on the services of
// one scope (the system's, or one user's) of one platform. Start, Stop and
// Uninstall return an ENOTFOUND error for a service that is not installed;
// a scope the caller may not write to gives EFORBIDDEN.
type Manager interface {
	// Install writes the service's definition (replacing an earlier one),
	// enables it at boot (or login) and (re)starts it.
	Install(ctx context.Context, s Spec) (Installed, error)
	// Uninstall stops and disables the service and removes its definition;
	// its logs stay.
	Uninstall(ctx context.Context, name string) error
	Start(ctx context.Context, name string) error
	Stop(ctx context.Context, name string) error
	Status(ctx context.Context, name string) (Status, error)
}

// Runner runs a platform tool and returns what it printed (standard output
// and error). Tests record the calls instead.
type Runner func(ctx context.Context, name string, args ...string) ([]byte, error)

// Exec is the Runner that runs the tool.
func Exec(ctx context.Context, name string, args ...string) ([]byte, error) {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return out, nil
}

// Local is the Manager of this machine's platform: systemd on Linux,
// launchd on macOS, the service control manager on Windows. user picks the
// signed-in user's own services (systemctl --user, a LaunchAgent), which
// Windows does not have.
func Local(user bool) (Manager, error) {
	switch runtime.GOOS {
	case "linux":
		s := &Systemd{User: user, Run: Exec}
		if user {
			dir, err := os.UserConfigDir()
			if err != nil {
				return nil, fmt.Errorf("find the user's configuration directory: %w", err)
			}
			s.ConfigDir = dir
		}
		return s, nil
	case "darwin":
		l := &Launchd{User: user, UID: os.Getuid(), Run: Exec}
		if user {
			h, err := os.UserHomeDir()
			if err != nil {
				return nil, fmt.Errorf("find the user's home directory: %w", err)
			}
			l.Home = h
		}
		return l, nil
	case "windows":
		if user {
			return nil, runlet.Errorf(runlet.EINVALID, "Windows has no per-user services: install without --user, from an administrator's prompt")
		}
		return windowsManager()
	}
	return nil, runlet.Errorf(runlet.ENOTIMPLEMENTED, "installing a service is not supported on %s: start runlet from the system's own init instead", runtime.GOOS)
}

var (
	validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	validEnv  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

func checkName(name string) error {
	if !validName.MatchString(name) || len(name) > 200 {
		return runlet.Errorf(runlet.EINVALID, "service name %q: use letters, digits, '.', '_' and '-', starting with a letter or digit", name)
	}
	return nil
}

// check refuses what no platform could write faithfully: a relative
// program, a line break (a unit is line-based), an environment name no
// shell would take.
func (s Spec) check() error {
	if err := checkName(s.Name); err != nil {
		return err
	}
	if !isAbs(s.Program) {
		return runlet.Errorf(runlet.EINVALID, "service %s: the program %q is not an absolute path", s.Name, s.Program)
	}
	all := append([]string{s.Description, s.Program, s.User, s.Dir}, s.Args...)
	for _, m := range []map[string]string{s.Env, s.Secrets} {
		for k, v := range m {
			if !validEnv.MatchString(k) {
				return runlet.Errorf(runlet.EINVALID, "service %s: %q is not an environment variable name", s.Name, k)
			}
			all = append(all, v)
		}
	}
	for _, v := range all {
		if strings.ContainsAny(v, "\n\r\x00") {
			return runlet.Errorf(runlet.EINVALID, "service %s: %q has a line break or a NUL, which a service definition cannot hold", s.Name, v)
		}
	}
	return nil
}

// isAbs reports whether p is absolute on Unix or on Windows, whatever this
// machine is: definitions for every platform are rendered everywhere.
func isAbs(p string) bool {
	if strings.HasPrefix(p, "/") {
		return true
	}
	return len(p) >= 3 && p[1] == ':' && (p[2] == '\\' || p[2] == '/')
}

// under joins an absolute path to root (tests install into a temporary
// directory; "" is the real root).
func under(root, p string) string {
	if root == "" {
		return p
	}
	return filepath.Join(root, p)
}

// writeFile writes b to path (creating its directory with dirMode)
// atomically, then gives it mode.
func writeFile(path string, b []byte, mode, dirMode fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), dirMode); err != nil {
		return writeErr(path, err)
	}
	if err := atomicfile.Write(path, b); err != nil {
		return writeErr(path, err)
	}
	if err := os.Chmod(path, mode); err != nil {
		return writeErr(path, err)
	}
	return nil
}

func writeErr(path string, err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return runlet.Errorf(runlet.EFORBIDDEN, "cannot write %s: installing a system service needs root (run it with sudo), or install for your user alone with --user", path)
	}
	return fmt.Errorf("write %s: %w", path, err)
}

// removeFile removes path; a missing file is fine.
func removeFile(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		if errors.Is(err, fs.ErrPermission) {
			return runlet.Errorf(runlet.EFORBIDDEN, "cannot remove %s: a system service needs root (run it with sudo); for a service installed with --user, give --user", path)
		}
		return fmt.Errorf("remove %s: %w", path, err)
	}
	return nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// notInstalled is the error of a verb on a service that is not there.
func notInstalled(name, where string) error {
	return runlet.Errorf(runlet.ENOTFOUND, "the service %s is not installed (no %s): install it first", name, where)
}

// makeDir creates a working directory the service's user owns.
func makeDir(path, user string) error {
	if path == "" {
		return nil
	}
	if exists(path) {
		return nil
	}
	if err := os.MkdirAll(path, 0o700); err != nil {
		return writeErr(path, err)
	}
	return chown(path, user)
}
