package storetest

import (
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
)

func testWorkspaces(t *testing.T, e *env) {
	b := e.workspace(t, "beta")
	if b.ID == "" || !b.Created.Equal(e.clock.Now()) {
		t.Fatalf("created workspace %+v: want an ID and Created = %v", b, e.clock.Now())
	}
	a := runlet.Workspace{ID: "given-id", Name: "alpha"}
	ok(t, e.CreateWorkspace(e.ctx, &a))
	equal(t, "given ID", a.ID, "given-id")

	got, err := e.Workspace(e.ctx, b.ID)
	ok(t, err)
	equal(t, "Workspace", got, b)
	got, err = e.WorkspaceByName(e.ctx, "alpha")
	ok(t, err)
	equal(t, "WorkspaceByName", got, a)
	all, err := e.ListWorkspaces(e.ctx)
	ok(t, err)
	equal(t, "ListWorkspaces", all, []runlet.Workspace{a, b})

	code(t, e.CreateWorkspace(e.ctx, &runlet.Workspace{Name: "alpha"}), runlet.ECONFLICT)
	code(t, e.CreateWorkspace(e.ctx, &runlet.Workspace{ID: "given-id", Name: "gamma"}), runlet.ECONFLICT)
	code(t, e.CreateWorkspace(e.ctx, &runlet.Workspace{Name: " "}), runlet.EINVALID)
	_, err = e.Workspace(e.ctx, "nope")
	code(t, err, runlet.ENOTFOUND)
	_, err = e.WorkspaceByName(e.ctx, "nope")
	code(t, err, runlet.ENOTFOUND)

	renamed, err := e.RenameWorkspace(e.ctx, a.ID, " omega ")
	ok(t, err)
	a.Name = "omega"
	equal(t, "renamed workspace", renamed, a)
	got, err = e.WorkspaceByName(e.ctx, "omega")
	ok(t, err)
	equal(t, "WorkspaceByName after rename", got, a)
	_, err = e.RenameWorkspace(e.ctx, a.ID, "beta")
	code(t, err, runlet.ECONFLICT)
	_, err = e.RenameWorkspace(e.ctx, a.ID, "")
	code(t, err, runlet.EINVALID)
	_, err = e.RenameWorkspace(e.ctx, "nope", "delta")
	code(t, err, runlet.ENOTFOUND)
}

func testUsers(t *testing.T, e *env) {
	u := runlet.User{Email: "ann@example.com", Name: "Ann", AvatarURL: "https://example.com/a.png", PasswordHash: "$argon2id$x"}
	ok(t, e.CreateUser(e.ctx, &u))
	if u.ID == "" || u.Type != runlet.UserBasic || !u.Created.Equal(e.clock.Now()) {
		t.Fatalf("created user %+v: want an ID, type basic, Created = now", u)
	}
	got, err := e.User(e.ctx, u.ID)
	ok(t, err)
	equal(t, "User", got, u)

	pro, name := runlet.UserPro, "Ann B."
	got, err = e.UpdateUser(e.ctx, u.ID, store.UserUpdate{Type: &pro, Name: &name})
	ok(t, err)
	u.Type, u.Name = pro, name
	equal(t, "updated user", got, u)
	got, err = e.User(e.ctx, u.ID)
	ok(t, err)
	equal(t, "User after update", got, u)

	bad := runlet.UserType("gold")
	_, err = e.UpdateUser(e.ctx, u.ID, store.UserUpdate{Type: &bad})
	code(t, err, runlet.EINVALID)
	_, err = e.UpdateUser(e.ctx, "nope", store.UserUpdate{Name: &name})
	code(t, err, runlet.ENOTFOUND)
	_, err = e.User(e.ctx, "nope")
	code(t, err, runlet.ENOTFOUND)
	code(t, e.CreateUser(e.ctx, &runlet.User{Email: ""}), runlet.EINVALID)
	code(t, e.CreateUser(e.ctx, &runlet.User{Email: "b@example.com", Type: "gold"}), runlet.EINVALID)
}

func testUserEmailCase(t *testing.T, e *env) {
	u := e.user(t, "Ann.Lee@Example.COM")
	code(t, e.CreateUser(e.ctx, &runlet.User{Email: "ann.lee@example.com"}), runlet.ECONFLICT)
	code(t, e.CreateUser(e.ctx, &runlet.User{Email: "ANN.LEE@EXAMPLE.COM"}), runlet.ECONFLICT)
	for _, email := range []string{"ann.lee@example.com", "ANN.LEE@example.com", "Ann.Lee@Example.COM"} {
		got, err := e.UserByEmail(e.ctx, email)
		ok(t, err)
		equal(t, "UserByEmail("+email+")", got, u)
	}
	equal(t, "stored email keeps its case", u.Email, "Ann.Lee@Example.COM")
	_, err := e.UserByEmail(e.ctx, "ann@example.com")
	code(t, err, runlet.ENOTFOUND)
}

func testMemberships(t *testing.T, e *env) {
	ws, other := e.workspace(t, "default"), e.workspace(t, "other")
	ann, bob := e.user(t, "ann@example.com"), e.user(t, "bob@example.com")

	m := runlet.Membership{Workspace: ws.ID, User: ann.ID, Role: runlet.RoleOwner}
	ok(t, e.PutMembership(e.ctx, &m))
	equal(t, "Created", m.Created, e.clock.Now())
	created := m.Created
	e.clock.Advance(time.Minute)
	ok(t, e.PutMembership(e.ctx, &runlet.Membership{Workspace: ws.ID, User: bob.ID, Role: runlet.RoleMember}))
	ok(t, e.PutMembership(e.ctx, &runlet.Membership{Workspace: other.ID, User: ann.ID, Role: runlet.RoleMember}))

	m.Role = runlet.RoleAdmin
	ok(t, e.PutMembership(e.ctx, &m))
	equal(t, "Created kept on a role change", m.Created, created)
	got, err := e.Membership(e.ctx, ws.ID, ann.ID)
	ok(t, err)
	equal(t, "Membership", got, runlet.Membership{Workspace: ws.ID, User: ann.ID, Role: runlet.RoleAdmin, Created: created})

	members, err := e.ListMembers(e.ctx, ws.ID)
	ok(t, err)
	equal(t, "members", []string{members[0].User, members[1].User}, []string{ann.ID, bob.ID})
	mine, err := e.ListUserMemberships(e.ctx, ann.ID)
	ok(t, err)
	equal(t, "ann's workspaces", []string{mine[0].Workspace, mine[1].Workspace}, []string{ws.ID, other.ID})

	ok(t, e.DeleteMembership(e.ctx, ws.ID, bob.ID))
	code(t, e.DeleteMembership(e.ctx, ws.ID, bob.ID), runlet.ENOTFOUND)
	_, err = e.Membership(e.ctx, ws.ID, bob.ID)
	code(t, err, runlet.ENOTFOUND)
	code(t, e.PutMembership(e.ctx, &runlet.Membership{Workspace: "nope", User: ann.ID, Role: runlet.RoleMember}), runlet.ENOTFOUND)
	code(t, e.PutMembership(e.ctx, &runlet.Membership{Workspace: ws.ID, User: "nope", Role: runlet.RoleMember}), runlet.ENOTFOUND)
	code(t, e.PutMembership(e.ctx, &runlet.Membership{Workspace: ws.ID, User: bob.ID, Role: "king"}), runlet.EINVALID)
}
