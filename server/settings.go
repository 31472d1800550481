package server

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/auth"
	"github.com/runlet/runlet/store"
)

// The settings of a workspace for the web UI: its name, its members and
// their invitations, its enrollment tokens, and the user's own password.

const (
	// InviteTTL is how long an invitation link works.
	InviteTTL = 7 * 24 * time.Hour
	// DefaultEnrollmentTTL is the life of an enrollment token made in the
	// UI without a ttl.
	DefaultEnrollmentTTL = 24 * time.Hour
	// MinPassword is the shortest password a user may set.
	MinPassword = 8
)

var errAdminOnly = runlet.Errorf(runlet.EFORBIDDEN, "Only an admin of the workspace may do this.")

// member returns the caller's membership; a device has none.
func (s *Server) member(ctx context.Context, c *auth.Caller) (runlet.Membership, error) {
	if c.User == nil {
		return runlet.Membership{}, runlet.Errorf(runlet.EFORBIDDEN, "A device token cannot change the workspace's settings: sign in as a user.")
	}
	m, err := s.db.Membership(ctx, c.Workspace.ID, c.User.ID)
	if runlet.ErrorCode(err) == runlet.ENOTFOUND {
		return m, runlet.Errorf(runlet.EFORBIDDEN, "You are no longer a member of this workspace.")
	}
	return m, err
}

// admin runs h for an admin (or owner) of the caller's workspace.
func (s *Server) admin(h http.HandlerFunc) http.Handler {
	return s.authed(func(w http.ResponseWriter, r *http.Request) {
		m, err := s.member(r.Context(), callerOf(r))
		if err == nil && m.Role == runlet.RoleMember {
			err = errAdminOnly
		}
		if err != nil {
			s.error(w, r, err)
			return
		}
		h(w, r)
	})
}

func (s *Server) handleGetWorkspace(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	writeJSON(w, http.StatusOK, api.WorkspaceInfo{ID: c.Workspace.ID, Name: c.Workspace.Name})
}

func (s *Server) handlePatchWorkspace(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name string `json:"name"`
	}
	if err := decode(r, &req); err != nil {
		s.error(w, r, err)
		return
	}
	if err := runlet.CheckText("The workspace name", strings.TrimSpace(req.Name), maxWorkspaceName); err != nil {
		s.error(w, r, err)
		return
	}
	ws, err := s.db.RenameWorkspace(r.Context(), callerOf(r).Workspace.ID, req.Name)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.WorkspaceInfo{ID: ws.ID, Name: ws.Name})
}

