package server

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"log/slog"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/runlet/runlet/tlspin"
)

// The files of the self-signed certificate, under DataDir.
const (
	TLSCertFile = "tls-cert.pem"
	TLSKeyFile  = "tls-key.pem"
)

// selfSignedLife is how long a self-signed certificate is valid. Devices
// pin it and ignore its dates; browsers warn about it anyway.
const selfSignedLife = 10 * 365 * 24 * time.Hour

// setupTLS decides whether the API and the embedded broker use TLS (R-Q-5)
// and with which certificate. With the operator's certificate (TLSCert,
// TLSKey) both do. Without, each that listens beyond loopback does, with a
// self-signed certificate kept in DataDir; one only this machine can reach
// stays in plaintext (and a reverse proxy in front of the API can reach it
// over plain HTTP).
func (s *Server) setupTLS() error {
	given := s.cfg.TLSCert != ""
	s.apiTLS = given || beyondLoopback(s.ln.Addr().String())
	s.brokerTLS = s.cfg.EmbeddedBroker != "" && (given || beyondLoopback(s.cfg.EmbeddedBroker))
	var cert tls.Certificate
	switch {
	case given:
		c, err := tls.LoadX509KeyPair(s.cfg.TLSCert, s.cfg.TLSKey)
		if err != nil {
			return fmt.Errorf("load the TLS certificate (--tls-cert %s, --tls-key %s): %w", s.cfg.TLSCert, s.cfg.TLSKey, err)
		}
		cert = c
	case s.apiTLS || s.brokerTLS:
		if !s.apiTLS {
			s.log.Warn("the embedded broker listens beyond loopback, with a self-signed certificate, and the API does not: devices that sign in through a proxy will not trust the broker; give it a certificate they trust with --tls-cert and --tls-key", "broker-listen", s.cfg.EmbeddedBroker)
		}
		c, created, err := selfSigned(s.cfg.DataDir, s.certHosts())
		if err != nil {
			return err
		}
		cert = c
		if created {
			fp := tlspin.Fingerprint(c.Leaf)
			fmt.Fprintf(s.cfg.Out, "Made a self-signed TLS certificate for the API and the broker, %s.\nIts SHA-256 fingerprint, which devices confirm when they sign in (or pass with --fingerprint):\n\n    %s\n\n",
				filepath.Join(s.cfg.DataDir, TLSCertFile), fp)
		}
	default:
		return nil
	}
	s.cert = &cert
	s.fingerprint = tlspin.Fingerprint(cert.Leaf)
	// Devices need the fingerprint only when no authority vouches for it.
	s.pinHint = !tlspin.Trusted(append([]*x509.Certificate{cert.Leaf}, intermediates(cert)...), "", nil)
	s.log.Info("TLS", "api", s.apiTLS, "broker", s.brokerTLS, "fingerprint", s.fingerprint, "pin", s.pinHint)
	return nil
}

func intermediates(cert tls.Certificate) []*x509.Certificate {
	var out []*x509.Certificate
	for _, der := range cert.Certificate[1:] {
		if c, err := x509.ParseCertificate(der); err == nil {
			out = append(out, c)
		}
	}
	return out
}

// tlsConfig is the server side of TLS when on is true, else nil.
func (s *Server) tlsConfig(on bool) *tls.Config {
	if !on {
		return nil
	}
	return &tls.Config{Certificates: []tls.Certificate{*s.cert}, MinVersion: tls.VersionTLS12}
}

// scheme is the API's URL scheme.
func (s *Server) scheme() string {
	if s.apiTLS {
		return "https"
	}
	return "http"
}

// serve serves the API on s.ln until Close.
func (s *Server) serve() error {
	if s.apiTLS {
		return s.http.ServeTLS(s.ln, "", "")
	}
	return s.http.Serve(s.ln)
}

// httpsPublicURL is the operator's public URL with https when the API
// serves TLS: an http:// URL would send devices where nobody answers.
func (s *Server) httpsPublicURL(u string) string {
	if s.apiTLS && strings.HasPrefix(u, "http://") {
		s.log.Warn("the API serves HTTPS: using https in the public URL", "public-url", u)
		return "https://" + strings.TrimPrefix(u, "http://")
	}
	return u
}

// Fingerprint is the SHA-256 fingerprint of the certificate the API and the
// embedded broker present when they use TLS ("" without), as tlspin writes
// it.
func (s *Server) Fingerprint() string { return s.fingerprint }

