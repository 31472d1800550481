// Package auth decides who a request or a broker connection is, and
// whether it may still be: passwords and their limits, sessions and CSRF,
// tokens, the first start's admin and enrollment token, the principals of
// the brokers (the embedded NATS authenticator, the RabbitMQ auth
// backend's directory) and revocation. It works over store.Store and
// answers with runlet errors; it knows no broker adapter and serves no
// HTTP (package server maps its errors to statuses).
package auth

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/runlet/runlet/store"
)

const (
	// SessionTTL is how long a session (CLI login or browser cookie) lasts.
	SessionTTL = 12 * time.Hour
	// AdminEmail is the user made on first start.
	AdminEmail = "admin@localhost"
	// DefaultWorkspace is the workspace made on first start.
	DefaultWorkspace = "default"
	// EnrollTokenFile is the file under DataDir holding the enrollment
	// token made on first start.
	EnrollTokenFile = "enroll-token"
	// CSRFKeyFile is the file under DataDir holding the key of the CSRF
	// tokens.
	CSRFKeyFile = "csrf-key"
)

// Config configures a Service. Store and DataDir are required; zero
// fields take the defaults documented.
type Config struct {
	// Store holds the users, workspaces, devices and tokens.
	Store store.Store
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives lockouts and cuts; nil means slog.Default().
	Logger *slog.Logger
	// DataDir holds the CSRF key (made on first use) and the enrollment
	// token file. It must exist.
	DataDir string
	// PublicURL is how browsers reach the server: a request whose Origin
	// is its scheme and host comes from the same site.
	PublicURL string
	// TrustedProxies are the reverse proxies (addresses or CIDR prefixes)
	// whose X-Forwarded-For names the client that the limits of sign-in
	// count; none by default, when the peer's address is the client's.
	TrustedProxies []string
	// Cutter closes the broker connections of a revoked device; nil
	// leaves them until the device next reconnects.
	Cutter Cutter
	// PasswordCost is the bcrypt cost of password hashes; 0 means
	// bcrypt.DefaultCost. Tests lower it: under -race one hash of the
	// default cost takes a second.
	PasswordCost int
}

// Service answers who a caller is. Its methods are safe for concurrent
// use; Close ends the goroutines it starts.
type Service struct {
	db        store.Store
	now       func() time.Time
	log       *slog.Logger
	dataDir   string
	publicURL string
	cutter    Cutter
	cost      int
	csrfKey   []byte       // of the X-CSRF-Token of browser sessions (csrf.go)
	signin    *signinGuard // the limits of sign-in (limits.go)
	dir       *Directory

	ctx    context.Context // ends at Close: the owner of the cut goroutines
	cancel context.CancelFunc
	cuts   sync.WaitGroup // Add under mu while !closing

	mu       sync.Mutex
	revCh    chan struct{} // closed at each revocation (revoke.go)
	onRevoke []func(deviceID string)
	closing  bool
	adminKey ed25519.PrivateKey // the admin API's signing key, once loaded (jwt.go)
}

// New checks cfg, reads (or makes) the CSRF key and returns the service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("auth: no store")
	}
	if cfg.DataDir == "" {
		return nil, errors.New("auth: no data directory")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.PasswordCost == 0 {
		cfg.PasswordCost = bcrypt.DefaultCost
	}
	if cfg.PasswordCost < bcrypt.MinCost || cfg.PasswordCost > bcrypt.MaxCost {
		return nil, fmt.Errorf("auth: the password cost %d is outside bcrypt's %d to %d", cfg.PasswordCost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	s := &Service{
		db: cfg.Store, now: cfg.Now, log: cfg.Logger, dataDir: cfg.DataDir,
		publicURL: strings.TrimRight(cfg.PublicURL, "/"), cutter: cfg.Cutter, cost: cfg.PasswordCost,
		revCh: make(chan struct{}),
	}
	var err error
	if s.signin, err = newSigninGuard(cfg.Now, cfg.PasswordCost, cfg.TrustedProxies); err != nil {
		return nil, err
	}
	if s.csrfKey, err = loadCSRFKey(cfg.DataDir); err != nil {
		return nil, err
	}
	s.dir = &Directory{s: s, devices: map[string]string{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Close cancels the cuts of broker connections in flight and waits for
// them; no cut starts after it.
func (s *Service) Close() {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.cancel()
	s.cuts.Wait()
}
