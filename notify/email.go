package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
)

// The SMTP connection's TLS modes (store.SMTPSettings.TLS).
const (
	TLSStartTLS = "starttls"
	TLSImplicit = "tls"
	TLSNone     = "none"
)

// HeaderKey is the e-mail header that carries the notification's
// idempotency key.
const HeaderKey = "X-Runlet-Key"

// Email sends a notification as a plain-text e-mail through the
// workspace's SMTP server (store.SMTPSettings): STARTTLS by default,
// implicit TLS or none; PLAIN or LOGIN auth when a username is set, only
// over TLS unless the server is on loopback.
type Email struct {
	Now func() time.Time
	// RootCAs are the authorities the server's certificate is checked
	// against; nil means the system's.
	RootCAs *x509.CertPool
}

var _ Sender = (*Email)(nil)

// Send delivers n to the channel's address.
func (e *Email) Send(ctx context.Context, n runlet.Notification, ch runlet.Channel, _ string, set store.NotifySettings) error {
	s := set.SMTP
	if s.Host == "" {
		return permanentf("the workspace has no SMTP server; set it in the notification settings")
	}
	from, err := mail.ParseAddress(s.From)
	if err != nil {
		return permanentf("the SMTP settings' From address %q is not an e-mail address: %w", s.From, err)
	}
	to, err := mail.ParseAddress(target(n, ch))
	if err != nil {
		return permanentf("the channel's address %q is not an e-mail address: %w", target(n, ch), err)
	}
	mode, port, err := smtpMode(s)
	if err != nil {
		return err
	}
	msg := e.message(n, from, to)
	c, err := dialSMTP(ctx, s, mode, port, e.RootCAs)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { c.Close() }) // a hanging server ends at the deadline
	defer stop()
	defer c.Close()
	if err := converse(c, s, e.RootCAs, mode, from.Address, to.Address, msg); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("the SMTP server at %s did not finish in time: %w", net.JoinHostPort(s.Host, strconv.Itoa(port)), ctx.Err())
		}
		return err
	}
	return nil
}

// smtpMode returns the TLS mode and port of s.
func smtpMode(s store.SMTPSettings) (mode string, port int, err error) {
	mode = strings.ToLower(s.TLS)
	if mode == "" {
		mode = TLSStartTLS
	}
	def := map[string]int{TLSStartTLS: 587, TLSImplicit: 465, TLSNone: 25}
	p, ok := def[mode]
	if !ok {
		return "", 0, permanentf("the SMTP settings' tls is %q; say starttls, tls or none", s.TLS)
	}
	if s.Port != 0 {
		p = s.Port
	}
	return mode, p, nil
}

func dialSMTP(ctx context.Context, s store.SMTPSettings, mode string, port int, roots *x509.CertPool) (*smtp.Client, error) {
	addr := net.JoinHostPort(s.Host, strconv.Itoa(port))
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("connect to the SMTP server at %s: %w", addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if mode == TLSImplicit {
		tc := tls.Client(conn, tlsConfig(s, roots))
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, classifyTLS(addr, err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, s.Host)
	if err != nil {
		conn.Close()
		return nil, smtpError("greet the SMTP server at "+addr, err)
	}
	return c, nil
}

func tlsConfig(s store.SMTPSettings, roots *x509.CertPool) *tls.Config {
	return &tls.Config{ServerName: s.Host, RootCAs: roots, InsecureSkipVerify: s.InsecureSkipVerify, MinVersion: tls.VersionTLS12}
}

// converse is the SMTP dialogue after the greeting.
func converse(c *smtp.Client, s store.SMTPSettings, roots *x509.CertPool, mode, from, to string, msg []byte) error {
	if err := c.Hello(helloName()); err != nil {
		return smtpError("say hello to the SMTP server", err)
	}
	if mode == TLSStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return permanentf("the SMTP server %s does not offer STARTTLS; use tls (port 465) or, on loopback only, none", s.Host)
		}
		if err := c.StartTLS(tlsConfig(s, roots)); err != nil {
			return classifyTLS(s.Host, err)
		}
	}
	if s.Username != "" {
		a, err := pickAuth(c, s)
		if err != nil {
			return err
		}
		if err := c.Auth(a); err != nil {
			return smtpError("sign in to the SMTP server as "+s.Username, err)
		}
	}
	if err := c.Mail(from); err != nil {
		return smtpError("the SMTP server refused the sender "+from, err)
	}
	if err := c.Rcpt(to); err != nil {
		return smtpError("the SMTP server refused the recipient "+to, err)
	}
	w, err := c.Data()
	if err != nil {
		return smtpError("start the message", err)
	}
	if _, err := w.Write(msg); err != nil {
		return smtpError("send the message", err)
	}
	if err := w.Close(); err != nil {
		return smtpError("the SMTP server refused the message", err)
	}
	_ = c.Quit() // the message is taken; a failed goodbye changes nothing
	return nil
}

