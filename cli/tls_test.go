package cli_test

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/cli"
	"github.com/runlet/runlet/cmd/assemble"
	"github.com/runlet/runlet/daemon"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/tlspin"
)

const helloJob = `
hello:
  script: |
    echo "hello from $RUNLET_DEVICE"
    exit 3
`

// TestSigninPinsSelfSignedCertificate: a server whose certificate no
// authority vouches for is refused unattended until the fingerprint is
// given, and refused with a wrong one; the device then pins it, and the
// CLI (API and broker) and the daemon (broker) work over TLS.
func TestSigninPinsSelfSignedCertificate(t *testing.T) {
	certFile, keyFile := testenv.SelfSignedCert(t)
	f := startFleet(t, withTLS(certFile, keyFile))
	fp := f.srv.Fingerprint()
	tok, err := f.srv.EnrollToken()
	if err != nil {
		t.Fatal(err)
	}
	h := filepath.Join(t.TempDir(), "pi")
	signin := []string{"@signin", "--server", f.url, "--name", "pi", "--token", tok}

	r := runIn(t, h, "", signin...)
	if r.code == 0 || !strings.Contains(r.err, "--fingerprint "+fp) {
		t.Errorf("unattended without --fingerprint: exit %d, want a refusal that says how to pass %s\n%s%s", r.code, fp, r.out, r.err)
	}
	other := tlspin.Fingerprint(testenv.CertFile(t, first(testenv.SelfSignedCert(t))))
	r = runIn(t, h, "", append(signin, "--fingerprint", other)...)
	if r.code == 0 || !strings.Contains(r.err, fp) || !strings.Contains(r.err, other) {
		t.Errorf("a wrong --fingerprint: exit %d, want a refusal naming %s and %s\n%s%s", r.code, fp, other, r.out, r.err)
	}
	if _, err := os.Stat(filepath.Join(h, "credentials.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a refused sign-in saved credentials: %v", err)
	}

	r = runIn(t, h, "", append(signin, "--fingerprint", opensslFingerprint(t, certFile))...)
	if r.code != 0 {
		t.Fatalf("signin with the fingerprint as openssl prints it: exit %d\n%s%s", r.code, r.out, r.err)
	}
	cred, err := home.Dir(h).Credentials()
	if err != nil {
		t.Fatal(err)
	}
	if cred.ServerFingerprint != fp || !strings.HasPrefix(cred.Server, "https://") || !strings.HasPrefix(cred.Broker, "tls://") {
		t.Fatalf("credentials: server %s, broker %s, pin %q; want https, tls and %s", cred.Server, cred.Broker, cred.ServerFingerprint, fp)
	}

	box := signinPinned(f, "box")
	runDaemon(t, daemon.Config{Home: home.Dir(box)})
	applyJobs(t, h, helloJob)
	waitOnline(t, h, "box")
	r = runIn(t, h, "", "@run", "hello", "--on", "box")
	if r.code != 3 || !strings.Contains(r.out, "hello from box") {
		t.Fatalf("run over TLS: exit %d, want 3\n%s%s", r.code, r.out, r.err)
	}
}

// TestChangedCertificateIsRefused restarts the server with another
// certificate: the CLI and the daemon refuse it, naming both fingerprints;
// @signin refuses it unattended until given the new fingerprint, then
// pins it and everything works again.
func TestChangedCertificateIsRefused(t *testing.T) {
	certA, keyA := testenv.SelfSignedCert(t)
	certB, keyB := testenv.SelfSignedCert(t)
	data := t.TempDir()
	f := startFleet(t, withTLS(certA, keyA), func(c *assemble.Config) { c.DataDir = data })
	was := f.srv.Fingerprint()
	h := signinPinned(f, "pi")
	u, err := url.Parse(f.srv.BrokerURL())
	if err != nil {
		t.Fatal(err)
	}
	addr := f.srv.Addr()
	f.srv.Close()
	f = startFleet(t, withTLS(certB, keyB), func(c *assemble.Config) { c.DataDir, c.Listen, c.BrokerListen = data, addr, u.Host })
	now := f.srv.Fingerprint()
	changed := fmt.Sprintf("was %s, now %s", was, now)

	r := runIn(t, h, "", "devices")
	if r.code == 0 || !strings.Contains(r.err, changed) || !strings.Contains(r.err, "runlet @signin") {
		t.Errorf("devices: exit %d, want the certificate refused (%s)\n%s%s", r.code, changed, r.out, r.err)
	}
	d, err := daemon.New(daemon.Config{Home: home.Dir(h), Logger: testLogger(t), Dial: assemble.Dial})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	err = d.Run(ctx)
	if msg := runlet.ErrorMessage(err); !strings.Contains(msg, changed) || !strings.Contains(msg, "runlet @signin") || time.Since(start) > 30*time.Second {
		t.Errorf("daemon: %v after %s, want the certificate refused at once (%s)", err, time.Since(start), changed)
	}

	r = runIn(t, h, "", "@signin")
	if r.code == 0 || !strings.Contains(r.err, changed) || !strings.Contains(r.err, "--fingerprint "+now) {
		t.Errorf("@signin unattended: exit %d, want a refusal naming both and how to confirm\n%s%s", r.code, r.out, r.err)
	}
	r = runIn(t, h, "", "@signin", "--fingerprint", now)
	if r.code != 0 || !strings.Contains(r.out, now) {
		t.Fatalf("@signin --fingerprint NEW: exit %d\n%s%s", r.code, r.out, r.err)
	}
	if r := runIn(t, h, "", "@signin", "--fingerprint", now); r.code == 0 || !strings.Contains(r.err, "already signed in") {
		t.Errorf("@signin once more: exit %d, want 'already signed in'\n%s%s", r.code, r.out, r.err)
	}
	runDaemon(t, daemon.Config{Home: home.Dir(h)})
	waitOnline(t, h, "pi")
}

