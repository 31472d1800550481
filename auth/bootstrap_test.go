package auth

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
)

// TestBootstrap: the first start makes the default workspace, its owner
// the admin with a password shown once, and the enrollment token in a
// private file; later starts find them and show nothing secret; a deleted
// token file is a new token.
func TestBootstrap(t *testing.T) {
	a := newTestAuth(t, nil)
	ctx := t.Context()
	var out bytes.Buffer
	first, err := a.Bootstrap(ctx, BootstrapConfig{Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	if first.Workspace.Name != DefaultWorkspace || !strings.HasPrefix(first.EnrollToken, "rle_") {
		t.Errorf("first start: %+v", first)
	}
	var password string
	for line := range strings.Lines(out.String()) {
		if _, after, ok := strings.Cut(line, "password: "); ok {
			password, _, _ = strings.Cut(after, " ")
		}
	}
	if len(password) != 20 || !strings.Contains(out.String(), first.EnrollToken) {
		t.Fatalf("first start printed %q", out.String())
	}
	u, ws, err := a.CheckUser(ctx, "192.0.2.1", AdminEmail, password)
	if err != nil || ws.ID != first.Workspace.ID {
		t.Fatalf("the admin signs in with the password printed: %+v in %+v, %v", u, ws, err)
	}
	if m, err := a.db.Membership(ctx, ws.ID, u.ID); err != nil || m.Role != runlet.RoleOwner {
		t.Errorf("the admin's membership: %+v, %v", m, err)
	}
	path := filepath.Join(a.dir, EnrollTokenFile)
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("%s: %v, %v", path, st, err)
	}
	if tok, err := a.db.TokenByHash(ctx, store.HashSecret(first.EnrollToken)); err != nil || tok.Kind != runlet.TokenEnrollment || tok.Workspace != ws.ID {
		t.Errorf("the enrollment token: %+v, %v", tok, err)
	}

	// Renamed in the settings: still the default.
	if _, err := a.db.RenameWorkspace(ctx, ws.ID, "home"); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	again, err := a.Bootstrap(ctx, BootstrapConfig{Out: &out})
	if err != nil || again.Workspace.ID != ws.ID || again.EnrollToken != first.EnrollToken || out.Len() != 0 {
		t.Errorf("second start: %+v, %v, printed %q", again, err, out.String())
	}

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	rotated, err := a.Bootstrap(ctx, BootstrapConfig{Out: &out})
	if err != nil || rotated.EnrollToken == first.EnrollToken || !strings.Contains(out.String(), rotated.EnrollToken) {
		t.Errorf("after deleting the token file: %+v, %v, printed %q", rotated, err, out.String())
	}
}

// TestBootstrapAdminPassword: a password given is used and not printed.
func TestBootstrapAdminPassword(t *testing.T) {
	a := newTestAuth(t, nil)
	var out bytes.Buffer
	if _, err := a.Bootstrap(t.Context(), BootstrapConfig{AdminPassword: "s3cret-admin", Out: &out}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "s3cret-admin") || !strings.Contains(out.String(), "RUNLET_ADMIN_PASSWORD") {
		t.Errorf("printed %q", out.String())
	}
	if _, _, err := a.CheckUser(t.Context(), "192.0.2.1", AdminEmail, "s3cret-admin"); err != nil {
		t.Error(err)
	}
}
