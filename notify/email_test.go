package notify_test

import (
	"strings"
	"testing"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/notify"
	"github.com/runlet/runlet/store"
)

// E-mail through a real SMTP server on loopback (Mailpit), read back
// through its API: plain text, sign-in on loopback, STARTTLS with
// sign-in, and implicit TLS.
func TestEmailThroughMailpit(t *testing.T) {
	ca := testenv.NewCA(t)
	cert, key := ca.Issue(t)
	for _, c := range []struct {
		name string
		mp   testenv.MailpitOptions
		smtp store.SMTPSettings
	}{
		{"plain", testenv.MailpitOptions{}, store.SMTPSettings{TLS: notify.TLSNone}},
		{"plain with sign-in on loopback", testenv.MailpitOptions{Auth: true},
			store.SMTPSettings{TLS: notify.TLSNone, Username: "ana", Password: "pw"}},
		{"starttls with sign-in", testenv.MailpitOptions{Auth: true, CertFile: cert, KeyFile: key, RequireSTARTTLS: true},
			store.SMTPSettings{Username: "ana", Password: "pw"}},
		{"implicit tls", testenv.MailpitOptions{CertFile: cert, KeyFile: key, ImplicitTLS: true},
			store.SMTPSettings{TLS: notify.TLSImplicit}},
	} {
		t.Run(c.name, func(t *testing.T) {
			mp := testenv.StartMailpit(t, c.mp)
			e := newEnv(t)
			set := c.smtp
			set.Host, set.Port, set.From = mp.SMTPHost, mp.SMTPPort, "Runlet alerts <alerts@example.com>"
			e.settings(store.NotifySettings{SMTP: set})
			s := e.service(func(cfg *notify.Config) { cfg.RootCAs = ca.Pool })
			n := e.queue(e.channel(runlet.ChannelEmail, "ana@example.com", ""))[0]
			e.step(s)
			e.wantState(n.ID, runlet.NotificationSent, 1)

			msgs := mp.Messages(t)
			if len(msgs) != 1 {
				t.Fatalf("Mailpit holds %d messages, want 1", len(msgs))
			}
			m := msgs[0]
			if m.Subject != n.Subject {
				t.Errorf("subject %q, want %q", m.Subject, n.Subject)
			}
			if len(m.To) != 1 || m.To[0].Address != "ana@example.com" {
				t.Errorf("to %+v, want ana@example.com", m.To)
			}
			if m.From == nil || m.From.Address != "alerts@example.com" || m.From.Name != "Runlet alerts" {
				t.Errorf("from %+v", m.From)
			}
			if strings.TrimSpace(strings.ReplaceAll(m.Text, "\r\n", "\n")) != n.Body {
				t.Errorf("body %q, want %q", m.Text, n.Body)
			}
			if got := m.Headers[notify.HeaderKey]; len(got) != 1 || got[0] != n.Key {
				t.Errorf("%s: %q, want %q", notify.HeaderKey, got, n.Key)
			}
			if !strings.Contains(m.MessageID, n.Key) {
				t.Errorf("Message-ID %q is not derived from the key %q", m.MessageID, n.Key)
			}
			if c.smtp.Username != "" && m.Username != c.smtp.Username {
				t.Errorf("signed in as %q, want %q", m.Username, c.smtp.Username)
			}
		})
	}
}

// A server whose certificate nobody vouches for fails the e-mail at once,
// with a reason that says so.
func TestEmailUntrustedCertificate(t *testing.T) {
	cert, key := testenv.SelfSignedCert(t)
	mp := testenv.StartMailpit(t, testenv.MailpitOptions{CertFile: cert, KeyFile: key})
	e := newEnv(t)
	e.settings(store.NotifySettings{SMTP: store.SMTPSettings{Host: mp.SMTPHost, Port: mp.SMTPPort, From: "alerts@example.com"}})
	s := e.service(nil)
	n := e.queue(e.channel(runlet.ChannelEmail, "ana@example.com", ""))[0]
	e.step(s)
	got := e.wantState(n.ID, runlet.NotificationFailed, 1)
	if !strings.Contains(got.Error, "cannot be trusted") {
		t.Errorf("reason %q", got.Error)
	}
	if msgs := mp.Messages(t); len(msgs) != 0 {
		t.Errorf("Mailpit holds %d messages, want none", len(msgs))
	}
}

// Settings that cannot work fail the e-mail at once with a reason for the
// admin: no server, a bad address.
func TestEmailBadSettings(t *testing.T) {
	e := newEnv(t)
	s := e.service(nil)
	for _, c := range []struct {
		smtp   store.SMTPSettings
		target string
		want   string
	}{
		{store.SMTPSettings{}, "ana@example.com", "has no SMTP server"},
		{store.SMTPSettings{Host: "127.0.0.1", From: "alerts@example.com", TLS: "ssl"}, "ana@example.com", "say starttls, tls or none"},
		{store.SMTPSettings{Host: "127.0.0.1", From: "alerts@example.com", TLS: "none"}, "not an address", "is not an e-mail address"},
		{store.SMTPSettings{Host: "127.0.0.1", TLS: "none"}, "ana@example.com", "From address"},
	} {
		e.settings(store.NotifySettings{SMTP: c.smtp})
		n := e.queue(e.channel(runlet.ChannelEmail, c.target, ""))[0]
		e.step(s)
		got := e.wantState(n.ID, runlet.NotificationFailed, 1)
		if !strings.Contains(got.Error, c.want) {
			t.Errorf("%+v to %q: reason %q, want it to say %q", c.smtp, c.target, got.Error, c.want)
		}
	}
}
