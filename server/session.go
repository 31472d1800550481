package server

import (
	"context"
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
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
)

// Browser sessions: the web UI signs in with email and password and gets
// the same session token as POST /login, but in an HttpOnly cookie. A
// cookie is sent by the browser on its own, so cookie requests must also
// prove they come from the UI: a same-site Origin, and on every method
// that changes something the X-CSRF-Token header, an HMAC of the session
// token's hash that only a page of this server could have read (from
// GET /api/v1/session). Bearer requests need neither.
const (
	// SessionCookie is the name of the browser session cookie.
	SessionCookie = "runlet_session"
	// CSRFHeader carries Session.CSRF on cookie requests that change state.
	CSRFHeader = "X-CSRF-Token"
	// CSRFKeyFile is the file under DataDir holding the key of the CSRF
	// tokens.
	CSRFKeyFile = "csrf-key"
)

var (
	errNoSession  = runlet.Errorf(runlet.EUNAUTHORIZED, "Your session is unknown or expired: sign in again.")
	errCSRF       = runlet.Errorf(runlet.EFORBIDDEN, "This request lacks the X-CSRF-Token of your session: reload the page.")
	errCrossSite  = runlet.Errorf(runlet.EFORBIDDEN, "Requests from another site are refused.")
	errNotSession = runlet.Errorf(runlet.EUNAUTHORIZED, "The cookie does not hold a browser session: sign in again.")
)

// loadCSRFKey reads DATA/csrf-key, making it on the first start.
func (s *Server) loadCSRFKey() error {
	path := filepath.Join(s.cfg.DataDir, CSRFKeyFile)
	key, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key = make([]byte, 32)
		_, _ = rand.Read(key)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("create the CSRF key %s: %w", path, err)
		}
		_, err = f.Write(key)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("write the CSRF key %s: %w", path, err)
		}
	} else if err != nil {
		return fmt.Errorf("read the CSRF key: %w", err)
	}
	if len(key) < 32 {
		return fmt.Errorf("the CSRF key %s is shorter than 32 bytes: delete it and start again", path)
	}
	s.csrfKey = key
	return nil
}

// csrfToken is the X-CSRF-Token of the session whose token has hash.
func (s *Server) csrfToken(hash []byte) string {
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write(hash)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// sameOrigin reports whether the request's Origin, if it has one, is this
// server: the public URL's scheme and host, or the Host the request was
// sent to (a server reached by several names).
func (s *Server) sameOrigin(r *http.Request) bool {
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
func (s *Server) checkCookieRequest(r *http.Request, t runlet.Token) error {
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
	if got == "" || !hmac.Equal([]byte(got), []byte(s.csrfToken(t.Hash))) {
		return errCSRF
	}
	return nil
}

// credential is the secret a request authenticates with: the bearer token,
// or else the session cookie.
func credential(r *http.Request) (secret string, cookie bool) {
	if auth := r.Header.Get("Authorization"); auth != "" {
		secret, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok {
			return "", false
		}
		return strings.TrimSpace(secret), false
	}
	if c, err := r.Cookie(SessionCookie); err == nil {
		return c.Value, true
	}
	return "", false
}

// roleName is how a role appears in the API: an owner can do what an
// admin can, and the UI knows only those two.
func roleName(r runlet.Role) string {
	if r == runlet.RoleMember {
		return string(runlet.RoleMember)
	}
	return string(runlet.RoleAdmin)
}

// startSession makes a session token for the user in the workspace, sets
// the cookie and answers the Session.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, u runlet.User, ws runlet.Workspace) {
	ctx := r.Context()
	secret, t, err := s.newSessionToken(ctx, u, ws)
	if err != nil {
		s.error(w, r, err)
		return
	}
	sess, err := s.session(ctx, &caller{Workspace: ws, Token: t, User: &u})
	if err != nil {
		s.error(w, r, err)
		return
	}
	http.SetCookie(w, s.sessionCookie(secret, t.Expires))
	writeJSON(w, http.StatusOK, sess)
}

func (s *Server) sessionCookie(value string, expires time.Time) *http.Cookie {
	c := &http.Cookie{
		Name: SessionCookie, Value: value, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: strings.HasPrefix(s.publicURL, "https:"),
	}
	if value == "" {
		c.MaxAge = -1
	} else {
		c.Expires = expires
	}
	return c
}

// session describes the caller's session for the UI.
func (s *Server) session(ctx context.Context, c *caller) (api.Session, error) {
	if c.User == nil {
		return api.Session{}, runlet.Errorf(runlet.EINVALID, "A device has no browser session; this is a device token.")
	}
	m, err := s.db.Membership(ctx, c.Workspace.ID, c.User.ID)
	if err != nil {
		if runlet.ErrorCode(err) == runlet.ENOTFOUND {
			return api.Session{}, errNoSession
		}
		return api.Session{}, err
	}
	return api.Session{
		User:      userOf(*c.User),
		Workspace: api.WorkspaceInfo{ID: c.Workspace.ID, Name: c.Workspace.Name},
		Role:      roleName(m.Role),
		CSRF:      s.csrfToken(c.Token.Hash),
		Expires:   c.Token.Expires,
	}, nil
}

func userOf(u runlet.User) api.UserInfo {
	return api.UserInfo{ID: u.ID, Email: u.Email, Name: u.Name}
}

// handleCreateSession is POST /session: sign in with email and password.
func (s *Server) handleCreateSession(w http.ResponseWriter, r *http.Request) {
	if !s.sameOrigin(r) {
		s.error(w, r, errCrossSite)
		return
	}
	var req api.LoginRequest
	if err := decode(r, &req); err != nil {
		s.error(w, r, err)
		return
	}
	u, ws, err := s.checkUser(r.Context(), s.source(r), req.Email, req.Password)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.startSession(w, r, u, ws)
}

// handleGetSession is GET /session: who the cookie (or token) is.
func (s *Server) handleGetSession(w http.ResponseWriter, r *http.Request) {
	sess, err := s.session(r.Context(), callerOf(r))
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, sess)
}

// handleDeleteSession is DELETE /session: sign out.
func (s *Server) handleDeleteSession(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	if c.Token.Kind != runlet.TokenSession {
		s.error(w, r, runlet.Errorf(runlet.EINVALID, "Only a session signs out here; this is a %s token.", c.Token.Kind))
		return
	}
	if err := s.db.RevokeToken(r.Context(), c.Token.Workspace, c.Token.ID); err != nil {
		s.error(w, r, err)
		return
	}
	s.revoked()
	http.SetCookie(w, s.sessionCookie("", time.Time{}))
	w.WriteHeader(http.StatusNoContent)
}
