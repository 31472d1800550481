package server

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/store"
)

// caller is who a request acts as: a device or a user, in one workspace.
type caller struct {
	Workspace runlet.Workspace
	Token     runlet.Token
	Device    *runlet.Device // a device token
	User      *runlet.User   // a session or API token
	Cookie    bool           // authenticated by the session cookie
}

// Name is how the caller appears as an execution's client.
func (c *caller) Name() string {
	if c.Device != nil {
		return c.Device.Name
	}
	return c.User.Email
}

type callerKey struct{}

func callerOf(r *http.Request) *caller { return r.Context().Value(callerKey{}).(*caller) }

var (
	errNoToken  = runlet.Errorf(runlet.EUNAUTHORIZED, "This endpoint needs a token: send 'Authorization: Bearer TOKEN' (sign in with 'runlet @signin').")
	errBadToken = runlet.Errorf(runlet.EUNAUTHORIZED, "The token is unknown, revoked or expired: sign in again with 'runlet @signin'.")
)

// authed runs h for requests with a usable device, session or API token.
func (s *Server) authed(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := s.authenticate(r)
		if err != nil {
			s.error(w, r, err)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, c)))
	})
}

func (s *Server) authenticate(r *http.Request) (*caller, error) {
	secret, cookie := credential(r)
	if secret == "" {
		return nil, errNoToken
	}
	ctx := r.Context()
	t, err := s.db.TokenByHash(ctx, store.HashSecret(secret))
	if runlet.ErrorCode(err) == runlet.ENOTFOUND {
		if cookie {
			return nil, errNoSession
		}
		return nil, errBadToken
	} else if err != nil {
		return nil, err
	}
	if cookie {
		if err := s.checkCookieRequest(r, t); err != nil {
			return nil, err
		}
	}
	c := &caller{Token: t, Cookie: cookie}
	switch t.Kind {
	case runlet.TokenDevice:
		d, err := s.db.Device(ctx, t.Workspace, t.Subject)
		if err != nil || d.Revoked {
			return nil, errBadToken
		}
		c.Device = &d
	case runlet.TokenSession, runlet.TokenAPI:
		u, err := s.db.User(ctx, t.Subject)
		if err != nil {
			return nil, errBadToken
		}
		c.User = &u
	case runlet.TokenEnrollment:
		return nil, runlet.Errorf(runlet.EUNAUTHORIZED, "An enrollment token only signs devices in (runlet @signin --token); use the device's own token for the API.")
	default:
		return nil, errBadToken
	}
	if c.Workspace, err = s.db.Workspace(ctx, t.Workspace); err != nil {
		return nil, errBadToken
	}
	if err := s.attach(ctx, c.Workspace.ID); err != nil {
		return nil, err
	}
	return c, nil
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
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
	secret, t, err := s.newSessionToken(r.Context(), u, ws)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.LoginResponse{Token: secret, Expires: t.Expires})
}

// newSessionToken signs u in to ws for SessionTTL: the session token of
// the CLI's login and of the browser's cookie alike.
func (s *Server) newSessionToken(ctx context.Context, u runlet.User, ws runlet.Workspace) (string, runlet.Token, error) {
	secret := newSecret("rls_")
	t := runlet.Token{Workspace: ws.ID, Kind: runlet.TokenSession, Hash: store.HashSecret(secret), Subject: u.ID, Expires: s.now().Add(SessionTTL)}
	err := s.db.CreateToken(ctx, &t)
	return secret, t, err
}

var errLogin = runlet.Errorf(runlet.EUNAUTHORIZED, "Wrong email or password.")

// checkUser verifies a password from the source address, under the limits
// of sign-in (throttle.go), and returns the user with the workspace of
// their first membership.
func (s *Server) checkUser(ctx context.Context, source, email, password string) (runlet.User, runlet.Workspace, error) {
	u, err := s.verifyUser(ctx, source, strings.TrimSpace(email), password)
	if err != nil {
		return u, runlet.Workspace{}, err
	}
	ms, err := s.db.ListUserMemberships(ctx, u.ID)
	if err != nil {
		return u, runlet.Workspace{}, err
	}
	if len(ms) == 0 {
		return u, runlet.Workspace{}, runlet.Errorf(runlet.EFORBIDDEN, "%s is not a member of any workspace.", u.Email)
	}
	ws, err := s.db.Workspace(ctx, ms[0].Workspace)
	return u, ws, err
}

func (s *Server) handleWhoami(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	out := api.Whoami{Workspace: c.Workspace.ID, WorkspaceName: c.Workspace.Name}
	if c.Device != nil {
		out.Device, out.DeviceID = c.Device.Name, c.Device.ID
	} else {
		out.User, out.UserID = c.User.Email, c.User.ID
	}
	writeJSON(w, http.StatusOK, out)
}

// brokerAuth is the embedded broker's Authenticator: user = device ID,
// password = the device's API token.
func (s *Server) brokerAuth(user, password string) (bus.Principal, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	t, err := s.db.TokenByHash(ctx, store.HashSecret(password))
	if err != nil {
		return bus.Principal{}, errors.New("unknown, revoked or expired token")
	}
	if t.Kind != runlet.TokenDevice || t.Subject != user {
		return bus.Principal{}, errors.New("not this device's token")
	}
	d, err := s.db.Device(ctx, t.Workspace, t.Subject)
	if err != nil || d.Revoked {
		return bus.Principal{}, errors.New("revoked device")
	}
	return bus.Principal{Role: bus.RoleDevice, Workspace: t.Workspace, Device: d.Name}, nil
}