// pickAuth chooses PLAIN, else LOGIN, among what the server offers.
func pickAuth(c *smtp.Client, s store.SMTPSettings) (smtp.Auth, error) {
	ok, mechs := c.Extension("AUTH")
	if !ok {
		return nil, permanentf("the SMTP server %s offers no sign-in, but the settings have a username", s.Host)
	}
	offered := strings.Fields(strings.ToUpper(mechs))
	has := func(m string) bool {
		for _, o := range offered {
			if o == m {
				return true
			}
		}
		return false
	}
	switch {
	case has("PLAIN"):
		return &plainAuth{user: s.Username, pass: s.Password, host: s.Host}, nil
	case has("LOGIN"):
		return &loginAuth{user: s.Username, pass: s.Password, host: s.Host}, nil
	}
	return nil, permanentf("the SMTP server %s offers sign-in by %s, and runlet speaks PLAIN and LOGIN", s.Host, mechs)
}

// checkTLS refuses to send a password in clear to a server that is
// not on loopback.
func checkTLS(server *smtp.ServerInfo, host string) error {
	if server.TLS || isLoopback(host) {
		return nil
	}
	return permanentf("refusing to send the SMTP password to %s without TLS; use starttls or tls", host)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// plainAuth is RFC 4616 PLAIN (net/smtp's PlainAuth, with the loopback
// rule above and an error that says why).
type plainAuth struct{ user, pass, host string }

func (a *plainAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if err := checkTLS(server, a.host); err != nil {
		return "", nil, err
	}
	return "PLAIN", []byte("\x00" + a.user + "\x00" + a.pass), nil
}

func (a *plainAuth) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return nil, errors.New("the SMTP server asked for more after PLAIN sign-in")
	}
	return nil, nil
}

// loginAuth is the LOGIN mechanism: the server asks for the username,
// then the password.
type loginAuth struct{ user, pass, host string }

func (a *loginAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if err := checkTLS(server, a.host); err != nil {
		return "", nil, err
	}
	return "LOGIN", nil, nil
}

func (a *loginAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	switch strings.ToLower(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(string(fromServer)), ":"))) {
	case "username", "user name", "user":
		return []byte(a.user), nil
	case "password":
		return []byte(a.pass), nil
	}
	return nil, fmt.Errorf("the SMTP server asked %q during LOGIN sign-in", fromServer)
}

// smtpError words err for the person who reads the notification's record
// and marks the server's 5xx answers permanent.
func smtpError(what string, err error) error {
	if IsPermanent(err) {
		return err
	}
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return permanentf("%s: %w", what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// classifyTLS makes a certificate the server's that cannot be checked a
// permanent error: trying again does not change it.
func classifyTLS(where string, err error) error {
	var cv *tls.CertificateVerificationError
	if errors.As(err, &cv) {
		return permanentf("the SMTP server %s's certificate cannot be trusted (set insecureSkipVerify only for a test server): %w", where, err)
	}
	return fmt.Errorf("start TLS with the SMTP server %s: %w", where, err)
}

// message renders n as a plain-text e-mail.
func (e *Email) message(n runlet.Notification, from, to *mail.Address) []byte {
	var b bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	h("From", from.String())
	h("To", to.String())
	h("Subject", mime.QEncoding.Encode("utf-8", oneLine(n.Subject, 900)))
	h("Date", e.Now().Format(time.RFC1123Z))
	h("Message-ID", messageID(n, from.Address))
	if n.Key != "" {
		h(HeaderKey, headerSafe(n.Key))
	}
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	body := strings.ReplaceAll(strings.ReplaceAll(n.Body, "\r\n", "\n"), "\n", "\r\n")
	_, _ = qp.Write([]byte(body))
	_ = qp.Close()
	b.WriteString("\r\n")
	return b.Bytes()
}

// messageID derives the Message-ID from the idempotency key, so that a
// message sent twice is one message to a mail client.
func messageID(n runlet.Notification, fromAddr string) string {
	local := n.Key
	if local == "" {
		local = "notification-" + strconv.FormatInt(n.ID, 10)
	}
	local = strings.Map(func(r rune) rune {
		if r < 128 && (r == '-' || r == '.' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return r
		}
		return '_'
	}, local)
	domain := "runlet"
	if i := strings.LastIndexByte(fromAddr, '@'); i >= 0 && i+1 < len(fromAddr) {
		domain = fromAddr[i+1:]
	}
	return "<" + local + "@" + domain + ">"
}

// headerSafe drops line breaks, which would start another header.
func headerSafe(s string) string {
	return strings.NewReplacer("\r", "", "\n", " ").Replace(s)
}

// helloName is the name runlet gives in EHLO: the host's, or localhost.
func helloName() string {
	h, err := os.Hostname()
	if err != nil || h == "" || strings.ContainsAny(h, " \r\n") {
		return "localhost"
	}
	return h
}