// SigninCommand is the command that signs a device in with an enrollment
// token, with the certificate's fingerprint when devices must pin it.
func (s *Server) SigninCommand(token string) string {
	cmd := "runlet @signin --server " + s.publicURL + " --token " + token + " --name NAME"
	if s.pinHint {
		cmd += " --fingerprint " + s.fingerprint
	}
	return cmd
}

// beyondLoopback tells whether a listen address takes connections from
// other machines: any address but a loopback IP or "localhost" (a host name
// may resolve to anything; an empty or unspecified host is every
// interface).
func beyondLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	host, _, _ = strings.Cut(host, "%") // an IPv6 zone
	if strings.EqualFold(host, "localhost") {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}

// certHosts are the names a self-signed certificate is made for: those of
// the listen addresses and public URLs, the machine's, and loopback's.
func (s *Server) certHosts() []string {
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	add := func(h string) {
		h, _, _ = strings.Cut(h, "%")
		if ip := net.ParseIP(h); h == "" || (ip != nil && ip.IsUnspecified()) {
			return
		}
		for _, have := range hosts {
			if strings.EqualFold(have, h) {
				return
			}
		}
		hosts = append(hosts, h)
	}
	for _, a := range []string{s.ln.Addr().String(), s.cfg.EmbeddedBroker} {
		h, _, _ := net.SplitHostPort(a)
		if ip := net.ParseIP(h); h == "" || (ip != nil && ip.IsUnspecified()) {
			// Every interface: name each of its addresses.
			addrs, _ := net.InterfaceAddrs()
			for _, ia := range addrs {
				if n, ok := ia.(*net.IPNet); ok && !n.IP.IsLinkLocalUnicast() {
					add(n.IP.String())
				}
			}
		}
		add(h)
	}
	for _, raw := range []string{s.cfg.PublicURL, s.cfg.BrokerPublicURL} {
		if u, err := url.Parse(raw); err == nil {
			add(u.Hostname())
		}
	}
	if h, err := os.Hostname(); err == nil {
		add(h)
	}
	return hosts
}

// selfSigned loads the certificate of dir, or makes one for hosts (ECDSA
// P-256) and keeps it there (mode 0600) so that devices' pins hold across
// restarts. created says it was made now.
func selfSigned(dir string, hosts []string) (cert tls.Certificate, created bool, err error) {
	certPath, keyPath := filepath.Join(dir, TLSCertFile), filepath.Join(dir, TLSKeyFile)
	cert, err = tls.LoadX509KeyPair(certPath, keyPath)
	if err == nil {
		return cert, false, nil
	}
	_, certErr := os.Stat(certPath)
	_, keyErr := os.Stat(keyPath)
	if !errors.Is(certErr, fs.ErrNotExist) || !errors.Is(keyErr, fs.ErrNotExist) {
		return cert, false, fmt.Errorf("load the self-signed TLS certificate: %w (remove %s and %s to make a new one; devices then confirm it again)", err, certPath, keyPath)
	}
	certPEM, keyPEM, err := makeSelfSigned(hosts, time.Now())
	if err != nil {
		return cert, false, fmt.Errorf("make a self-signed TLS certificate: %w", err)
	}
	// The key first: a certificate file without its key is an error above.
	if err := writeSecret(keyPath, keyPEM); err != nil {
		return cert, false, err
	}
	if err := writeSecret(certPath, certPEM); err != nil {
		return cert, false, err
	}
	cert, err = tls.X509KeyPair(certPEM, keyPEM)
	return cert, true, err
}

// makeSelfSigned makes a certificate for hosts valid from now, and its key,
// PEM-encoded.
func makeSelfSigned(hosts []string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, nil, err
	}
	name := "runlet server"
	if h, err := os.Hostname(); err == nil {
		name += " " + h
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name, Organization: []string{"Runlet (self-signed)"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(selfSignedLife),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

// writeSecret writes b to path with mode 0600, atomically.
func writeSecret(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// httpErrorLog is the http.Server's log: TLS handshakes a client broke off
// (a browser that does not trust the certificate yet, a device checking its
// pin) are routine with a self-signed certificate, so they go to debug.
func httpErrorLog(l *slog.Logger) *log.Logger {
	return log.New(httpLogWriter{l}, "", 0)
}

type httpLogWriter struct{ l *slog.Logger }

func (w httpLogWriter) Write(p []byte) (int, error) {
	msg := string(bytes.TrimRight(p, "\n"))
	level := slog.LevelWarn
	if strings.Contains(msg, "TLS handshake error") {
		level = slog.LevelDebug
	}
	w.l.Log(context.Background(), level, msg)
	return len(p), nil
}
