// Package tlspin is how a device trusts a Runlet server whose certificate no
// authority vouches for (the self-signed one `runlet server` makes): at
// sign-in the device remembers the SHA-256 fingerprint of the server's
// certificate, after the person confirmed it, as SSH does with host keys;
// every later connection, to the API and to the broker, must present that
// certificate again or one the trusted authorities vouch for.
package tlspin

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// prefix starts every fingerprint, as in OpenSSH.
const prefix = "SHA256:"

// Fingerprint is the SHA-256 of the certificate's DER encoding, written as
// OpenSSH writes key fingerprints: "SHA256:" and unpadded base64.
func Fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return prefix + base64.RawStdEncoding.EncodeToString(sum[:])
}

// Parse reads a fingerprint written as Fingerprint writes it or as openssl
// prints it (`openssl x509 -noout -fingerprint -sha256`: hex pairs separated
// by colons, with or without its "sha256 Fingerprint=" label), and returns
// it as Fingerprint writes it.
func Parse(s string) (string, error) {
	s = strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(s, prefix); ok {
		sum, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(rest, "="))
		if err == nil && len(sum) == sha256.Size {
			return prefix + base64.RawStdEncoding.EncodeToString(sum), nil
		}
		return "", fmt.Errorf("fingerprint %q: not SHA256: and the base64 of 32 bytes", s)
	}
	if _, v, ok := strings.Cut(s, "="); ok {
		s = v // "sha256 Fingerprint=AB:CD:…"
	}
	sum, err := hex.DecodeString(strings.ReplaceAll(s, ":", ""))
	if err != nil || len(sum) != sha256.Size {
		return "", fmt.Errorf("fingerprint %q: want SHA256:BASE64 (as runlet prints it) or 32 hex pairs (as openssl prints it)", s)
	}
	return prefix + base64.RawStdEncoding.EncodeToString(sum), nil
}

// ChangedError is a server that presented another certificate than the one
// pinned at sign-in, and that no trusted authority vouches for.
type ChangedError struct {
	Was, Now string // fingerprints
}

func (e *ChangedError) Error() string {
	return fmt.Sprintf("the server's certificate changed: was %s, now %s — if that is expected, run `runlet @signin` again", e.Was, e.Now)
}

// Config is the TLS client configuration of a device whose server is pinned
// to pin ("" for none), with roots as the authorities it trusts (nil: the
// system's). A certificate the authorities vouch for is accepted as usual;
// with a pin, so is the pinned certificate, whatever its names and dates.
// Anything else fails the handshake with a *tls.CertificateVerificationError,
// wrapping a *ChangedError when a pin was set. Config returns nil when
// neither is set: Go's defaults do the same.
func Config(pin string, roots *x509.CertPool) *tls.Config {
	if pin == "" {
		if roots == nil {
			return nil
		}
		return &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	}
	return &tls.Config{
		RootCAs:    roots,
		MinVersion: tls.VersionTLS12,
		// The default verification would refuse a self-signed certificate
		// before VerifyConnection could accept it by its pin: do all of it
		// there.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("tls: the server sent no certificate")
			}
			leaf := cs.PeerCertificates[0]
			now := Fingerprint(leaf)
			if now == pin || Trusted(cs.PeerCertificates, cs.ServerName, roots) {
				return nil
			}
			return &tls.CertificateVerificationError{UnverifiedCertificates: cs.PeerCertificates, Err: &ChangedError{Was: pin, Now: now}}
		},
	}
}

// Trusted tells whether roots (nil: the system's) vouch for chain, the
// server's certificate first, as a certificate of host.
func Trusted(chain []*x509.Certificate, host string, roots *x509.CertPool) bool {
	if len(chain) == 0 {
		return false
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: host})
	return err == nil
}

// errProbed ends a probe's handshake once the certificate is seen.
var errProbed = errors.New("tlspin: certificate seen")

// Probe connects to the https:// server at rawURL (through the proxy the
// environment names, as the API client does), ends the handshake as soon as
// the server has shown its certificate, before any request is sent, and
// returns that certificate and whether roots (nil: the system's) vouch for
// it as a certificate of the URL's host.
func Probe(ctx context.Context, rawURL string, roots *x509.CertPool) (*x509.Certificate, bool, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, false, fmt.Errorf("tlspin: %q is not an https:// URL", rawURL)
	}
	var chain []*x509.Certificate
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{
		InsecureSkipVerify: true, // we only look; Trusted decides below
		VerifyConnection: func(cs tls.ConnectionState) error {
			chain = cs.PeerCertificates
			return errProbed
		},
	}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, u.Scheme+"://"+u.Host+"/", nil)
	if err != nil {
		return nil, false, err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err == nil {
		resp.Body.Close()
	}
	if len(chain) == 0 {
		if err == nil || errors.Is(err, errProbed) {
			err = errors.New("the server sent no certificate")
		}
		return nil, false, err
	}
	return chain[0], Trusted(chain, u.Hostname(), roots), nil
}

// Refusal is what to tell the person when err is a refused server
// certificate, "" when it is not one.
func Refusal(err error) string {
	var changed *ChangedError
	if errors.As(err, &changed) {
		return changed.Error()
	}
	var ve *tls.CertificateVerificationError
	if errors.As(err, &ve) {
		return fmt.Sprintf("its certificate is not trusted (%v); if the server's certificate changed, run `runlet @signin` again", ve.Err)
	}
	return ""
}
