package auth

import (
	"crypto/ed25519"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
	"github.com/runlet/runlet/store/sqlite"
)

// TestAdminTokens: an admin's password gives a token that verifies until
// its hour is out; a member gets none; a demoted admin's token is
// refused; two services on one database share the key; a token of
// another algorithm is refused.
func TestAdminTokens(t *testing.T) {
	a := newTestAuth(t, nil)
	ctx := t.Context()
	ws := a.workspace(t, "acme")
	u := a.user(t, ws, "ann@example.com", "ann-password")
	a.user(t, ws, "bob@example.com", "bob-password")

	if _, _, err := a.IssueAdminToken(ctx, "192.0.2.1", "bob@example.com", "bob-password", ""); runlet.ErrorCode(err) != runlet.EFORBIDDEN {
		t.Errorf("a member's token: %v, want forbidden", err)
	}
	if _, _, err := a.IssueAdminToken(ctx, "192.0.2.1", "ann@example.com", "wrong", ""); runlet.ErrorCode(err) != runlet.EUNAUTHORIZED {
		t.Errorf("a wrong password: %v, want unauthorized", err)
	}
	if err := a.db.PutMembership(ctx, &runlet.Membership{Workspace: ws.ID, User: u.ID, Role: runlet.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	tok, adm, err := a.IssueAdminToken(ctx, "192.0.2.1", " ANN@example.com", "ann-password", "")
	if err != nil || adm.Workspace.ID != ws.ID || adm.User.ID != u.ID || !adm.Expires.Equal(a.clock.Now().Truncate(time.Second).Add(AdminTokenTTL)) {
		t.Fatalf("issue: %+v, %v", adm, err)
	}
	got, err := a.VerifyAdminToken(ctx, tok)
	if err != nil || got.User.ID != u.ID || got.Workspace.ID != ws.ID || got.Role != runlet.RoleAdmin {
		t.Fatalf("verify: %+v, %v", got, err)
	}

	// A second service on the same database (another server process)
	// checks it with the same key.
	db2, err := sqlite.Open(ctx, filepath.Join(a.dir, "runlet.db"), store.Options{Now: a.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db2.Close() })
	other, err := New(Config{Store: db2, Now: a.clock.Now, DataDir: a.dir, PasswordCost: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(other.Close)
	if _, err := other.VerifyAdminToken(ctx, tok); err != nil {
		t.Errorf("another process: %v", err)
	}

	// HS256 keyed with the public key, and "none".
	key, err := a.adminSigningKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	claims := AdminClaims{Workspace: ws.ID, RegisteredClaims: jwt.RegisteredClaims{Issuer: AdminIssuer, Subject: u.ID,
		IssuedAt: jwt.NewNumericDate(a.clock.Now()), ExpiresAt: jwt.NewNumericDate(a.clock.Now().Add(time.Hour))}}
	hs, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(key.Public().(ed25519.PublicKey)))
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, claims).SignedString(jwt.UnsafeAllowNoneSignatureType)
	for name, bad := range map[string]string{"HS256": hs, "none": none, "empty": "", "junk": "a.b.c"} {
		if _, err := a.VerifyAdminToken(ctx, bad); runlet.ErrorCode(err) != runlet.EUNAUTHORIZED {
			t.Errorf("%s: %v, want unauthorized", name, err)
		}
	}

	// Demoted: refused at once.
	if err := a.db.PutMembership(ctx, &runlet.Membership{Workspace: ws.ID, User: u.ID, Role: runlet.RoleMember}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.VerifyAdminToken(ctx, tok); runlet.ErrorCode(err) != runlet.EFORBIDDEN {
		t.Errorf("a demoted admin's token: %v, want forbidden", err)
	}
	if err := a.db.PutMembership(ctx, &runlet.Membership{Workspace: ws.ID, User: u.ID, Role: runlet.RoleOwner}); err != nil {
		t.Fatal(err)
	}

	// Within the leeway, then past it.
	a.clock.Advance(AdminTokenTTL + adminLeeway/2)
	if _, err := a.VerifyAdminToken(ctx, tok); err != nil {
		t.Errorf("within the leeway: %v", err)
	}
	a.clock.Advance(adminLeeway)
	if _, err := a.VerifyAdminToken(ctx, tok); runlet.ErrorCode(err) != runlet.EUNAUTHORIZED {
		t.Errorf("expired: %v, want unauthorized", err)
	}
}
