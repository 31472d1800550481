package embedded

import (
	"crypto/subtle"
	"fmt"
	"log/slog"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/runlet/runlet/bus"
	natsbus "github.com/runlet/runlet/bus/nats"
)

// serverUser is the user name of the in-process server principal; its
// password is a secret made at Start.
const serverUser = "$runlet-server"

// Principal is who a client is, as the Authenticator decides.
type Principal struct {
	// Workspace is the workspace the principal may use.
	Workspace string
	// Device, when set, lets the principal consume its own dispatch queue
	// (bus.DispatchQueue(Device)) and declare, without creating, the
	// status and telemetry queues it publishes to.
	Device string
	// Server principals may do everything in every workspace.
	Server bool
	// Queues names further queues of Workspace the principal may create,
	// consume and delete. Trust matters here: a principal allowed to create
	// a stream chooses its subjects, and could make it collect subjects of
	// another workspace that no queue collects yet.
	Queues []string
}

// Authenticator decides who a client is from its user and password; an
// error refuses the connection.
type Authenticator func(user, password string) (Principal, error)

// Permissions are the NATS permissions of p: nil (everything) for a
// server; otherwise its workspace's subjects, replies on _INBOX, and the
// JetStream API of the streams p may use, named one by one because a
// stream name is one subject token and cannot be matched by prefix.
func Permissions(p Principal) *server.Permissions {
	if p.Server {
		return nil
	}
	all := natsbus.Subject(p.Workspace, "#")
	pub := []string{all, "$JS.API.INFO"}
	if p.Device != "" {
		pub = append(pub, consume(natsbus.StreamName(p.Workspace, bus.DispatchQueue(p.Device)))...)
		for _, q := range []string{bus.StatusQueue, bus.TelemetryQueue} {
			pub = append(pub, "$JS.API.STREAM.INFO."+natsbus.StreamName(p.Workspace, q))
		}
	}
	for _, q := range p.Queues {
		pub = append(pub, manage(natsbus.StreamName(p.Workspace, q))...)
	}
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: pub},
		Subscribe: &server.SubjectPermission{Allow: []string{all, "_INBOX.>"}},
	}
}

// consume is what pulling from a stream through its durable consumer needs.
func consume(stream string) []string {
	return []string{
		"$JS.API.STREAM.INFO." + stream,
		"$JS.API.CONSUMER.CREATE." + stream + ".>",
		"$JS.API.CONSUMER.INFO." + stream + ".>",
		"$JS.API.CONSUMER.MSG.NEXT." + stream + ".>",
		"$JS.ACK." + stream + ".>",
	}
}

// manage adds creating, changing and deleting the stream.
func manage(stream string) []string {
	return append(consume(stream),
		"$JS.API.STREAM.CREATE."+stream,
		"$JS.API.STREAM.UPDATE."+stream,
		"$JS.API.STREAM.DELETE."+stream,
		"$JS.API.STREAM.PURGE."+stream,
		"$JS.API.CONSUMER.DELETE."+stream+".>",
	)
}

// authenticator is the server's CustomClientAuthentication.
type authenticator struct{ s *Server }

func (a *authenticator) Check(c server.ClientAuthentication) bool {
	o := c.GetOpts()
	if o.Username == serverUser {
		ok := subtle.ConstantTimeCompare([]byte(o.Password), []byte(a.s.secret)) == 1
		if ok {
			c.RegisterUser(&server.User{Username: serverUser})
		}
		return ok
	}
	if a.s.cfg.Authenticator == nil {
		c.RegisterUser(&server.User{Username: o.Username})
		return true
	}
	p, err := a.s.cfg.Authenticator(o.Username, o.Password)
	if err != nil {
		a.s.log.Info("refused a client", "user", o.Username, "remote", fmt.Sprint(c.RemoteAddress()), "err", err)
		return false
	}
	c.RegisterUser(&server.User{Username: o.Username, Permissions: Permissions(p)})
	return true
}

// logger passes the server's log lines to slog.
type logger struct{ l *slog.Logger }

func (l *logger) Noticef(f string, v ...any) { l.l.Info(fmt.Sprintf(f, v...)) }
func (l *logger) Warnf(f string, v ...any)   { l.l.Warn(fmt.Sprintf(f, v...)) }
func (l *logger) Fatalf(f string, v ...any)  { l.l.Error(fmt.Sprintf(f, v...)) }
func (l *logger) Errorf(f string, v ...any)  { l.l.Error(fmt.Sprintf(f, v...)) }
func (l *logger) Debugf(f string, v ...any)  { l.l.Debug(fmt.Sprintf(f, v...)) }
func (l *logger) Tracef(f string, v ...any)  { l.l.Debug(fmt.Sprintf(f, v...)) }
