package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/internal/osservice"
)

// R-DEV-1: `runlet daemon install|uninstall|status|start|stop` and the same
// for `runlet server`: the role as a service of the operating system. The
// rules of each platform are osservice's; these verbs say what to install.

// serviceRole is what the service verbs of `runlet daemon` and `runlet
// server` differ in.
type serviceRole struct {
	role    string // "daemon", "server"
	name    string // the service's default name
	what    string // "this device's daemon", for help texts
	install string // install's Long help
	example string // install's Example
	// flags are the role's own flags, which install takes too and records
	// in the service when given.
	flags *pflag.FlagSet
	// spec is what install installs: the service's name, whether it is the
	// user's, the account a system service runs as ("" to choose).
	spec func(name string, user bool, runAs string) (osservice.Spec, error)
}

// noRestart is an error after which a service manager must not start
// runlet again: runlet exits with osservice.ExitNoRestart.
type noRestart struct{ error }

// ExitCode is the status: the Windows service host (osservice.Serve)
// reads it too.
func (noRestart) ExitCode() int   { return osservice.ExitNoRestart }
func (e noRestart) Unwrap() error { return e.error }

// services is the service manager of the verbs: Main.Services, else this
// platform's.
func (m *Main) services(user bool) (osservice.Manager, error) {
	if m.Services != nil {
		return m.Services(user)
	}
	return osservice.Local(user)
}

// serviceCommands are install, uninstall, status, start and stop for r.
func (m *Main) serviceCommands(r serviceRole) []*cobra.Command {
	var user bool
	var name, runAs string
	scope := func(c *cobra.Command) {
		c.Flags().BoolVar(&user, "user", false, "the service of this user alone (systemd --user, a LaunchAgent) instead of the system's (which needs root); not on Windows")
		c.Flags().StringVar(&name, "name", r.name, "the service's name, to install more than one")
	}
	manager := func() (osservice.Manager, error) { return m.services(user) }
	verb := func(use, short, long, example string, run func(ctx context.Context, sm osservice.Manager) error) *cobra.Command {
		c := &cobra.Command{
			Use: use, Short: short, Long: long, Example: example,
			Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				sm, err := manager()
				if err != nil {
					return err
				}
				return run(cmd.Context(), sm)
			},
		}
		scope(c)
		return c
	}
	userFlag := func() string {
		if user {
			return " --user"
		}
		return ""
	}

	install := verb("install", "Install "+r.what+" as a service of the operating system, and start it", r.install, r.example,
		func(ctx context.Context, sm osservice.Manager) error {
			sp, err := r.spec(name, user, runAs)
			if err != nil {
				return err
			}
			in, err := sm.Install(ctx, sp)
			if err != nil {
				return err
			}
			where := in.Path
			if where == "" {
				where = "the Windows service control manager"
			}
			fmt.Fprintf(m.Stdout, "installed %s: %s\n", sp.Name, where)
			if in.EnvPath != "" {
				fmt.Fprintf(m.Stdout, "  secrets: %s (mode 0600)\n", in.EnvPath)
			}
			fmt.Fprintf(m.Stdout, "  started: now, at boot, and again %s after a failure\n", osservice.RestartDelay)
			fmt.Fprintf(m.Stdout, "  logs:    %s\n", in.Logs)
			if in.Note != "" {
				fmt.Fprintf(m.Stdout, "  note:    %s\n", in.Note)
			}
			return nil
		})
	install.Flags().StringVar(&runAs, "run-as", "", "the account a system service runs as (default: the owner of the "+map[string]string{"daemon": "home", "server": "data directory"}[r.role]+"; LocalSystem on Windows, where RUNLET_SERVICE_PASSWORD gives another account's password)")
	install.Flags().AddFlagSet(r.flags)

	uninstall := verb("uninstall", "Stop and remove the service of "+r.what,
		"uninstall stops the service that 'runlet "+r.role+" install' made, disables it and\nremoves its definition (and its secrets); its logs stay. Give --user and\n--name as at install.",
		"  sudo runlet "+r.role+" uninstall\n  runlet "+r.role+" uninstall --user",
		func(ctx context.Context, sm osservice.Manager) error {
			if err := sm.Uninstall(ctx, name); err != nil {
				return err
			}
			fmt.Fprintf(m.Stdout, "uninstalled %s\n", name)
			return nil
		})
	start := verb("start", "Start the installed service of "+r.what,
		"start starts the service that 'runlet "+r.role+" install' made (install starts it too).",
		"  sudo runlet "+r.role+" start\n  runlet "+r.role+" start --user",
		func(ctx context.Context, sm osservice.Manager) error {
			if err := sm.Start(ctx, name); err != nil {
				return err
			}
			fmt.Fprintf(m.Stdout, "started %s (runlet %s status%s)\n", name, r.role, userFlag())
			return nil
		})
	stop := verb("stop", "Stop the installed service of "+r.what,
		"stop stops the service that 'runlet "+r.role+" install' made until 'runlet "+r.role+" start'\nor the next boot; uninstall removes it for good.",
		"  sudo runlet "+r.role+" stop\n  runlet "+r.role+" stop --user",
		func(ctx context.Context, sm osservice.Manager) error {
			if err := sm.Stop(ctx, name); err != nil {
				return err
			}
			fmt.Fprintf(m.Stdout, "stopped %s\n", name)
			return nil
		})
	status := verb("status", "Say whether the service of "+r.what+" is installed and running",
		"status says whether the service that 'runlet "+r.role+" install' made is installed and\nrunning, where it is defined and where its logs go. It exits with status 0\nwhen the service runs and 3 when it does not (or is not installed), as\nsystemctl status does.",
		"  runlet "+r.role+" status\n  runlet "+r.role+" status --user",
		func(ctx context.Context, sm osservice.Manager) error {
			st, err := sm.Status(ctx, name)
			if err != nil {
				return err
			}
			switch {
			case !st.Installed:
				fmt.Fprintf(m.Stdout, "%s: not installed (runlet %s install%s installs it)\n", name, r.role, userFlag())
			case st.Running:
				fmt.Fprintf(m.Stdout, "%s: running\n", name)
			default:
				fmt.Fprintf(m.Stdout, "%s: installed, not running (runlet %s start%s starts it)\n", name, r.role, userFlag())
			}
			if st.Path != "" {
				fmt.Fprintf(m.Stdout, "  definition: %s\n", st.Path)
			}
			if st.Installed {
				fmt.Fprintf(m.Stdout, "  logs:       %s\n", st.Logs)
			}
			if st.Detail != "" {
				fmt.Fprintln(m.Stdout, "\n"+runlet.SafeLines(st.Detail))
			}
			if !st.Running {
				return &exitError{code: 3}
			}
			return nil
		})
	return []*cobra.Command{install, uninstall, status, start, stop}
}

