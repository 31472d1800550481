package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/runlet/runlet"
)

// Browser sessions: the web UI signs in with email and password and gets
// the same session token as the CLI's login, but in an HttpOnly cookie. A
// cookie is sent by the browser on its own, so cookie requests must also
// prove they come from the UI: a same-site Origin, and on every method
// that changes something the X-CSRF-Token header, an HMAC of the session
// token's hash that only a page of this server could have read (CSRF).
// Bearer requests need neither.
const (
	// SessionCookie is the name of the browser session cookie.
	SessionCookie = "runlet_session"
	// CSRFHeader carries the session's CSRF token on cookie requests that
	// change state.
	CSRFHeader = "X-CSRF-Token"
)

var (
	// ErrNoSession refuses a session that is unknown, expired or no
	// longer a member's (EUNAUTHORIZED).
	ErrNoSession  = runlet.Errorf(runlet.EUNAUTHORIZED, "Your session is unknown or expired: sign in again.")
	errCSRF       = runlet.Errorf(runlet.EFORBIDDEN, "This request lacks the X-CSRF-Token of your session: reload the page.")
	errCrossSite  = runlet.Errorf(runlet.EFORBIDDEN, "Requests from another site are refused.")
	errNotSession = runlet.Errorf(runlet.EUNAUTHORIZED, "The cookie does not hold a browser session: sign in again.")
)

// loadCSRFKey reads DIR/csrf-key, making it on the first start.
func loadCSRFKey(dir string) ([]byte, error) {
	path := filepath.Join(dir, CSRFKeyFile)
	key, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key = make([]byte, 32)
		_, _ = rand.Read(key)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("create the CSRF key %s: %w", path, err)
		}
		_, err = f.Write(key)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("write the CSRF key %s: %w", path, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("read the CSRF key: %w", err)
	}
	if len(key) < 32 {
		return nil, fmt.Errorf("the CSRF key %s is shorter than 32 bytes: delete it and start again", path)
	}
	return key, nil
}

// CSRF is the X-CSRF-Token of the session t, which the UI reads once and
// sends with every cookie request that changes something.
func (s *Service) CSRF(t runlet.Token) string {
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write(t.Hash)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// CheckOrigin refuses (EFORBIDDEN) a request whose Origin is another
// site's: what an endpoint that opens a session, or a WebSocket, checks
// whatever the credential.
func (s *Service) CheckOrigin(r *http.Request) error {
	if !s.sameOrigin(r) {
		return errCrossSite
	}
	return nil
}

// sameOrigin reports whether the request's Origin, if it has one, is this
// server: the public URL's scheme and host, or the Host the request was
// sent to (a server reached by several names).
func (s *Service) sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" {
		return false // includes "null", sent by sandboxed and file pages
	}
	if pu, err := url.Parse(s.publicURL); err == nil && strings.EqualFold(u.Scheme, pu.Scheme) && strings.EqualFold(hostPort(u), hostPort(pu)) {
		return true
	}
	return strings.EqualFold(u.Host, r.Host) // browsers leave default ports out of both
}

// hostPort is u's host with its port, unless the port is the scheme's
// default: how browsers write an Origin.
func hostPort(u *url.URL) string {
	if p := u.Port(); (p == "443" && u.Scheme == "https") || (p == "80" && u.Scheme == "http") {
		return strings.TrimSuffix(u.Host, ":"+p)
	}
	return u.Host
}

// checkCookieRequest applies the rules of cookie requests to a request
// authenticated with the session token t.
func (s *Service) checkCookieRequest(r *http.Request, t runlet.Token) error {
	if t.Kind != runlet.TokenSession {
		return errNotSession
	}
	if !s.sameOrigin(r) {
		return errCrossSite
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	got := r.Header.Get(CSRFHeader)
	if got == "" || !hmac.Equal([]byte(got), []byte(s.CSRF(t))) {
		return errCSRF
	}
	return nil
}