func (s *Server) handleListMembers(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ms, err := s.db.ListMembers(ctx, callerOf(r).Workspace.ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	out := []api.Member{}
	for _, m := range ms {
		u, err := s.db.User(ctx, m.User)
		if err != nil {
			s.error(w, r, err)
			return
		}
		out = append(out, memberOf(m, u))
	}
	writeJSON(w, http.StatusOK, out)
}

func memberOf(m runlet.Membership, u runlet.User) api.Member {
	return api.Member{User: userOf(u), Role: roleName(m.Role), Created: m.Created, Pending: u.PasswordHash == ""}
}

// handleInvite is POST /members: add a user by email, making the user
// (without a password) when new, with a one-time link to set a password.
func (s *Server) handleInvite(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	var req api.InviteRequest
	if err := decode(r, &req); err != nil {
		s.error(w, r, err)
		return
	}
	ctx := r.Context()
	email := strings.TrimSpace(req.Email)
	role := runlet.Role(req.Role)
	if role == "" {
		role = runlet.RoleMember
	}
	if err := runlet.CheckText("The email address", email, maxEmail); err != nil {
		s.error(w, r, err)
		return
	}
	switch {
	case !strings.Contains(email, "@") || strings.ContainsAny(email, " \t\r\n"):
		s.error(w, r, runlet.Errorf(runlet.EINVALID, "%q is not an email address.", email))
		return
	case role != runlet.RoleAdmin && role != runlet.RoleMember:
		s.error(w, r, runlet.Errorf(runlet.EINVALID, "Unknown role %q: use admin or member.", req.Role))
		return
	}
	u, err := s.db.UserByEmail(ctx, email)
	if runlet.ErrorCode(err) == runlet.ENOTFOUND {
		u = runlet.User{Email: email}
		err = s.db.CreateUser(ctx, &u)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	if _, err := s.db.Membership(ctx, c.Workspace.ID, u.ID); err == nil {
		s.error(w, r, runlet.Errorf(runlet.ECONFLICT, "%s is already a member of this workspace.", u.Email))
		return
	}
	m := runlet.Membership{Workspace: c.Workspace.ID, User: u.ID, Role: role}
	if err := s.db.PutMembership(ctx, &m); err != nil {
		s.error(w, r, err)
		return
	}
	out := api.InviteResponse{Member: memberOf(m, u)}
	if u.PasswordHash == "" {
		secret := auth.NewSecret("rli_")
		t := runlet.Token{Workspace: c.Workspace.ID, Kind: runlet.TokenInvite, Hash: store.HashSecret(secret), Subject: u.ID, Expires: s.now().Add(InviteTTL)}
		if err := s.db.CreateToken(ctx, &t); err != nil {
			s.error(w, r, err)
			return
		}
		out.InviteURL = s.publicURL + "/invite?token=" + url.QueryEscape(secret)
	}
	s.log.Info("member added", "workspace", c.Workspace.Name, "email", u.Email, "role", role, "by", c.User.Email)
	writeJSON(w, http.StatusCreated, out)
}

// handleRemoveMember is DELETE /members/{userId}: the user leaves the
// workspace and every token they hold in it is revoked.
func (s *Server) handleRemoveMember(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	ctx := r.Context()
	id := r.PathValue("userId")
	ms, err := s.db.ListMembers(ctx, c.Workspace.ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	admins, target := 0, -1
	for i, m := range ms {
		if m.Role != runlet.RoleMember {
			admins++
		}
		if m.User == id {
			target = i
		}
	}
	switch {
	case target < 0:
		s.error(w, r, runlet.Errorf(runlet.ENOTFOUND, "There is no member %s in this workspace.", id))
		return
	case ms[target].Role != runlet.RoleMember && admins == 1:
		s.error(w, r, runlet.Errorf(runlet.ECONFLICT, "This is the workspace's last admin: make another member admin first."))
		return
	}
	if err := s.db.DeleteMembership(ctx, c.Workspace.ID, id); err != nil {
		s.error(w, r, err)
		return
	}
	if _, err := s.db.RevokeSubjectTokens(ctx, c.Workspace.ID, id); err != nil {
		s.error(w, r, err)
		return
	}
	s.auth.Revoked()
	s.log.Info("member removed", "workspace", c.Workspace.Name, "user", id, "by", c.User.Email)
	w.WriteHeader(http.StatusNoContent)
}

// handleAcceptInvite is POST /invites/accept: the invited user sets a name
// and password with the link's token, once, and is signed in.
func (s *Server) handleAcceptInvite(w http.ResponseWriter, r *http.Request) {
	if err := s.auth.CheckOrigin(r); err != nil {
		s.error(w, r, err)
		return
	}
	var req api.AcceptInviteRequest
	if err := decode(r, &req); err != nil {
		s.error(w, r, err)
		return
	}
	if err := runlet.CheckText("The name", strings.TrimSpace(req.Name), maxUserName); err != nil {
		s.error(w, r, err)
		return
	}
	ctx := r.Context()
	t, err := s.auth.GuessToken(ctx, s.auth.Source(r), req.Token, runlet.TokenInvite)
	if runlet.ErrorCode(err) == runlet.ENOTFOUND {
		err = runlet.Errorf(runlet.ENOTFOUND, "This invitation is unknown, used or expired: ask an admin for a new one.")
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	if err := checkNewPassword(req.Password); err != nil {
		s.error(w, r, err)
		return
	}
	ws, err := s.db.Workspace(ctx, t.Workspace)
	if err != nil {
		s.error(w, r, err)
		return
	}
	hash, err := s.auth.HashPassword(req.Password)
	if err != nil {
		s.error(w, r, err)
		return
	}
	upd := store.UserUpdate{PasswordHash: &hash}
	if name := strings.TrimSpace(req.Name); name != "" {
		upd.Name = &name
	}
	// Revoke first: of two uses of one link, one wins.
	if err := s.db.RevokeToken(ctx, t.Workspace, t.ID); err != nil {
		s.error(w, r, err)
		return
	}
	u, err := s.db.UpdateUser(ctx, t.Subject, upd)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.log.Info("invitation accepted", "workspace", ws.Name, "email", u.Email)
	s.startSession(w, r, u, ws)
}

func checkNewPassword(p string) error {
	if len(p) < MinPassword {
		return runlet.Errorf(runlet.EINVALID, "A password needs at least %d characters.", MinPassword)
	}
	return nil
}

// handleChangePassword is PUT /user/password.
func (s *Server) handleChangePassword(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	if c.User == nil {
		s.error(w, r, runlet.Errorf(runlet.EFORBIDDEN, "A device has no password."))
		return
	}
	var req api.PasswordChange
	if err := decode(r, &req); err != nil {
		s.error(w, r, err)
		return
	}
	ctx := r.Context()
	u, err := s.db.User(ctx, c.User.ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if err := s.auth.CheckPassword(ctx, s.auth.Source(r), u, req.Current); err != nil {
		s.error(w, r, err)
		return
	}
	if err := checkNewPassword(req.New); err != nil {
		s.error(w, r, err)
		return
	}
	hash, err := s.auth.HashPassword(req.New)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if _, err := s.db.UpdateUser(ctx, u.ID, store.UserUpdate{PasswordHash: &hash}); err != nil {
		s.error(w, r, err)
		return
	}
	n, err := s.revokeOtherSessions(ctx, u.ID, c.Token.ID)
	s.auth.Revoked()
	if err != nil {
		s.error(w, r, fmt.Errorf("the password is changed, but the user's other sessions could not all be signed out: %w", err))
		return
	}
	s.log.Info("password changed", "email", u.Email, "sessions_revoked", n)
	w.WriteHeader(http.StatusNoContent)
}

// revokeOtherSessions signs user out of every session but keep, in every
// workspace they belong to: after a password change, whoever knew the old
// one is out.
func (s *Server) revokeOtherSessions(ctx context.Context, user, keep string) (int, error) {
	ms, err := s.db.ListUserMemberships(ctx, user)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, m := range ms {
		ts, err := s.db.ListTokens(ctx, m.Workspace)
		if err != nil {
			return n, err
		}
		for _, t := range ts {
			if t.Kind != runlet.TokenSession || t.Subject != user || t.ID == keep || !t.Active(s.now()) {
				continue
			}
			if err := s.db.RevokeToken(ctx, m.Workspace, t.ID); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// bootstrapEnrollToken returns the token in DATA/enroll-token, "" if none.
func (s *Server) bootstrapEnrollToken() string {
	secret, err := s.EnrollToken()
	if err != nil {
		return ""
	}
	return secret
}

func (s *Server) handleListEnrollmentTokens(w http.ResponseWriter, r *http.Request) {
	ts, err := s.db.ListTokens(r.Context(), callerOf(r).Workspace.ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	boot := s.bootstrapEnrollToken()
	bootHash := string(store.HashSecret(boot))
	out := []api.EnrollmentToken{}
	for _, t := range ts {
		if t.Kind != runlet.TokenEnrollment {
			continue
		}
		e := api.EnrollmentToken{ID: t.ID, Created: t.Created, Expires: t.Expires, Revoked: t.Revoked || !t.Active(s.now())}
		if boot != "" && string(t.Hash) == bootHash {
			e.Hint, e.Bootstrap = hint(boot), true
		} else if t.Subject != freeEnrollmentSubject {
			// A gateway's secret, bound to its device (admin_gateways.go).
			e.Hint = strings.ToUpper(t.ID[:min(4, len(t.ID))])
		} else {
			// Tokens made here start with their ID's first characters
			// (newEnrollmentToken): the hint needs no secret kept.
			e.Hint = hint("rle_" + t.ID)
		}
		out = append(out, e)
	}
	writeJSON(w, http.StatusOK, out)
}

func hint(secret string) string { return secret[:min(8, len(secret))] }

// newEnrollmentToken returns a secret and a token ID that shares the
// secret's first four random characters, so the list can show which token
// is which (the hint) without keeping any of the secret.
func newEnrollmentToken() (secret, id string) {
	secret = auth.NewSecret("rle_")
	return secret, secret[4:8] + store.NewID()[4:]
}

func (s *Server) handleCreateEnrollmentToken(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	var req api.CreateEnrollmentTokenRequest
	if err := decode(r, &req); err != nil {
		s.error(w, r, err)
		return
	}
	ttl := DefaultEnrollmentTTL
	if req.TTL != "" {
		d, err := time.ParseDuration(req.TTL)
		if err != nil || d < 0 {
			s.error(w, r, runlet.Errorf(runlet.EINVALID, "ttl %q is not a duration such as 24h or 30m (0 for never).", req.TTL))
			return
		}
		ttl = d
	}
	secret, id := newEnrollmentToken()
	// The subject is not the admin: removing the admin must not revoke the
	// workspace's tokens (the log says who made it).
	t := runlet.Token{ID: id, Workspace: c.Workspace.ID, Kind: runlet.TokenEnrollment, Hash: store.HashSecret(secret), Subject: "enrollment"}
	if ttl > 0 {
		t.Expires = s.now().Add(ttl)
	}
	if err := s.db.CreateToken(r.Context(), &t); err != nil {
		s.error(w, r, err)
		return
	}
	s.log.Info("enrollment token created", "workspace", c.Workspace.Name, "id", t.ID, "by", c.User.Email)
	writeJSON(w, http.StatusCreated, api.NewEnrollmentToken{
		ID: t.ID, Token: secret, Expires: t.Expires,
		Command: s.SigninCommand(secret),
	})
}

// handleRevokeEnrollmentToken is DELETE /enrollment-tokens/{id}. Revoking
// the token of DATA/enroll-token deletes the file too, so that the next
// start makes a new one.
func (s *Server) handleRevokeEnrollmentToken(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	ctx := r.Context()
	id := r.PathValue("id")
	ts, err := s.db.ListTokens(ctx, c.Workspace.ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	var found *runlet.Token
	for i := range ts {
		if ts[i].ID == id && ts[i].Kind == runlet.TokenEnrollment {
			found = &ts[i]
		}
	}
	if found == nil {
		s.error(w, r, runlet.Errorf(runlet.ENOTFOUND, "There is no enrollment token %s in this workspace.", id))
		return
	}
	if err := s.db.RevokeToken(ctx, c.Workspace.ID, id); err != nil {
		s.error(w, r, err)
		return
	}
	s.auth.Revoked()
	if boot := s.bootstrapEnrollToken(); boot != "" && string(store.HashSecret(boot)) == string(found.Hash) {
		if err := os.Remove(filepath.Join(s.cfg.DataDir, EnrollTokenFile)); err != nil {
			s.log.Warn("could not delete the revoked enrollment token's file", "err", err)
		}
	}
	s.log.Info("enrollment token revoked", "workspace", c.Workspace.Name, "id", id, "by", c.User.Email)
	w.WriteHeader(http.StatusNoContent)
}
