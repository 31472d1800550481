package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/cmd/assemble"
	"github.com/runlet/runlet/daemon"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/server"
)

// upCommand is `runlet up`: the one command a newcomer runs. A server with
// the embedded defaults plus a daemon for this machine, signed in with the
// server's own enrollment token, in one process.
func (m *Main) upCommand() *cobra.Command {
	var listen, brokerListen, data, name string
	defData := "runlet-data"
	if h, err := os.UserHomeDir(); err == nil {
		defData = filepath.Join(h, ".runlet-server")
	}
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Start a server and a daemon for this machine, signed in: Runlet in one command",
		Long: `up starts everything a single machine needs: the server (API, SQLite,
embedded NATS broker, all in the data directory) and a daemon for this
machine, signed in to that server automatically. It prints where the API
listens and, on the first start, the admin password.

From another terminal on this machine, run jobs on it:

  runlet @config apply -f jobs.yaml
  runlet @run hello

Other machines join with the 'runlet @signin' command that up prints.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return m.up(cmd.Context(), listen, brokerListen, data, name)
		},
	}
	host, _ := os.Hostname()
	cmd.Flags().StringVar(&listen, "listen", m.getenvOr("RUNLET_LISTEN", server.DefaultListen), "address of the HTTP API (env RUNLET_LISTEN)")
	cmd.Flags().StringVar(&brokerListen, "broker-listen", m.getenvOr("RUNLET_BROKER_LISTEN", assemble.DefaultBrokerListen), "address of the embedded broker (env RUNLET_BROKER_LISTEN)")
	cmd.Flags().StringVar(&data, "data", m.getenvOr("RUNLET_DATA", defData), "server data directory (env RUNLET_DATA)")
	cmd.Flags().StringVar(&name, "name", host, "this machine's device name")
	return cmd
}

func (m *Main) getenvOr(k, def string) string {
	if v := m.getenv(k); v != "" {
		return v
	}
	return def
}

func (m *Main) up(ctx context.Context, listen, brokerListen, data, name string) error {
	logger := slog.New(slog.NewTextHandler(m.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := assemble.Start(ctx, assemble.Config{
		Config:        server.Config{Listen: listen, DataDir: data, Logger: logger, Out: m.Stdout},
		BrokerListen:  brokerListen,
		AdminPassword: m.getenv("RUNLET_ADMIN_PASSWORD"),
	})
	if err != nil {
		return err
	}
	defer srv.Close()

	dir := home.Dir(m.home)
	creds, err := m.upCredentials(ctx, srv, dir, name)
	if err != nil {
		return err
	}
	d, err := daemon.New(daemon.Config{Home: dir, Credentials: creds, Logger: logger, Version: Version, RootCAs: m.RootCAs, Dial: assemble.Dial})
	if err != nil {
		return err
	}
	token, _ := srv.EnrollToken()
	fmt.Fprintf(m.Stdout, `
Runlet is up.
  API and web:   %s
  this device:   %s (home %s)
  other devices: %s

Stop with Ctrl-C.
`, srv.URL(), creds.Device, dir, srv.SigninCommand(token))
	err = d.Run(ctx)
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// upCredentials signs this machine in to srv with the server's enrollment
// token, unless the home already holds credentials for that server.
func (m *Main) upCredentials(ctx context.Context, srv *assemble.Server, dir home.Dir, name string) (*home.Credentials, error) {
	// The server is this process: its certificate needs no confirming.
	pin := srv.Fingerprint()
	if c, err := dir.Credentials(); err == nil && c.Server == srv.URL() && c.ServerFingerprint == pin {
		if _, err := m.deviceClient(c).Whoami(ctx); err == nil {
			return c, nil
		}
	}
	token, err := srv.EnrollToken()
	if err != nil {
		return nil, err
	}
	client := m.apiClient(srv.URL(), "")
	client.HTTP = m.pinnedHTTP(pin)
	c, err := client.Enroll(ctx, api.EnrollRequest{
		Token: token, Name: name, OS: runtime.GOOS, Arch: runtime.GOARCH, Version: Version,
	})
	if runlet.ErrorCode(err) == runlet.ECONFLICT {
		return nil, runlet.Errorf(runlet.ECONFLICT, "a device named %q is already signed in to this server but %s has no credentials for it; start with --name OTHER, or use the --home that signed it in", name, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("sign this machine in: %w", err)
	}
	c.ServerFingerprint = pin
	if err := dir.SaveCredentials(c); err != nil {
		return nil, err
	}
	return c, nil
}
