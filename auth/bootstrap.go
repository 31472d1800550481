package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
)

// BootstrapConfig configures Bootstrap.
type BootstrapConfig struct {
	// AdminPassword is the first start's admin password; "" generates one.
	AdminPassword string
	// Out receives the lines printed once for the operator (admin
	// password, enrollment token); nil means os.Stdout.
	Out io.Writer
}

// Bootstrapped is what Bootstrap found or made.
type Bootstrapped struct {
	// Workspace is the default workspace, which devices signed in by
	// code join.
	Workspace runlet.Workspace
	// EnrollToken is the enrollment token of DATA/enroll-token.
	EnrollToken string
}

// Bootstrap makes, on the first start, the default workspace, the admin
// user and the enrollment token, printing the password and token once to
// cfg.Out. Later starts find them and print nothing secret; a start that
// finds DATA/enroll-token gone (the operator deleted it to rotate it, or
// revoked its token) makes a new one.
func (s *Service) Bootstrap(ctx context.Context, cfg BootstrapConfig) (Bootstrapped, error) {
	if cfg.Out == nil {
		cfg.Out = os.Stdout
	}
	ws, err := s.db.WorkspaceByName(ctx, DefaultWorkspace)
	if runlet.ErrorCode(err) == runlet.ENOTFOUND {
		// Renamed in the settings: the first workspace made is the default.
		var all []runlet.Workspace
		if all, err = s.db.ListWorkspaces(ctx); err == nil && len(all) > 0 {
			ws = slices.MinFunc(all, func(a, b runlet.Workspace) int { return a.Created.Compare(b.Created) })
		} else if err == nil {
			err = runlet.Errorf(runlet.ENOTFOUND, "no workspace")
		}
	}
	switch runlet.ErrorCode(err) {
	case "":
		return s.ensureEnrollToken(ctx, ws, cfg.Out)
	case runlet.ENOTFOUND:
	default:
		return Bootstrapped{}, fmt.Errorf("read the default workspace: %w", err)
	}
	ws = runlet.Workspace{Name: DefaultWorkspace}
	if err := s.db.CreateWorkspace(ctx, &ws); err != nil {
		return Bootstrapped{}, fmt.Errorf("create the default workspace: %w", err)
	}
	password, generated := cfg.AdminPassword, false
	if password == "" {
		password, generated = NewSecret("")[:20], true
	}
	hash, err := s.HashPassword(password)
	if err != nil {
		return Bootstrapped{}, err
	}
	u := runlet.User{Email: AdminEmail, Name: "Administrator", PasswordHash: hash}
	if err := s.db.CreateUser(ctx, &u); err != nil {
		return Bootstrapped{}, fmt.Errorf("create the admin user: %w", err)
	}
	if err := s.db.PutMembership(ctx, &runlet.Membership{Workspace: ws.ID, User: u.ID, Role: runlet.RoleOwner}); err != nil {
		return Bootstrapped{}, fmt.Errorf("make the admin owner of the default workspace: %w", err)
	}
	if generated {
		fmt.Fprintf(cfg.Out, "Runlet admin user: %s  password: %s  (shown once; keep it)\n", AdminEmail, password)
	} else {
		fmt.Fprintf(cfg.Out, "Runlet admin user: %s  (password from RUNLET_ADMIN_PASSWORD)\n", AdminEmail)
	}
	return s.ensureEnrollToken(ctx, ws, cfg.Out)
}

// ensureEnrollToken reads DATA/enroll-token, making an enrollment token
// of ws when the file does not exist.
func (s *Service) ensureEnrollToken(ctx context.Context, ws runlet.Workspace, out io.Writer) (Bootstrapped, error) {
	path := filepath.Join(s.dataDir, EnrollTokenFile)
	b, err := os.ReadFile(path)
	if err == nil {
		s.log.Info("enrollment token", "file", path)
		return Bootstrapped{Workspace: ws, EnrollToken: strings.TrimSpace(string(b))}, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return Bootstrapped{}, fmt.Errorf("read the enrollment token: %w", err)
	}
	secret := NewSecret("rle_")
	t := runlet.Token{Workspace: ws.ID, Kind: runlet.TokenEnrollment, Hash: store.HashSecret(secret), Subject: "enrollment"}
	if err := s.db.CreateToken(ctx, &t); err != nil {
		return Bootstrapped{}, fmt.Errorf("create the enrollment token: %w", err)
	}
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return Bootstrapped{}, fmt.Errorf("write the enrollment token: %w", err)
	}
	fmt.Fprintf(out, "Runlet enrollment token (also in %s): %s\n%s", path, secret, RotateEnrollToken)
	return Bootstrapped{Workspace: ws, EnrollToken: secret}, nil
}

// RotateEnrollToken follows the first start's enrollment token where it
// is printed: that token never expires, so it says how to replace it.
// Deleting the file alone is not enough: the token stays valid until it is
// revoked.
const RotateEnrollToken = `  It never expires. To rotate it, revoke it in the web UI (Settings → Enrollment tokens)
  or with DELETE /api/v1/enrollment-tokens/ID, which also deletes the file, and make a new
  one there or with POST /api/v1/enrollment-tokens {"ttl": "24h"} (an expiry of your choice).
`

// NewSecret returns prefix and 26 random letters and digits: the secret
// of a token, shown to its holder once and stored only as its hash
// (store.HashSecret).
func NewSecret(prefix string) string { return prefix + strings.ToLower(rand.Text()) }

// HashPassword hashes a password to keep as runlet.User.PasswordHash.
func (s *Service) HashPassword(p string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(p), s.cost)
	if err != nil {
		return "", fmt.Errorf("hash the password: %w", err)
	}
	return string(h), nil
}

func checkPassword(hash, p string) bool {
	return hash != "" && bcrypt.CompareHashAndPassword([]byte(hash), []byte(p)) == nil
}
