package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/store"
)

// The seed's users (D.3–D.6): a user of ours, with a membership of the
// workspace whose role is the seed's "permission" (owner, admin or
// member). The seed's "username" is our email, the key of a user. Unlike
// the seed, no answer holds the password's hash. An admin manages the
// accounts of the workspace only: an account that belongs to another
// workspace too is not created again, and its password is its owner's
// (they change it themselves).

// roleOfPermission reads the seed's permission ("" is member).
func roleOfPermission(p string) (runlet.Role, error) {
	switch r := runlet.Role(strings.ToLower(strings.TrimSpace(p))); r {
	case "":
		return runlet.RoleMember, nil
	case runlet.RoleOwner, runlet.RoleAdmin, runlet.RoleMember:
		return r, nil
	}
	return "", runlet.Errorf(runlet.EINVALID, "Unknown permission %q: use owner, admin or member.", runlet.SafeText(p))
}

// checkUsername checks a new user's username: an email or a plain name,
// without spaces.
func checkUsername(name string) error {
	if name == "" {
		return runlet.Errorf(runlet.EINVALID, "username is missing: give the user's email (or a name without spaces).")
	}
	if err := runlet.CheckText("The username", name, maxEmail); err != nil {
		return err
	}
	if strings.ContainsAny(name, " \t\r\n") {
		return runlet.Errorf(runlet.EINVALID, "The username %q may not contain spaces.", runlet.SafeText(name))
	}
	return nil
}

// mayGrant refuses what only an owner may do: make an owner, or change or
// remove one.
func mayGrant(a runlet.Role, from, to runlet.Role) error {
	if a != runlet.RoleOwner && (from == runlet.RoleOwner || to == runlet.RoleOwner) {
		return runlet.Errorf(runlet.EFORBIDDEN, "Only an owner of the workspace may make, change or remove an owner.")
	}
	return nil
}

// memberNamed is the workspace's member whose email (or user ID) is name.
func (s *Server) memberNamed(ctx context.Context, ws, name string) (runlet.User, runlet.Membership, error) {
	u, err := s.db.UserByEmail(ctx, name)
	if runlet.ErrorCode(err) == runlet.ENOTFOUND {
		u, err = s.db.User(ctx, name)
	}
	var m runlet.Membership
	if err == nil {
		m, err = s.db.Membership(ctx, ws, u.ID)
	}
	if runlet.ErrorCode(err) == runlet.ENOTFOUND {
		err = runlet.Errorf(runlet.ENOTFOUND, "There is no user %q in this workspace.", runlet.SafeText(name))
	}
	return u, m, err
}

// lastAdmin reports whether m is the workspace's only owner or admin.
func (s *Server) lastAdmin(ctx context.Context, m runlet.Membership) (bool, error) {
	if m.Role == runlet.RoleMember {
		return false, nil
	}
	ms, err := s.db.ListMembers(ctx, m.Workspace)
	if err != nil {
		return false, err
	}
	for _, o := range ms {
		if o.User != m.User && o.Role != runlet.RoleMember {
			return false, nil
		}
	}
	return true, nil
}

var errLastAdmin = runlet.Errorf(runlet.ECONFLICT, "This is the workspace's last admin: make another member admin first.")

func adminUserInfo(u runlet.User, m runlet.Membership) api.AdminUserInfo {
	return api.AdminUserInfo{Username: u.Email, Permission: string(m.Role), ID: u.ID}
}

