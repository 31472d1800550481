package server

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/auth"
)

// Browser sessions: the web UI signs in with email and password and gets
// the same session token as POST /login, but in an HttpOnly cookie; the
// rules of cookie requests (a same-site Origin, the X-CSRF-Token of
// GET /api/v1/session on every change) are package auth's.
const (
	// SessionCookie is the name of the browser session cookie.
	SessionCookie = auth.SessionCookie
	// CSRFHeader carries Session.CSRF on cookie requests that change state.
	CSRFHeader = auth.CSRFHeader
	// CSRFKeyFile is the file under DataDir holding the key of the CSRF
	// tokens.
	CSRFKeyFile = auth.CSRFKeyFile
)

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
	secret, t, err := s.auth.NewSession(ctx, u, ws)
	if err != nil {
		s.error(w, r, err)
		return
	}
	sess, err := s.session(ctx, &auth.Caller{Workspace: ws, Token: t, User: &u})
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
func (s *Server) session(ctx context.Context, c *auth.Caller) (api.Session, error) {
	if c.User == nil {
		return api.Session{}, runlet.Errorf(runlet.EINVALID, "A device has no browser session; this is a device token.")
	}
	m, err := s.db.Membership(ctx, c.Workspace.ID, c.User.ID)
	if err != nil {
		if runlet.ErrorCode(err) == runlet.ENOTFOUND {
			return api.Session{}, auth.ErrNoSession
		}
		return api.Session{}, err
	}
	return api.Session{
		User:      userOf(*c.User),
		Workspace: api.WorkspaceInfo{ID: c.Workspace.ID, Name: c.Workspace.Name},
		Role:      roleName(m.Role),
		CSRF:      s.auth.CSRF(c.Token),
		Expires:   c.Token.Expires,
	}, nil
}

func userOf(u runlet.User) api.UserInfo {
	return api.UserInfo{ID: u.ID, Email: u.Email, Name: u.Name}
}

// handleCreateSession is POST /session: sign in with email and password.
func (s *Server) handleCreateSession(w http.ResponseWriter, r *http.Request) {
	if err := s.auth.CheckOrigin(r); err != nil {
		s.error(w, r, err)
		return
	}
	var req api.LoginRequest
	if err := decode(r, &req); err != nil {
		s.error(w, r, err)
		return
	}
	u, ws, err := s.auth.CheckUser(r.Context(), s.auth.Source(r), req.Email, req.Password)
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
	s.auth.Revoked()
	http.SetCookie(w, s.sessionCookie("", time.Time{}))
	w.WriteHeader(http.StatusNoContent)
}
