package cli

import (
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/runlet/runlet/internal/osservice"
)

// serverSettings are the flags of `runlet server` with the variable behind
// each; install records those given, the ones with secrets in the
// service's protected environment, never on its command line (which any
// user of the machine may read).
var serverSettings = []struct {
	flag, env    string
	secret, path bool
}{
	{flag: "listen", env: "RUNLET_LISTEN"},
	{flag: "data", env: "RUNLET_DATA", path: true},
	{flag: "db", env: "RUNLET_DB", secret: true},
	{flag: "broker", env: "RUNLET_BROKER", secret: true},
	{flag: "broker-listen", env: "RUNLET_BROKER_LISTEN"},
	{flag: "broker-timeout", env: "RUNLET_BROKER_TIMEOUT"},
	{flag: "broker-public-url", env: "RUNLET_BROKER_PUBLIC_URL"},
	{flag: "rabbitmq-management", env: "RUNLET_RABBITMQ_MANAGEMENT", secret: true},
	{flag: "rabbitmq-auth-secret", env: "RUNLET_RABBITMQ_AUTH_SECRET", secret: true},
	{flag: "public-url", env: "RUNLET_PUBLIC_URL"},
	{flag: "tls-cert", env: "RUNLET_TLS_CERT", path: true},
	{flag: "tls-key", env: "RUNLET_TLS_KEY", path: true},
	{flag: "trusted-proxy", env: "RUNLET_TRUSTED_PROXIES"},
	// An s3:// URL holds the object store's secret key; give a directory
	// as an absolute path (the service's working directory is not yours).
	{flag: "blobs", env: "RUNLET_BLOBS", secret: true},
}

// serverService is `runlet server install` and its siblings: this server,
// with the flags given, as a service.
func (m *Main) serverService(flags *pflag.FlagSet) serviceRole {
	return serviceRole{
		role:  "server",
		name:  "runlet-server",
		what:  "the Runlet server",
		flags: flags,
		install: `install makes the Runlet server a service of the operating system: started at
boot, started again 5 seconds after a failure, its logs where the platform
keeps them: the journal (journalctl -u runlet-server), a file under
/Library/Logs/Runlet (~/Library/Logs/Runlet with --user), the Application
event log on Windows (see 'runlet daemon install --help').

It takes the flags of 'runlet server' and records in the service those
given here or in RUNLET_* variables: --data always, as an absolute path,
and the plain settings (--listen, --public-url, ...) on its command line;
--db, --broker, --blobs, --rabbitmq-management, --rabbitmq-auth-secret and
RUNLET_ADMIN_PASSWORD, which hold secrets, in an environment only the
service's owner reads: a 0600 file beside the systemd unit
(/etc/runlet/runlet-server.env), the 0600 plist on macOS, the service's
registry key closed to all but Administrators on Windows. A system
service runs as the owner of the data directory (root when it does not
exist yet) unless --run-as names another account.

On its first start the server writes the admin's password (unless
RUNLET_ADMIN_PASSWORD gives it) and the enrollment token to its log; the
token is also in DATA/enroll-token. Installing again replaces the service.`,
		example: `  sudo runlet server install --data /var/lib/runlet --listen 0.0.0.0:8080
  sudo RUNLET_DB=postgres://runlet:secret@localhost/runlet runlet server install --data /var/lib/runlet
  runlet server install --user`,
		spec: func(name string, user bool, runAs string) (osservice.Spec, error) {
			var args []string
			secrets := map[string]string{}
			var data string
			for _, s := range serverSettings {
				f := flags.Lookup(s.flag)
				if f == nil || !f.Changed && m.getenv(s.env) == "" && s.flag != "data" {
					continue
				}
				v := flagValue(f)
				if s.path && v != "" {
					abs, err := filepath.Abs(v)
					if err != nil {
						return osservice.Spec{}, err
					}
					v = abs
				}
				switch {
				case s.flag == "data":
					data = v
				case v == "":
				case s.secret:
					secrets[s.env] = v
				default:
					args = append(args, "--"+s.flag+"="+v)
				}
			}
			if pw := m.getenv("RUNLET_ADMIN_PASSWORD"); pw != "" {
				secrets["RUNLET_ADMIN_PASSWORD"] = pw
			}
			exe, err := program()
			if err != nil {
				return osservice.Spec{}, err
			}
			acct, err := account(user, runAs, data)
			if err != nil {
				return osservice.Spec{}, err
			}
			return osservice.Spec{
				Name:        name,
				Description: "Runlet server for " + data,
				Program:     exe,
				Args:        append([]string{"server", "--data", data}, args...),
				User:        acct,
				Password:    m.password(),
				Dir:         data,
				Secrets:     secrets,
			}, nil
		},
	}
}
