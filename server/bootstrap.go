package server

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
)

// bootstrap makes, on the first start, the default workspace, the admin
// user and the enrollment token, printing the password and token once.
// Later starts find them and print nothing secret.
func (s *Server) bootstrap(ctx context.Context) error {
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
		s.defaultWS = ws
		return s.ensureEnrollToken(ctx)
	case runlet.ENOTFOUND:
	default:
		return fmt.Errorf("read the default workspace: %w", err)
	}
	ws = runlet.Workspace{Name: DefaultWorkspace}
	if err := s.db.CreateWorkspace(ctx, &ws); err != nil {
		return fmt.Errorf("create the default workspace: %w", err)
	}
	s.defaultWS = ws
	password, generated := s.cfg.AdminPassword, false
	if password == "" {
		password, generated = newSecret("")[:20], true
	}
	hash, err := hashPassword(password)
	if err != nil {
		return err
	}
	u := runlet.User{Email: AdminEmail, Name: "Administrator", PasswordHash: hash}
	if err := s.db.CreateUser(ctx, &u); err != nil {
		return fmt.Errorf("create the admin user: %w", err)
	}
	if err := s.db.PutMembership(ctx, &runlet.Membership{Workspace: ws.ID, User: u.ID, Role: runlet.RoleOwner}); err != nil {
		return fmt.Errorf("make the admin owner of the default workspace: %w", err)
	}
	if generated {
		fmt.Fprintf(s.cfg.Out, "Runlet admin user: %s  password: %s  (shown once; keep it)\n", AdminEmail, password)
	} else {
		fmt.Fprintf(s.cfg.Out, "Runlet admin user: %s  (password from RUNLET_ADMIN_PASSWORD)\n", AdminEmail)
	}
	return s.ensureEnrollToken(ctx)
}

// ensureEnrollToken makes an enrollment token when DATA/enroll-token does
// not exist (first start, or the operator deleted it to rotate it).
func (s *Server) ensureEnrollToken(ctx context.Context) error {
	path := filepath.Join(s.cfg.DataDir, EnrollTokenFile)
	if _, err := os.Stat(path); err == nil {
		s.log.Info("enrollment token", "file", path)
		return nil
	}
	secret := newSecret("rle_")
	t := runlet.Token{Workspace: s.defaultWS.ID, Kind: runlet.TokenEnrollment, Hash: store.HashSecret(secret), Subject: "enrollment"}
	if err := s.db.CreateToken(ctx, &t); err != nil {
		return fmt.Errorf("create the enrollment token: %w", err)
	}
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return fmt.Errorf("write the enrollment token: %w", err)
	}
	fmt.Fprintf(s.cfg.Out, "Runlet enrollment token (also in %s): %s\n", path, secret)
	return nil
}

// newSecret returns prefix and 26 random letters and digits.
func newSecret(prefix string) string { return prefix + strings.ToLower(rand.Text()) }

// passwordCost is the bcrypt cost of password hashes (and of the dummy
// hash of throttle.go). The tests lower it (export_test.go): under -race
// one bcrypt of the default cost takes a second.
var passwordCost = bcrypt.DefaultCost

func hashPassword(p string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(p), passwordCost)
	if err != nil {
		return "", fmt.Errorf("hash the password: %w", err)
	}
	return string(h), nil
}

func checkPassword(hash, p string) bool {
	return hash != "" && bcrypt.CompareHashAndPassword([]byte(hash), []byte(p)) == nil
}
