package embedded

import (
	"crypto/subtle"
	"fmt"
	"log/slog"
	"strings"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/runlet/runlet/bus"
	natsbus "github.com/runlet/runlet/bus/nats"
)

// serverUser is the user name of the in-process server principal; its
// password is a secret made at Start.
const serverUser = "$runlet-server"

// Authenticator decides who a client is from its user and password; an
// error refuses the connection.
type Authenticator func(user, password string) (bus.Principal, error)

// Permissions are the NATS permissions of p, connected as user, generated
// from bus.PolicyFor(p) and nothing else: nil (everything) for a server of
// every workspace; otherwise the subjects of the policy's keys in p's
// workspace, replies on the user's own inbox prefix
// (natsbus.InboxPrefix), and the JetStream API of the streams p may use,
// named one by one because a stream name is one subject token and cannot
// be matched by prefix. Nothing account-wide ($JS.API.INFO, stream
// lists) is granted to anyone but a server of every workspace.
func Permissions(p bus.Principal, user string) *server.Permissions {
	pol := bus.PolicyFor(p)
	if pol.All && p.Workspace == "" {
		return nil
	}
	ws := p.Workspace
	var pub, sub []string
	if pol.All {
		pub, sub = natsbus.PublishSubjects(ws, "#"), []string{natsbus.Subject(ws, "#")}
	}
	for _, k := range pol.Publish {
		pub = append(pub, natsbus.PublishSubjects(ws, k)...)
	}
	for _, k := range pol.Subscribe {
		sub = append(sub, natsbus.Subject(ws, k))
	}
	for _, q := range pol.Consume {
		pub = append(pub, consume(natsbus.StreamName(ws, q.Name))...)
	}
	for _, q := range pol.Read {
		pub = append(pub, "$JS.API.STREAM.INFO."+natsbus.StreamName(ws, q))
	}
	for _, q := range pol.Manage {
		pub = append(pub, manage(natsbus.StreamName(ws, q))...)
	}
	sub = append(sub, natsbus.InboxPrefix(user)+".>")
	if len(pub) == 0 {
		pub = []string{deny}
	}
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: pub},
		Subscribe: &server.SubjectPermission{Allow: sub},
	}
}

// deny is a subject no client uses: an allow list with it alone allows
// nothing (an empty list would allow everything).
const deny = "$RUNLET.NOTHING"

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
	c.RegisterUser(&server.User{Username: o.Username, Permissions: Permissions(p, o.Username)})
	a.s.remember(o.Username, p)
	return true
}

// logger passes the server's log lines to slog.
type logger struct{ l *slog.Logger }

// Noticef is nats-server's chatter (its banner, JetStream's settings,
// start and shutdown): debug for a runlet server, whose own log says it
// started; a slow consumer is worth a warning.
func (l *logger) Noticef(f string, v ...any) {
	msg := fmt.Sprintf(f, v...)
	if strings.Contains(msg, "Slow Consumer") {
		l.l.Warn(msg)
		return
	}
	l.l.Debug(msg)
}
func (l *logger) Warnf(f string, v ...any)  { l.l.Warn(fmt.Sprintf(f, v...)) }
func (l *logger) Fatalf(f string, v ...any) { l.l.Error(fmt.Sprintf(f, v...)) }
func (l *logger) Errorf(f string, v ...any) {
	msg := fmt.Sprintf(f, v...)
	// A refused client (a revoked device retrying, a wrong password) is
	// the broker doing its job, not an error of the server's.
	if strings.Contains(msg, "authentication error") {
		l.l.Warn(msg)
		return
	}
	l.l.Error(msg)
}
func (l *logger) Debugf(f string, v ...any) { l.l.Debug(fmt.Sprintf(f, v...)) }
func (l *logger) Tracef(f string, v ...any) { l.l.Debug(fmt.Sprintf(f, v...)) }

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
