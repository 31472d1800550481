package server_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/bus"
	natsbus "github.com/runlet/runlet/bus/nats"
	"github.com/runlet/runlet/cmd/assemble"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/server"
	"github.com/runlet/runlet/tlspin"
)

// TestServerServesTLS gives the server a certificate: the API is HTTPS
// only, devices get a tls:// broker that takes them with the pinned
// certificate, and refuses them without it or in plaintext.
func TestServerServesTLS(t *testing.T) {
	certFile, keyFile := testenv.SelfSignedCert(t)
	fp := tlspin.Fingerprint(testenv.CertFile(t, certFile))
	s := startServer(t, func(c *assemble.Config) { c.TLSCert, c.TLSKey = certFile, keyFile })
	if !strings.HasPrefix(s.URL(), "https://") || !strings.HasPrefix(s.BrokerURL(), "tls://") || s.Fingerprint() != fp {
		t.Fatalf("API %s, broker %s, fingerprint %s; want https, tls and %s", s.URL(), s.BrokerURL(), s.Fingerprint(), fp)
	}
	if cmd := s.SigninCommand("TOKEN"); !strings.HasSuffix(cmd, "--fingerprint "+fp) {
		t.Errorf("signin command %q does not pass the fingerprint", cmd)
	}

	// The API: over TLS with the pin; plain HTTP gets no answer of the API.
	cred := enrollPinned(t, s.Server, "pi-1", fp)
	if resp, err := http.Get("http://" + s.Addr() + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("the API answered plain HTTP")
		}
	}
	if !strings.HasPrefix(cred.Broker, "tls://") {
		t.Errorf("the device's broker is %s, want tls://", cred.Broker)
	}

	// The broker: TLS with the pin.
	b, err := pinnedBus(cred, tlspin.Config(fp, nil), 30*time.Second)
	if err != nil {
		t.Fatalf("the device cannot join the broker over TLS: %v", err)
	}
	sub, err := b.Subscribe(ctxT(t), cred.Workspace, bus.InputPatternForDevice(cred.Device), func(bus.Message) {})
	if err != nil {
		t.Fatalf("subscribe over TLS: %v", err)
	}
	sub.Close()
	b.Close()

	// Without the pin the certificate is refused at once, not retried.
	start := time.Now()
	_, err = pinnedBus(cred, nil, 30*time.Second)
	var ve *tls.CertificateVerificationError
	if !errors.As(err, &ve) || time.Since(start) > 10*time.Second {
		t.Errorf("unpinned: err %v after %s, want a certificate error at once", err, time.Since(start))
	}
	// Another pin: refused, saying both fingerprints.
	other := tlspin.Fingerprint(testenv.CertFile(t, first(testenv.SelfSignedCert(t))))
	_, err = pinnedBus(cred, tlspin.Config(other, nil), 30*time.Second)
	if msg := tlspin.Refusal(err); !strings.Contains(msg, "was "+other+", now "+fp) {
		t.Errorf("another pin: err %v", err)
	}
}

