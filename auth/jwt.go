package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/runlet/runlet"
)

// The admin API's tokens (R-TEL-7, the seed's appendix D): an admin signs
// in with HTTP Basic and gets a JWT valid one hour, which the admin
// endpoints take as a bearer token. The seed signs with an HMAC secret
// every server must hold; we sign with an Ed25519 key kept in the store
// (store.Keys), so that every server process on one database signs and
// checks with the same key, and we accept EdDSA alone, so that neither
// "alg":"none" nor an HS256 token keyed with the public key passes
// (docs/security.md). A token names its user and workspace; whether that
// user is still an admin there is checked at every request, so removing
// the membership or demoting the user revokes it at once.

const (
	// AdminTokenTTL is how long an admin token is valid (the seed's hour).
	AdminTokenTTL = time.Hour
	// AdminIssuer is the "iss" of admin tokens.
	AdminIssuer = "runlet"
	// AdminKeyName is the name of the signing key in store.Keys.
	AdminKeyName = "admin-jwt-ed25519"
	// adminLeeway is the clock skew allowed between server processes.
	adminLeeway = 5 * time.Second
)

// AdminClaims are the claims of an admin token: the registered iss, iat,
// exp and sub (the user's ID), and ws, the workspace it administers.
type AdminClaims struct {
	Workspace string `json:"ws"`
	jwt.RegisteredClaims
}

// Admin is who an admin token (or an admin's ordinary credential) acts as:
// a user who is, at the time of the request, an owner or admin of the
// workspace.
type Admin struct {
	User      runlet.User
	Workspace runlet.Workspace
	Role      runlet.Role
	// Expires is when the admin token expires; zero for other credentials.
	Expires time.Time
}

var errAdminToken = runlet.Errorf(runlet.EUNAUTHORIZED, "The admin token is not valid: get a new one with POST /api/v1/admin/token (HTTP Basic, your email and password).")

// IssueAdminToken checks an admin's email and password from the source
// address, under the limits of sign-in (as CheckUser), and returns a
// token for the workspace the user administers. A user who administers
// several names one with workspace (its name); "" picks the only one.
// EUNAUTHORIZED: a wrong email or password. ETOOMANY: the account or the
// address waits. EFORBIDDEN: the user administers no workspace, or not
// the one named. EINVALID: several workspaces and none named.
func (s *Service) IssueAdminToken(ctx context.Context, source, email, password, workspace string) (string, Admin, error) {
	u, err := s.verifyUser(ctx, source, strings.TrimSpace(email), password)
	if err != nil {
		return "", Admin{}, err
	}
	ws, role, err := s.adminWorkspace(ctx, u, workspace)
	if err != nil {
		return "", Admin{}, err
	}
	a := Admin{User: u, Workspace: ws, Role: role}
	tok, exp, err := s.IssueAdminTokenFor(ctx, u.ID, ws.ID, s.now())
	a.Expires = exp
	return tok, a, err
}

// adminWorkspace picks the workspace, among those u owns or administers,
// that name names ("" when there is only one).
func (s *Service) adminWorkspace(ctx context.Context, u runlet.User, name string) (runlet.Workspace, runlet.Role, error) {
	ms, err := s.db.ListUserMemberships(ctx, u.ID)
	if err != nil {
		return runlet.Workspace{}, "", err
	}
	var names []string
	var found []runlet.Workspace
	var roles []runlet.Role
	for _, m := range ms {
		if m.Role != runlet.RoleOwner && m.Role != runlet.RoleAdmin {
			continue
		}
		ws, err := s.db.Workspace(ctx, m.Workspace)
		if err != nil {
			return runlet.Workspace{}, "", err
		}
		if name != "" && ws.Name != name {
			names = append(names, ws.Name)
			continue
		}
		found, roles = append(found, ws), append(roles, m.Role)
		names = append(names, ws.Name)
	}
	switch {
	case len(found) == 1:
		return found[0], roles[0], nil
	case len(found) > 1:
		return runlet.Workspace{}, "", runlet.Errorf(runlet.EINVALID, "%s administers several workspaces (%s): name one with ?workspace=NAME.", u.Email, strings.Join(names, ", "))
	case name != "":
		return runlet.Workspace{}, "", runlet.Errorf(runlet.EFORBIDDEN, "%s is not an admin of a workspace named %q.", u.Email, name)
	}
	return runlet.Workspace{}, "", runlet.Errorf(runlet.EFORBIDDEN, "%s is not an admin of any workspace: only owners and admins get admin tokens.", u.Email)
}