// handleAdminCreateUser is POST /admin/users (D.3): a new user with a
// password, member of the workspace with the permission's role. 201.
func (s *Server) handleAdminCreateUser(w http.ResponseWriter, r *http.Request) {
	a := adminOf(r)
	var req api.AdminUser
	if err := decode(r, &req); err != nil {
		s.error(w, r, err)
		return
	}
	name := strings.TrimSpace(req.Username)
	role, err := roleOfPermission(req.Permission)
	if err == nil {
		err = checkUsername(name)
	}
	if err == nil {
		err = checkNewPassword(req.Password)
	}
	if err == nil {
		err = mayGrant(a.Role, runlet.RoleMember, role)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	ctx := r.Context()
	if _, err := s.db.UserByEmail(ctx, name); err == nil {
		s.error(w, r, runlet.Errorf(runlet.ECONFLICT, "A user %q exists already on this server: add them to the workspace with POST %s/members, or change them with PUT %s/admin/users/{user}.", runlet.SafeText(name), api.Prefix, api.Prefix))
		return
	} else if runlet.ErrorCode(err) != runlet.ENOTFOUND {
		s.adminError(w, r, err)
		return
	}
	hash, err := s.auth.HashPassword(req.Password)
	if err != nil {
		s.adminError(w, r, err)
		return
	}
	u := runlet.User{Email: name, PasswordHash: hash}
	if err := s.db.CreateUser(ctx, &u); err != nil {
		s.adminError(w, r, err)
		return
	}
	m := runlet.Membership{Workspace: a.Workspace.ID, User: u.ID, Role: role}
	if err := s.db.PutMembership(ctx, &m); err != nil {
		s.adminError(w, r, err)
		return
	}
	s.audit(r, "user "+u.Email, fmt.Sprintf("created the user with permission %s", role))
	writeJSON(w, http.StatusCreated, adminUserInfo(u, m))
}

// handleAdminGetUser is GET /admin/users/{user} (D.4): the username and
// permission, never the password's hash (the seed answers it).
func (s *Server) handleAdminGetUser(w http.ResponseWriter, r *http.Request) {
	u, m, err := s.memberNamed(r.Context(), adminOf(r).Workspace.ID, r.PathValue("user"))
	if err != nil {
		s.adminError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, adminUserInfo(u, m))
}

// handleAdminUpdateUser is PUT /admin/users/{user} (D.5): a new password,
// a new permission, or both. A new password signs the user out of every
// session; it may be set only for a user of this workspace alone.
func (s *Server) handleAdminUpdateUser(w http.ResponseWriter, r *http.Request) {
	a := adminOf(r)
	var req api.AdminUser
	if err := decode(r, &req); err != nil {
		s.error(w, r, err)
		return
	}
	ctx := r.Context()
	u, m, err := s.memberNamed(ctx, a.Workspace.ID, r.PathValue("user"))
	if err != nil {
		s.adminError(w, r, err)
		return
	}
	if n := strings.TrimSpace(req.Username); n != "" && !strings.EqualFold(n, u.Email) {
		s.error(w, r, runlet.Errorf(runlet.EINVALID, "A username cannot change (%q is not %q): create a new user instead.", runlet.SafeText(n), u.Email))
		return
	}
	role := m.Role
	if req.Permission != "" {
		if role, err = roleOfPermission(req.Permission); err != nil {
			s.error(w, r, err)
			return
		}
	}
	if err := mayGrant(a.Role, m.Role, role); err != nil {
		s.error(w, r, err)
		return
	}
	var changes []string
	if req.Password != "" {
		if err := s.setMemberPassword(ctx, u, req.Password); err != nil {
			s.adminError(w, r, err)
			return
		}
		changes = append(changes, "set a new password (sessions signed out)")
	}
	if role != m.Role {
		if role == runlet.RoleMember {
			if last, err := s.lastAdmin(ctx, m); err != nil || last {
				s.adminError(w, r, cmpErr(err, errLastAdmin))
				return
			}
		}
		old := m.Role
		m.Role = role
		if err := s.db.PutMembership(ctx, &m); err != nil {
			s.adminError(w, r, err)
			return
		}
		changes = append(changes, fmt.Sprintf("permission %s → %s", old, role))
	}
	if len(changes) > 0 {
		s.audit(r, "user "+u.Email, strings.Join(changes, "; "))
	}
	writeJSON(w, http.StatusOK, adminUserInfo(u, m))
}

// cmpErr is err when not nil, else alt.
func cmpErr(err, alt error) error {
	if err != nil {
		return err
	}
	return alt
}

// setMemberPassword gives u a new password, set by an admin, and signs u
// out everywhere. A user who belongs to another workspace too is refused:
// that account is not this workspace's to take over.
func (s *Server) setMemberPassword(ctx context.Context, u runlet.User, password string) error {
	if err := checkNewPassword(password); err != nil {
		return err
	}
	ms, err := s.db.ListUserMemberships(ctx, u.ID)
	if err != nil {
		return err
	}
	if len(ms) > 1 {
		return runlet.Errorf(runlet.EFORBIDDEN, "%s belongs to other workspaces too: they change their own password (PUT %s/user/password).", u.Email, api.Prefix)
	}
	hash, err := s.auth.HashPassword(password)
	if err != nil {
		return err
	}
	if _, err := s.db.UpdateUser(ctx, u.ID, store.UserUpdate{PasswordHash: &hash}); err != nil {
		return err
	}
	_, err = s.revokeOtherSessions(ctx, u.ID, "")
	s.auth.Revoked()
	return err
}

// handleAdminDeleteUser is DELETE /admin/users/{user} (D.6): the user
// leaves the workspace and every token they hold in it is revoked; an
// admin token of theirs is refused from then on. 204.
func (s *Server) handleAdminDeleteUser(w http.ResponseWriter, r *http.Request) {
	a := adminOf(r)
	ctx := r.Context()
	u, m, err := s.memberNamed(ctx, a.Workspace.ID, r.PathValue("user"))
	if err == nil {
		err = mayGrant(a.Role, m.Role, runlet.RoleMember)
	}
	if err == nil {
		var last bool
		if last, err = s.lastAdmin(ctx, m); err == nil && last {
			err = errLastAdmin
		}
	}
	if err == nil {
		err = s.db.DeleteMembership(ctx, a.Workspace.ID, u.ID)
	}
	if err != nil {
		s.adminError(w, r, err)
		return
	}
	if _, err := s.db.RevokeSubjectTokens(ctx, a.Workspace.ID, u.ID); err != nil {
		s.adminError(w, r, fmt.Errorf("the user left the workspace, but their tokens could not all be revoked: %w", err))
		return
	}
	s.auth.Revoked()
	s.audit(r, "user "+u.Email, fmt.Sprintf("removed from the workspace (was %s)", m.Role))
	w.WriteHeader(http.StatusNoContent)
}