// program is the runlet executable the service runs: the path it was
// called by when that is this very file (a link such as Homebrew's
// /opt/homebrew/bin/runlet, which an upgrade moves to the new version),
// else the executable itself.
func program() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find this runlet executable: %w", err)
	}
	if p, err := exec.LookPath(os.Args[0]); err == nil {
		if abs, err := filepath.Abs(p); err == nil {
			a, errA := os.Stat(abs)
			b, errB := os.Stat(exe)
			if errA == nil && errB == nil && os.SameFile(a, b) {
				return abs, nil
			}
		}
	}
	return exe, nil
}

// account is the account a system service for dir runs as: runAs when
// given, else dir's owner (none for root, and on Windows, LocalSystem).
func account(user bool, runAs, dir string) (string, error) {
	if user || runAs != "" {
		return runAs, nil
	}
	owner, err := osservice.Owner(dir)
	if err != nil && !os.IsNotExist(err) {
		return "", err
	}
	return owner, nil
}

// password is the password of a Windows account the service runs as, from
// the environment so that it stays out of the shell's history.
func (m *Main) password() string {
	if runtime.GOOS != "windows" {
		return ""
	}
	return m.getenv("RUNLET_SERVICE_PASSWORD")
}

// flagValue is f's value as its flag takes it back: a list joined with
// commas.
func flagValue(f *pflag.Flag) string {
	if s, ok := f.Value.(pflag.SliceValue); ok {
		return strings.Join(s.GetSlice(), ",")
	}
	return f.Value.String()
}
