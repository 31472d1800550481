// Package cli is the `runlet` command line: the seed's @-verbs (@run,
// @config, @signin, @signout) with their plain aliases, and the server and
// daemon roles as they arrive. It turns flags into calls on the other
// packages and their errors into sentences and exit codes; it holds no logic
// of its own beyond the terminal.
package cli

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/internal/osservice"
)

// Main is one invocation of the command line, with its streams, so tests can
// run it in-process.
type Main struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
	// RootCAs are the authorities trusted for servers' certificates; nil
	// means the system's (which honour SSL_CERT_FILE and SSL_CERT_DIR).
	RootCAs *x509.CertPool
	// Services is the service manager of the install, uninstall, status,
	// start and stop verbs of `runlet daemon` and `runlet server`, for the
	// system's services or (user) the user's own; nil means this
	// platform's (osservice.Local). Tests install into a temporary root.
	Services func(user bool) (osservice.Manager, error)

	home string
}

// NewMain returns a Main on the process's own streams.
func NewMain() *Main {
	return &Main{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
}

// Run executes the command line args (without the program name) and returns
// the process exit code.
func (m *Main) Run(ctx context.Context, args []string) int {
	root := m.rootCommand()
	root.SetArgs(args)
	root.SetIn(m.Stdin)
	root.SetOut(m.Stdout)
	root.SetErr(m.Stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var exit *exitError
	if errors.As(err, &exit) {
		return exit.code
	}
	fmt.Fprintln(m.Stderr, "runlet: "+runlet.SafeLines(message(err)))
	if errors.As(err, new(noRestart)) {
		return osservice.ExitNoRestart
	}
	if runlet.ErrorCode(err) == runlet.EINVALID {
		return 2
	}
	return 1
}

func (m *Main) getenv(k string) string {
	if m.Getenv == nil {
		return os.Getenv(k)
	}
	return m.Getenv(k)
}

func (m *Main) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "runlet",
		Short: "Run jobs across your devices, live, in a real terminal",
		Long: `Runlet runs jobs on one device, on several or on all of them, and lets any
device or browser watch them live and type into them.

Jobs are defined in a YAML file (see 'runlet @config check --help').
Verbs that start with @ are the original Runlet's; each has a plain alias
(runlet run = runlet @run).`,
		Version:       Version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	defHome := m.getenv("RUNLET_HOME")
	if defHome == "" {
		defHome = string(home.Default())
	}
	root.PersistentFlags().StringVar(&m.home, "home", defHome, "directory of this device's credentials and logs (env RUNLET_HOME)")
	root.AddCommand(m.runCommand(), m.configCommand(),
		m.serverCommand(), m.upCommand(),
		m.daemonCommand(),
		m.signinCommand(), m.signoutCommand(), m.attachCommand(), m.stopCommand(), m.killCommand(),
		m.devicesCommand(), m.activityCommand(), m.shellCommand(),
		m.sensorsCommand(), m.telemetryCommand(),
		m.alertsCommand(), m.channelsCommand(), m.notifyCommand(),
		m.logsCommand(), m.keysCommand(),
	)
	return root
}

func (m *Main) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(m.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// exitError ends the process with a code and no message: the job said it all.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// safe is runlet.SafeText, for the text of other parties (a device, a
// member, the server) that this command line prints: escaped, it cannot
// drive the terminal. A job's own output is not theirs to escape and never
// goes through it.
func safe(s string) string { return runlet.SafeText(s) }

// message is the sentence a person reads for err.
func message(err error) string {
	var e *runlet.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}
