package auth

import (
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
	"github.com/runlet/runlet/store/sqlite"
)

// testAuth is a service over a SQLite store in a temporary directory, on a
// clock the test moves.
type testAuth struct {
	*Service
	db    store.Store
	clock *fakeClock
	dir   string
}

// newTestAuth starts a service; edit changes its config.
func newTestAuth(t *testing.T, edit func(*Config)) *testAuth {
	t.Helper()
	dir := t.TempDir()
	clock := &fakeClock{t: time.Now()}
	db, err := sqlite.Open(t.Context(), filepath.Join(dir, "runlet.db"), store.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cfg := Config{
		Store: db, Now: clock.Now, DataDir: dir, PublicURL: "https://runlet.example",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), PasswordCost: bcrypt.MinCost,
	}
	if edit != nil {
		edit(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return &testAuth{Service: s, db: db, clock: clock, dir: dir}
}

// workspace makes a workspace.
func (a *testAuth) workspace(t *testing.T, name string) runlet.Workspace {
	t.Helper()
	ws := runlet.Workspace{Name: name}
	if err := a.db.CreateWorkspace(t.Context(), &ws); err != nil {
		t.Fatal(err)
	}
	return ws
}

// user makes a user with the password ("" for none), a member of ws.
func (a *testAuth) user(t *testing.T, ws runlet.Workspace, email, password string) runlet.User {
	t.Helper()
	u := runlet.User{Email: email}
	if password != "" {
		h, err := a.HashPassword(password)
		if err != nil {
			t.Fatal(err)
		}
		u.PasswordHash = h
	}
	if err := a.db.CreateUser(t.Context(), &u); err != nil {
		t.Fatal(err)
	}
	if ws.ID != "" {
		if err := a.db.PutMembership(t.Context(), &runlet.Membership{Workspace: ws.ID, User: u.ID, Role: runlet.RoleMember}); err != nil {
			t.Fatal(err)
		}
	}
	return u
}

// device makes a device of ws with its token, and returns the secret.
func (a *testAuth) device(t *testing.T, ws runlet.Workspace, name string) (runlet.Device, string) {
	t.Helper()
	d := runlet.Device{Workspace: ws.ID, Name: name}
	if err := a.db.CreateDevice(t.Context(), &d); err != nil {
		t.Fatal(err)
	}
	return d, a.token(t, ws, runlet.TokenDevice, d.ID)
}

// token makes a token of kind for subject, and returns the secret.
func (a *testAuth) token(t *testing.T, ws runlet.Workspace, kind runlet.TokenKind, subject string) string {
	t.Helper()
	secret := NewSecret("test_")
	tok := runlet.Token{Workspace: ws.ID, Kind: kind, Hash: store.HashSecret(secret), Subject: subject}
	if err := a.db.CreateToken(t.Context(), &tok); err != nil {
		t.Fatal(err)
	}
	return secret
}

// TestNewChecksConfig: the store and the data directory are required, the
// trusted proxies must parse.
func TestNewChecksConfig(t *testing.T) {
	a := newTestAuth(t, nil)
	for name, cfg := range map[string]Config{
		"no store":    {DataDir: a.dir},
		"no data dir": {Store: a.db},
		"bad proxy":   {Store: a.db, DataDir: a.dir, TrustedProxies: []string{"proxy.example"}},
		"bad cost":    {Store: a.db, DataDir: a.dir, PasswordCost: 99},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}
