package cli

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/tlspin"
)

// deviceClient is an API client acting as the signed-in device, which
// checks the server's certificate against the device's pin.
func (m *Main) deviceClient(cred *home.Credentials) *apiclient.Client {
	c := m.apiClient(cred.Server, cred.Token)
	c.HTTP = m.pinnedHTTP(cred.ServerFingerprint)
	return c
}

// pinnedHTTP is the HTTP client of a server pinned to pin ("" for none);
// nil (the API client's default) when there is nothing to check.
func (m *Main) pinnedHTTP(pin string) *http.Client {
	cfg := tlspin.Config(pin, m.RootCAs)
	if cfg == nil {
		return nil
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = cfg
	return &http.Client{Timeout: 60 * time.Second, Transport: tr}
}

// trustServer decides how this device is to trust the server at server:
// it returns "" when there is nothing to pin (plain HTTP, or a certificate
// an authority vouches for) and otherwise the certificate's fingerprint,
// once the person confirmed it (given: the --fingerprint flag; was: the
// pin it replaces, "" at first sign-in).
func (m *Main) trustServer(ctx context.Context, server, given, was string) (string, error) {
	u, err := url.Parse(server)
	if err != nil || u.Host == "" {
		return "", runlet.Errorf(runlet.EINVALID, "the server URL %q is not valid; give it as https://HOST:PORT", server)
	}
	if given != "" {
		if given, err = tlspin.Parse(given); err != nil {
			return "", runlet.Errorf(runlet.EINVALID, "--fingerprint: %v", err)
		}
	}
	if u.Scheme != "https" {
		if given != "" {
			return "", runlet.Errorf(runlet.EINVALID, "--fingerprint is for https:// servers, and %s is plain HTTP", server)
		}
		if !loopbackHost(u.Hostname()) {
			fmt.Fprintf(m.Stderr, "warning: %s is plain HTTP: this device's token and its jobs' traffic to it cross the network unencrypted; ask its operator for https\n", server)
		}
		return "", nil
	}
	leaf, trusted, err := tlspin.Probe(ctx, server, m.RootCAs)
	if err != nil {
		return "", runlet.Errorf(runlet.EUNAVAILABLE, "cannot reach the Runlet server at %s: %v", server, err)
	}
	now := tlspin.Fingerprint(leaf)
	switch {
	case given != "" && given != now:
		return "", runlet.Errorf(runlet.EUNAUTHORIZED, "the server's certificate is %s, not the %s given with --fingerprint: nothing saved. Check the fingerprint with the server's operator (the server prints it when it makes its certificate; on the server, `openssl x509 -in DATA/tls-cert.pem -noout -fingerprint -sha256` shows it): someone may be between you and the server", now, given)
	case trusted:
		return "", nil
	case given != "" || now == was:
		return now, nil
	}
	if openTerminal(m.Stdin, nil).in == nil {
		if was != "" {
			return "", runlet.Errorf(runlet.EUNAUTHORIZED, "the server's certificate changed: was %s, now %s. If its operator changed it, confirm the new one: runlet @signin --fingerprint %s", was, now, now)
		}
		return "", runlet.Errorf(runlet.EUNAUTHORIZED, "the certificate of %s is not signed by an authority this machine trusts, and there is no terminal to confirm it. If its fingerprint %s is the one the server printed, pass it: runlet @signin --fingerprint %s ...", server, now, now)
	}
	if was != "" {
		fmt.Fprintf(m.Stdout, "WARNING: the certificate of %s changed.\n  was: %s\n  now: %s\nIf the server's operator did not change it, someone may be between you and the server.\n", server, was, now)
	} else {
		fmt.Fprintf(m.Stdout, "The certificate of %s is not signed by an authority this machine trusts.\nIts SHA-256 fingerprint is\n\n    %s\n\n", server, now)
	}
	fmt.Fprint(m.Stdout, "Compare it with the one the server printed when it made its certificate (on the server: openssl x509 -in DATA/tls-cert.pem -noout -fingerprint -sha256).\nTrust this certificate from now on? [y/N] ")
	line, _ := bufio.NewReader(m.Stdin).ReadString('\n')
	if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
		return "", runlet.Errorf(runlet.EUNAUTHORIZED, "certificate %s not trusted: nothing saved", now)
	}
	return now, nil
}

// repin handles @signin on a device already signed in to server: when the
// server's certificate is no longer the pinned one, it confirms the new one
// as at first sign-in, checks that the server still knows the device, and
// keeps the credentials with the new pin. done is false when the
// certificate is fine (nothing to do here).
func (m *Main) repin(ctx context.Context, dir home.Dir, cred *home.Credentials, given string) (done bool, err error) {
	if !strings.HasPrefix(cred.Server, "https://") {
		return false, nil
	}
	leaf, trusted, err := tlspin.Probe(ctx, cred.Server, m.RootCAs)
	if err != nil || trusted || tlspin.Fingerprint(leaf) == cred.ServerFingerprint {
		return false, nil
	}
	pin, err := m.trustServer(ctx, cred.Server, given, cred.ServerFingerprint)
	if err != nil {
		return true, err
	}
	next := *cred
	next.ServerFingerprint = pin
	if _, err := m.deviceClient(&next).Whoami(ctx); err != nil {
		if runlet.ErrorCode(err) == runlet.EUNAUTHORIZED {
			return true, runlet.Errorf(runlet.EUNAUTHORIZED, "the server at %s no longer knows this device (%s): run 'runlet @signout', then 'runlet @signin' again", cred.Server, message(err))
		}
		return true, err
	}
	if err := dir.SaveCredentials(&next); err != nil {
		return true, err
	}
	if pin == "" {
		fmt.Fprintf(m.Stdout, "The certificate of %s is now signed by a trusted authority; this device no longer pins one.\n", cred.Server)
	} else {
		fmt.Fprintf(m.Stdout, "This device now trusts the certificate %s of %s (was %s).\n", pin, cred.Server, cred.ServerFingerprint)
	}
	return true, nil
}

// loopbackHost tells whether host is this machine.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