// TestBrokerRefusesPlaintext speaks the NATS protocol without TLS to the
// broker of a server with TLS: it is told TLS is required and gets no
// further, however good its credentials.
func TestBrokerRefusesPlaintext(t *testing.T) {
	certFile, keyFile := testenv.SelfSignedCert(t)
	s := startServer(t, func(c *assemble.Config) { c.TLSCert, c.TLSKey = certFile, keyFile })
	cred := enrollPinned(t, s.Server, "pi-1", s.Fingerprint())
	u, err := url.Parse(cred.Broker)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialTimeout("tcp", u.Host, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	info, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(info, "INFO ") || !strings.Contains(info, `"tls_required":true`) {
		t.Fatalf("the broker's greeting %q (%v) does not require TLS", info, err)
	}
	fmt.Fprintf(c, "CONNECT {\"verbose\":false,\"user\":%q,\"pass\":%q}\r\nPING\r\n", cred.BrokerUser, cred.BrokerPassword)
	rest, err := r.ReadString(0) // until the broker hangs up
	t.Logf("after a plaintext CONNECT: %q, %v", rest, err)
	if strings.Contains(rest, "PONG") {
		t.Fatalf("the broker answered a plaintext client: %q", rest)
	}
}

// TestServerSelfSignedBeyondLoopback: an API listening on every interface
// makes a certificate on its first start, prints its fingerprint that
// once, and serves the same one after a restart; its broker, on loopback,
// stays in plaintext.
func TestServerSelfSignedBeyondLoopback(t *testing.T) {
	s := startServer(t, func(c *assemble.Config) { c.Listen = "0.0.0.0:0" })
	fp := s.Fingerprint()
	if !strings.HasPrefix(s.URL(), "https://") || !strings.HasPrefix(s.BrokerURL(), "nats://") || fp == "" {
		t.Fatalf("API %s, broker %s, fingerprint %q", s.URL(), s.BrokerURL(), fp)
	}
	if !strings.Contains(s.out.String(), fp) {
		t.Errorf("the fingerprint is not printed:\n%s", s.out)
	}
	if got := tlspin.Fingerprint(testenv.CertFile(t, filepath.Join(s.cfg.DataDir, server.TLSCertFile))); got != fp {
		t.Errorf("DATA/%s is %s, the server serves %s", server.TLSCertFile, got, fp)
	}
	enrollPinned(t, s.Server, "pi-1", fp)
	s.Close()

	again := restart(t, s.cfg, s.clock)
	if again.Fingerprint() != fp {
		t.Errorf("after a restart the fingerprint is %s, was %s", again.Fingerprint(), fp)
	}
	if strings.Contains(again.out.String(), fp) {
		t.Errorf("the fingerprint is printed again:\n%s", again.out)
	}
}

// TestServerPlainOnLoopback: a server only this machine reaches keeps
// plain HTTP and makes no certificate.
func TestServerPlainOnLoopback(t *testing.T) {
	s := startServer(t, nil)
	if !strings.HasPrefix(s.URL(), "http://") || !strings.HasPrefix(s.BrokerURL(), "nats://") || s.Fingerprint() != "" {
		t.Fatalf("API %s, broker %s, fingerprint %q", s.URL(), s.BrokerURL(), s.Fingerprint())
	}
	if _, err := os.Stat(filepath.Join(s.cfg.DataDir, server.TLSCertFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a certificate was made: %v", err)
	}
	if cmd := s.SigninCommand("TOKEN"); strings.Contains(cmd, "--fingerprint") {
		t.Errorf("signin command %q", cmd)
	}
	s.enroll(t, "pi-1")
}

func TestServerNeedsCertificateAndKey(t *testing.T) {
	certFile, _ := testenv.SelfSignedCert(t)
	if _, err := server.New(server.Config{DataDir: t.TempDir(), TLSCert: certFile}); err == nil || !strings.Contains(err.Error(), "--tls-key") {
		t.Errorf("a certificate without its key: err %v", err)
	}
}

// enrollPinned signs a device in over TLS, trusting the certificate fp.
func enrollPinned(t *testing.T, s *assemble.Server, name, fp string) *home.Credentials {
	t.Helper()
	tok, err := s.EnrollToken()
	if err != nil {
		t.Fatal(err)
	}
	c := apiclient.New(s.URL(), "")
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlspin.Config(fp, nil)
	c.HTTP = &http.Client{Transport: tr}
	cred, err := c.Enroll(ctxT(t), api.EnrollRequest{Token: tok, Name: name, OS: "linux", Arch: "arm64"})
	if err != nil {
		t.Fatalf("enroll %s over TLS: %v", name, err)
	}
	return cred
}

// pinnedBus joins the broker as the device with cfg for TLS.
func pinnedBus(cred *home.Credentials, cfg *tls.Config, wait time.Duration) (bus.Bus, error) {
	u, err := bus.WithCredentials(cred.Broker, cred.BrokerUser, cred.BrokerPassword)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	return natsbus.Open(ctx, u, bus.Options{Name: cred.Device, Logger: slog.New(slog.DiscardHandler), TLS: cfg})
}

func first(a, _ string) string { return a }
