package testenv

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Mailpit is a real SMTP server on loopback (github.com/axllent/mailpit,
// installed by .ci/run with `go install`) that keeps every message it is
// sent, for tests that must read the mail that arrived.
type Mailpit struct {
	// SMTPHost and SMTPPort are where it takes mail; HTTP is the base URL
	// of its API ("http://127.0.0.1:PORT").
	SMTPHost string
	SMTPPort int
	HTTP     string
}

// MailpitOptions say how the SMTP side behaves.
type MailpitOptions struct {
	// Auth accepts any username and password (PLAIN and LOGIN; over
	// plain text too when there is no certificate); without it the
	// server offers no AUTH.
	Auth bool
	// CertFile and KeyFile, when set, make the server offer STARTTLS
	// with that certificate, or, with ImplicitTLS, speak TLS from the
	// first byte (the port-465 way).
	CertFile, KeyFile string
	ImplicitTLS       bool
	// RequireSTARTTLS refuses mail from a client that did not start TLS.
	RequireSTARTTLS bool
}

// MailpitMessage is what Mailpit's API returns of one message.
type MailpitMessage struct {
	ID        string
	MessageID string
	From      *MailpitAddress
	To        []*MailpitAddress
	Subject   string
	Text      string
	Username  string
	// Headers are the message's headers, by name.
	Headers map[string][]string `json:"-"`
}

// MailpitAddress is a name and an address.
type MailpitAddress struct {
	Name    string
	Address string
}

// StartMailpit starts a Mailpit of the test's own on spare loopback ports,
// with its database in a temporary directory, waits until it answers, and
// stops it when the test ends. A test is skipped when mailpit is not
// installed (failed with RUNLET_REQUIRE_SERVICES=1).
func StartMailpit(t testing.TB, o MailpitOptions) *Mailpit {
	t.Helper()
	bin, err := exec.LookPath("mailpit")
	if err != nil {
		if gobin := goBin("mailpit"); gobin != "" {
			bin, err = gobin, nil
		}
	}
	if err != nil {
		Unavailable(t, "Mailpit (go install github.com/axllent/mailpit@v1.33.1)", err)
	}
	var last error
	for range 3 { // a spare port may be taken between asking and binding
		m, err := startMailpit(t, bin, o)
		if err == nil {
			return m
		}
		last = err
	}
	t.Fatalf("start mailpit: %v", last)
	return nil
}

func startMailpit(t testing.TB, bin string, o MailpitOptions) (*Mailpit, error) {
	smtpPort, err := sparePort()
	if err != nil {
		return nil, err
	}
	httpPort, err := sparePort()
	if err != nil {
		return nil, err
	}
	dir := t.TempDir()
	m := &Mailpit{SMTPHost: "127.0.0.1", SMTPPort: smtpPort, HTTP: "http://127.0.0.1:" + strconv.Itoa(httpPort)}
	args := []string{
		"--smtp", net.JoinHostPort(m.SMTPHost, strconv.Itoa(smtpPort)),
		"--listen", "127.0.0.1:" + strconv.Itoa(httpPort),
		"--database", filepath.Join(dir, "mp.db"),
		"--disable-version-check", "--smtp-disable-rdns", "--quiet",
	}
	if o.Auth {
		args = append(args, "--smtp-auth-accept-any")
		if o.CertFile == "" {
			args = append(args, "--smtp-auth-allow-insecure")
		}
	}
	if o.CertFile != "" {
		args = append(args, "--smtp-tls-cert", o.CertFile, "--smtp-tls-key", o.KeyFile)
		if o.ImplicitTLS {
			args = append(args, "--smtp-require-tls")
		}
		if o.RequireSTARTTLS {
			args = append(args, "--smtp-require-starttls")
		}
	}
	log, err := os.Create(filepath.Join(dir, "mailpit.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	exited := make(chan struct{}) // closed when it has exited, with waitErr set
	var waitErr error
	go func() { waitErr = cmd.Wait(); log.Close(); close(exited) }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	ready := Poll(30*time.Second, 50*time.Millisecond, func() bool {
		select {
		case <-exited:
			return true
		default:
		}
		resp, err := http.Get(m.HTTP + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK && Reachable(net.JoinHostPort(m.SMTPHost, strconv.Itoa(smtpPort))) == nil
	})
	select {
	case <-exited:
		out, _ := os.ReadFile(filepath.Join(dir, "mailpit.log"))
		return nil, fmt.Errorf("mailpit %s exited at start (%v): %s", strings.Join(args, " "), waitErr, out)
	default:
	}
	if !ready {
		stop()
		return nil, fmt.Errorf("mailpit did not answer on %s within 30s", m.HTTP)
	}
	t.Cleanup(stop)
	return m, nil
}

// Messages returns the messages Mailpit holds, newest first, each with its
// text and headers.
func (m *Mailpit) Messages(t testing.TB) []MailpitMessage {
	t.Helper()
	var list struct {
		Messages []struct{ ID string } `json:"messages"`
	}
	m.get(t, "/api/v1/messages", &list)
	out := make([]MailpitMessage, 0, len(list.Messages))
	for _, s := range list.Messages {
		var msg MailpitMessage
		m.get(t, "/api/v1/message/"+url.PathEscape(s.ID), &msg)
		m.get(t, "/api/v1/message/"+url.PathEscape(s.ID)+"/headers", &msg.Headers)
		out = append(out, msg)
	}
	return out
}

func (m *Mailpit) get(t testing.TB, path string, v any) {
	t.Helper()
	resp, err := http.Get(m.HTTP + path)
	if err != nil {
		t.Fatalf("mailpit: GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("mailpit: GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("mailpit: GET %s: decode: %v", path, err)
	}
}

// sparePort returns a loopback TCP port that was free a moment ago.
func sparePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// goBin returns the path of a tool installed by `go install` when it is
// there and not on PATH.
func goBin(name string) string {
	dirs := []string{os.Getenv("GOBIN")}
	if gp := os.Getenv("GOPATH"); gp != "" {
		dirs = append(dirs, filepath.Join(gp, "bin"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, "go", "bin"))
	}
	for _, d := range dirs {
		if d == "" {
			continue
		}
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	return ""
}
