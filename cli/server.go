package cli

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/cmd/assemble"
	"github.com/runlet/runlet/internal/osservice"
	"github.com/runlet/runlet/server"
)

// serverCommand is `runlet server`: the API, the embedded broker (unless
// --broker) and the database (SQLite unless --db) in one process.
func (m *Main) serverCommand() *cobra.Command {
	var cfg assemble.Config
	var brokerListen, brokerTimeout string
	env := func(k, def string) string {
		if v := m.getenv(k); v != "" {
			return v
		}
		return def
	}
	defData := "runlet-data"
	if h, err := os.UserHomeDir(); err == nil {
		defData = filepath.Join(h, ".runlet-server")
	}
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the Runlet server: API, database and broker",
		Long: `server runs the Runlet server: the JSON API (with its OpenAPI document at
/api/v1/openapi.json), the database (SQLite in the data directory unless
--db names a PostgreSQL URL) and, unless --broker names one, an embedded NATS
broker in the data directory.

On its first start it creates the workspace "default", the user
admin@localhost (password from RUNLET_ADMIN_PASSWORD, or generated and
printed once) and an enrollment token, printed and written to
DATA/enroll-token, for 'runlet @signin --token'.

The API and the embedded broker serve TLS with --tls-cert and --tls-key.
Without them, a server that listens beyond loopback makes a self-signed
certificate (DATA/tls-cert.pem, DATA/tls-key.pem), prints its fingerprint
once, and devices confirm it when they sign in; a server only this
machine can reach serves plain HTTP.

To run it as a service of the operating system, started at boot and
restarted after a failure: runlet server install (see its --help).`,
		Example: `  runlet server
  runlet server --listen 0.0.0.0:8080 --public-url https://pi-hub.local:8080
  runlet server --listen 0.0.0.0:443 --tls-cert /etc/runlet/cert.pem --tls-key /etc/runlet/key.pem
  runlet server --db postgres://runlet@localhost/runlet --broker amqp://runlet:secret@localhost/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if cfg.BrokerTimeout, err = time.ParseDuration(brokerTimeout); err != nil || cfg.BrokerTimeout <= 0 {
				return runlet.Errorf(runlet.EINVALID, "--broker-timeout (or RUNLET_BROKER_TIMEOUT) %q is not a positive duration: give it as 30s, 2m or 1m30s", brokerTimeout)
			}
			// Tuning for tests, from the environment only (not in --help):
			// the notification sender's claim and attempt timeout, and the
			// alert leader's longest sleep.
			for _, d := range []struct {
				env string
				to  *time.Duration
			}{{"RUNLET_NOTIFY_CLAIM", &cfg.NotifyClaim}, {"RUNLET_NOTIFY_TIMEOUT", &cfg.NotifyTimeout}, {"RUNLET_ALERT_POLL", &cfg.AlertPoll}, {"RUNLET_LOG_SWEEP", &cfg.LogSweep}} {
				if v := m.getenv(d.env); v != "" {
					if *d.to, err = time.ParseDuration(v); err != nil || *d.to <= 0 {
						return runlet.Errorf(runlet.EINVALID, "%s %q is not a positive duration: give it as 5s or 2m", d.env, v)
					}
				}
			}
			cfg.AdminPassword = m.getenv("RUNLET_ADMIN_PASSWORD")
			cfg.BrokerListen = brokerListen
			// Under the Windows service control manager, Serve answers it
			// and hands over the event log for the output.
			return osservice.Serve(cmd.Context(), m.Stdout, m.Stderr, func(ctx context.Context, stdout, stderr io.Writer) error {
				cfg.Out = stdout
				cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
				return assemble.Run(ctx, cfg)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Listen, "listen", env("RUNLET_LISTEN", server.DefaultListen), "address of the HTTP API (env RUNLET_LISTEN)")
	f.StringVar(&cfg.DataDir, "data", env("RUNLET_DATA", defData), "data directory: database, broker store, enrollment token (env RUNLET_DATA)")
	f.StringVar(&cfg.DB, "db", env("RUNLET_DB", ""), "database URL, sqlite:PATH or postgres://... (env RUNLET_DB; default sqlite:DATA/runlet.db)")
	f.StringVar(&cfg.Blobs, "blobs", env("RUNLET_BLOBS", ""), "object store URL for run logs: a directory (dir:///PATH or a path) or s3://ACCESS:SECRET@HOST:PORT/BUCKET?prefix=P&secure=false&region=R (env RUNLET_BLOBS; default DATA/blobs)")
	f.StringVar(&cfg.Broker, "broker", env("RUNLET_BROKER", ""), "broker URL with the server's credentials, nats://, amqp:// (env RUNLET_BROKER; default: embedded NATS)")
	f.StringVar(&brokerListen, "broker-listen", env("RUNLET_BROKER_LISTEN", assemble.DefaultBrokerListen), "address of the embedded broker (env RUNLET_BROKER_LISTEN)")
	f.StringVar(&brokerTimeout, "broker-timeout", env("RUNLET_BROKER_TIMEOUT", assemble.DefaultBrokerTimeout.String()), "how long to wait for --broker to answer at start before giving up (env RUNLET_BROKER_TIMEOUT)")
	f.StringVar(&cfg.BrokerPublicURL, "broker-public-url", env("RUNLET_BROKER_PUBLIC_URL", ""), "broker URL given to devices (env RUNLET_BROKER_PUBLIC_URL; default derived)")
	f.StringVar(&cfg.RabbitMQManagement, "rabbitmq-management", env("RUNLET_RABBITMQ_MANAGEMENT", ""), "with an amqp:// broker, its management API with an administrator's credentials, used to close the connections of revoked devices (default: the broker's host on port 15672 with the broker URL's credentials; env RUNLET_RABBITMQ_MANAGEMENT)")
	f.StringVar(&cfg.RabbitMQAuthSecret, "rabbitmq-auth-secret", env("RUNLET_RABBITMQ_AUTH_SECRET", ""), "with an amqp:// broker, serve RabbitMQ's HTTP auth backend at /rabbitmq/SECRET/... to any caller instead of /rabbitmq/... to loopback only (env RUNLET_RABBITMQ_AUTH_SECRET)")
	f.StringVar(&cfg.PublicURL, "public-url", env("RUNLET_PUBLIC_URL", ""), "URL devices and browsers reach the API at (env RUNLET_PUBLIC_URL; default http://LISTEN, https:// with TLS)")
	f.StringVar(&cfg.TLSCert, "tls-cert", env("RUNLET_TLS_CERT", ""), "PEM file of the certificate (and chain) the API and the embedded broker serve TLS with (env RUNLET_TLS_CERT; default: self-signed in DATA when listening beyond loopback)")
	f.StringVar(&cfg.TLSKey, "tls-key", env("RUNLET_TLS_KEY", ""), "PEM file of the key of --tls-cert (env RUNLET_TLS_KEY)")
	f.StringSliceVar(&cfg.TrustedProxies, "trusted-proxy", strings.FieldsFunc(env("RUNLET_TRUSTED_PROXIES", ""), func(r rune) bool { return r == ',' || r == ' ' }), "address or CIDR prefix of a reverse proxy whose X-Forwarded-For names the client, for the limits of sign-in; repeat or separate with commas (env RUNLET_TRUSTED_PROXIES; default none: the peer is the client)")
	cmd.AddCommand(m.serviceCommands(m.serverService(f))...)
	return cmd
}