// IssueAdminTokenFor signs an admin token for the user in the workspace,
// issued at iat and valid AdminTokenTTL from then, and returns it with its
// expiry. It checks nothing: IssueAdminToken is the way in for people;
// this is for it and for tests that need a token of another time.
func (s *Service) IssueAdminTokenFor(ctx context.Context, user, workspace string, iat time.Time) (string, time.Time, error) {
	key, err := s.adminSigningKey(ctx)
	if err != nil {
		return "", time.Time{}, err
	}
	exp := iat.Add(AdminTokenTTL)
	claims := AdminClaims{Workspace: workspace, RegisteredClaims: jwt.RegisteredClaims{
		Issuer: AdminIssuer, Subject: user,
		IssuedAt: jwt.NewNumericDate(iat), ExpiresAt: jwt.NewNumericDate(exp),
	}}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims).SignedString(key)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign the admin token: %w", err)
	}
	return tok, exp.Truncate(time.Second), nil
}

// VerifyAdminToken checks an admin token: its EdDSA signature by the
// server's key (no other algorithm is accepted), its issuer, its expiry
// (required), and that its user is still an owner or admin of its
// workspace. EUNAUTHORIZED: a token that is malformed, forged, expired,
// or whose user or workspace is gone. EFORBIDDEN: the user is no longer
// an admin there.
func (s *Service) VerifyAdminToken(ctx context.Context, token string) (Admin, error) {
	key, err := s.adminSigningKey(ctx)
	if err != nil {
		return Admin{}, err
	}
	pub := key.Public()
	var claims AdminClaims
	p := jwt.NewParser(jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}), jwt.WithIssuer(AdminIssuer),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithLeeway(adminLeeway), jwt.WithTimeFunc(s.now))
	_, err = p.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return pub, nil })
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return Admin{}, runlet.Errorf(runlet.EUNAUTHORIZED, "The admin token expired at %s: get a new one with POST /api/v1/admin/token.", claims.ExpiresAt.UTC().Format(time.RFC3339))
	case err != nil:
		return Admin{}, errAdminToken
	case claims.Subject == "" || claims.Workspace == "":
		return Admin{}, errAdminToken
	}
	a, err := s.CheckAdmin(ctx, claims.Subject, claims.Workspace)
	a.Expires = claims.ExpiresAt.Time
	return a, err
}

// CheckAdmin returns the user as an admin of the workspace when the user
// is its owner or an admin now. EUNAUTHORIZED: no such user or workspace.
// EFORBIDDEN: not a member, or only a member.
func (s *Service) CheckAdmin(ctx context.Context, user, workspace string) (Admin, error) {
	u, err := s.db.User(ctx, user)
	if runlet.ErrorCode(err) == runlet.ENOTFOUND {
		return Admin{}, errAdminToken
	} else if err != nil {
		return Admin{}, err
	}
	ws, err := s.db.Workspace(ctx, workspace)
	if runlet.ErrorCode(err) == runlet.ENOTFOUND {
		return Admin{}, errAdminToken
	} else if err != nil {
		return Admin{}, err
	}
	m, err := s.db.Membership(ctx, ws.ID, u.ID)
	if runlet.ErrorCode(err) == runlet.ENOTFOUND {
		return Admin{}, runlet.Errorf(runlet.EFORBIDDEN, "%s is no longer a member of the workspace %s.", u.Email, ws.Name)
	} else if err != nil {
		return Admin{}, err
	}
	if m.Role != runlet.RoleOwner && m.Role != runlet.RoleAdmin {
		return Admin{}, runlet.Errorf(runlet.EFORBIDDEN, "Only an admin of the workspace may use the admin API; %s is a %s of %s.", u.Email, m.Role, ws.Name)
	}
	return Admin{User: u, Workspace: ws, Role: m.Role}, nil
}

// LooksLikeJWT reports whether a bearer secret has a JWT's form (three
// base64url parts, the first a JSON object): the admin API then takes it
// as an admin token rather than one of the store's tokens.
func LooksLikeJWT(secret string) bool {
	return strings.HasPrefix(secret, "eyJ") && strings.Count(secret, ".") == 2
}

// adminSigningKey returns the admin API's Ed25519 key, made and stored on
// first use (the store keeps its seed), then kept in memory.
func (s *Service) adminSigningKey(ctx context.Context) (ed25519.PrivateKey, error) {
	s.mu.Lock()
	key := s.adminKey
	s.mu.Unlock()
	if key != nil {
		return key, nil
	}
	seed, err := s.db.ServerKey(ctx, AdminKeyName, func() ([]byte, error) {
		b := make([]byte, ed25519.SeedSize)
		_, err := rand.Read(b)
		return b, err
	})
	if err != nil {
		return nil, fmt.Errorf("load the admin API's signing key: %w", err)
	}
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("the admin API's signing key %q in the database has %d bytes, not an Ed25519 seed's %d", AdminKeyName, len(seed), ed25519.SeedSize)
	}
	key = ed25519.NewKeyFromSeed(seed)
	s.mu.Lock()
	s.adminKey = key
	s.mu.Unlock()
	return key, nil
}