// TestSigninTrustsCertificateOfAuthority: a certificate signed by an
// authority the machine trusts needs no confirming and is not pinned.
func TestSigninTrustsCertificateOfAuthority(t *testing.T) {
	ca := testenv.NewCA(t)
	f := startFleet(t, withTLS(ca.Issue(t)))
	tok, err := f.srv.EnrollToken()
	if err != nil {
		t.Fatal(err)
	}
	h := filepath.Join(t.TempDir(), "pi")
	r := runRoots(t, h, ca.Pool, "@signin", "--server", f.url, "--name", "pi", "--token", tok)
	if r.code != 0 {
		t.Fatalf("signin: exit %d\n%s%s", r.code, r.out, r.err)
	}
	cred, err := home.Dir(h).Credentials()
	if err != nil {
		t.Fatal(err)
	}
	if cred.ServerFingerprint != "" {
		t.Errorf("pinned %s, want no pin", cred.ServerFingerprint)
	}
	runDaemon(t, daemon.Config{Home: home.Dir(h), RootCAs: ca.Pool})
	if !testenv.Poll(30*time.Second, 100*time.Millisecond, func() bool {
		r = runRoots(t, h, ca.Pool, "devices")
		return onlineIn(r.out, "pi")
	}) {
		t.Fatalf("the daemon is not online over TLS:\n%s%s", r.out, r.err)
	}
	// Without the authority, the same certificate is one to confirm.
	r = runIn(t, filepath.Join(t.TempDir(), "other"), "", "@signin", "--server", f.url, "--name", "other", "--token", tok)
	if r.code == 0 || !strings.Contains(r.err, "--fingerprint") {
		t.Errorf("signin without the authority: exit %d\n%s%s", r.code, r.out, r.err)
	}
}

func withTLS(certFile, keyFile string) func(*assemble.Config) {
	return func(c *assemble.Config) { c.TLSCert, c.TLSKey = certFile, keyFile }
}

// signinPinned makes a new home signed in as name, trusting the server's
// certificate by its fingerprint.
func signinPinned(f *fleet, name string) string {
	f.t.Helper()
	tok, err := f.srv.EnrollToken()
	if err != nil {
		f.t.Fatal(err)
	}
	h := filepath.Join(f.t.TempDir(), name)
	r := runIn(f.t, h, "", "@signin", "--server", f.url, "--name", name, "--token", tok, "--fingerprint", f.srv.Fingerprint())
	if r.code != 0 {
		f.t.Fatalf("signin %s: exit %d\n%s%s", name, r.code, r.out, r.err)
	}
	return h
}

// runDaemon runs a daemon in this process until the test ends.
func runDaemon(t *testing.T, cfg daemon.Config) {
	t.Helper()
	cfg.Logger, cfg.Version, cfg.StopGrace, cfg.Dial = testLogger(t), "test", 2*time.Second, assemble.Dial
	d, err := daemon.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := d.Run(ctx); err != nil && ctx.Err() == nil {
			t.Errorf("daemon %s: %v", cfg.Home, err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// runRoots runs the CLI trusting the authorities of roots.
func runRoots(t *testing.T, h string, roots *x509.CertPool, args ...string) result {
	t.Helper()
	var out, errb testenv.Buffer
	m := &cli.Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }, RootCAs: roots}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	code := m.Run(ctx, append([]string{"--home", h}, args...))
	return result{code: code, out: out.String(), err: errb.String()}
}

// opensslFingerprint is the fingerprint of the certificate in path as
// `openssl x509 -noout -fingerprint -sha256` prints it.
func opensslFingerprint(t *testing.T, path string) string {
	sum := sha256.Sum256(testenv.CertFile(t, path).Raw)
	pairs := make([]string, len(sum))
	for i, b := range sum {
		pairs[i] = fmt.Sprintf("%02X", b)
	}
	return "sha256 Fingerprint=" + strings.Join(pairs, ":")
}

func first(a, _ string) string { return a }
