package cli

import (
	"path/filepath"
	"runtime"

	"github.com/spf13/pflag"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/internal/osservice"
)

// daemonService is `runlet daemon install` and its siblings: the daemon of
// the home (--home) as a service.
func (m *Main) daemonService(flags *pflag.FlagSet) serviceRole {
	// The daemon's own flags, taken now: once parsed, its flag set holds
	// the root's --home too.
	var own []*pflag.Flag
	flags.VisitAll(func(f *pflag.Flag) { own = append(own, f) })
	return serviceRole{
		role:  "daemon",
		name:  "runlet-daemon",
		what:  "this device's daemon",
		flags: flags,
		install: `install makes this device's daemon a service of the operating system, for
the home it is signed in with (--home): started at boot, started again 5
seconds after a failure, its logs where the platform keeps them.

  Linux    a systemd unit, /etc/systemd/system/runlet-daemon.service, or in
           ~/.config/systemd/user with --user; logs in the journal
           (journalctl -u runlet-daemon, journalctl --user -u ...)
  macOS    a launchd job, /Library/LaunchDaemons/io.github.runlet.daemon.plist,
           or a LaunchAgent in ~/Library/LaunchAgents with --user; logs in
           /Library/Logs/Runlet/runlet-daemon.log (~/Library/Logs/... with --user)
  Windows  a service (from an administrator's prompt; no --user); logs in
           the Application event log, source runlet-daemon

The home must be signed in first (runlet @signin). The service runs this
runlet with --home, the --parallel and --verbose given here and the PATH
of this shell, so that jobs find the programs they find when you run
them. A system service runs as the owner of the home unless --run-as
names another account. Installing again replaces the service; a daemon
that finds itself signed out stops and is not restarted.`,
		example: `  sudo runlet daemon install --home /home/pi/.runlet
  runlet daemon install --user
  runlet daemon install --user --parallel 2
  runlet daemon install --home 'C:\Users\ann\.runlet'   (Windows, as administrator)`,
		spec: func(name string, user bool, runAs string) (osservice.Spec, error) {
			dir, err := filepath.Abs(m.home)
			if err != nil {
				return osservice.Spec{}, err
			}
			if _, err := home.Dir(dir).Credentials(); err != nil {
				if runlet.ErrorCode(err) == runlet.EUNAUTHORIZED {
					hint := ""
					if m.getenv("SUDO_USER") != "" {
						hint = " (under sudo, give your own home: sudo runlet daemon install --home ~/.runlet)"
					}
					return osservice.Spec{}, runlet.Errorf(runlet.EUNAUTHORIZED, "the home %s is not signed in, so a daemon installed for it could not start: sign in first (runlet @signin --home %s --server URL), then install%s", dir, dir, hint)
				}
				return osservice.Spec{}, err
			}
			args := []string{"daemon", "--home", dir}
			for _, f := range own {
				if f.Changed {
					args = append(args, "--"+f.Name+"="+flagValue(f))
				}
			}
			exe, err := program()
			if err != nil {
				return osservice.Spec{}, err
			}
			acct, err := account(user, runAs, dir)
			if err != nil {
				return osservice.Spec{}, err
			}
			var env map[string]string
			if p := m.getenv("PATH"); p != "" && runtime.GOOS != "windows" {
				env = map[string]string{"PATH": p}
			}
			return osservice.Spec{
				Name:        name,
				Description: "Runlet daemon for " + dir,
				Program:     exe,
				Args:        args,
				User:        acct,
				Password:    m.password(),
				Dir:         dir,
				Env:         env,
			}, nil
		},
	}
}
