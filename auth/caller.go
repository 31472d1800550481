package auth

import (
	"context"
	"net/http"
	"strings"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
)

// Caller is who a request acts as: a device or a user, in one workspace.
type Caller struct {
	Workspace runlet.Workspace
	Token     runlet.Token
	Device    *runlet.Device // a device token
	User      *runlet.User   // a session or API token
	Cookie    bool           // authenticated by the session cookie
}

// Name is how the caller appears as an execution's client.
func (c *Caller) Name() string {
	if c.Device != nil {
		return c.Device.Name
	}
	return c.User.Email
}

var (
	errNoToken  = runlet.Errorf(runlet.EUNAUTHORIZED, "This endpoint needs a token: send 'Authorization: Bearer TOKEN' (sign in with 'runlet @signin').")
	errBadToken = runlet.Errorf(runlet.EUNAUTHORIZED, "The token is unknown, revoked or expired: sign in again with 'runlet @signin'.")
	errLogin    = runlet.Errorf(runlet.EUNAUTHORIZED, "Wrong email or password.")
)

// Authenticate returns who r acts as, from its bearer token or else its
// session cookie; a cookie request must also pass the rules of browser
// sessions (csrf.go). EUNAUTHORIZED when the credential is missing or no
// longer good, EFORBIDDEN when a cookie request fails the rules.
func (s *Service) Authenticate(r *http.Request) (*Caller, error) {
	secret, cookie := credential(r)
	if secret == "" {
		return nil, errNoToken
	}
	ctx := r.Context()
	t, err := s.db.TokenByHash(ctx, store.HashSecret(secret))
	if runlet.ErrorCode(err) == runlet.ENOTFOUND {
		if cookie {
			return nil, ErrNoSession
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
	c := &Caller{Token: t, Cookie: cookie}
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
	return c, nil
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

// CheckUser verifies a password from the source address (Source), under
// the limits of sign-in (limits.go), and returns the user with the
// workspace of their first membership. EUNAUTHORIZED for a wrong email or
// password (one answer for both), ETOOMANY (a *TooManyError) while the
// account or the address waits, EFORBIDDEN for a user of no workspace.
func (s *Service) CheckUser(ctx context.Context, source, email, password string) (runlet.User, runlet.Workspace, error) {
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

// NewSession signs u in to ws for SessionTTL: the session token of the
// CLI's login and of the browser's cookie alike. It returns the secret,
// shown to the client once, and the token kept.
func (s *Service) NewSession(ctx context.Context, u runlet.User, ws runlet.Workspace) (string, runlet.Token, error) {
	secret := NewSecret("rls_")
	t := runlet.Token{Workspace: ws.ID, Kind: runlet.TokenSession, Hash: store.HashSecret(secret), Subject: u.ID, Expires: s.now().Add(SessionTTL)}
	err := s.db.CreateToken(ctx, &t)
	return secret, t, err
}
