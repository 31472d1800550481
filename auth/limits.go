package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
)

// The limits of sign-in. Failed passwords count per account (the email
// typed, known or not, so that the answers do not tell them apart) and per
// source address; unknown device codes, user codes and tokens count per
// source address. Past the free failures, a key waits (signinPolicy) and
// is refused with a *TooManyError; a right password resets its account.
// Each lockout is logged and kept in the audit log.

// signinGuard holds the limits of sign-in.
type signinGuard struct {
	accounts  *loginLimiter // failed passwords per account
	addresses *loginLimiter // failed passwords per source address
	guesses   *loginLimiter // unknown codes and tokens per source address
	proxies   []netip.Prefix
	// dummyHash is a bcrypt hash, of the cost of real ones, of a secret
	// nobody knows: a password for an account without a hash is checked
	// against it, so that unknown accounts cost the same time as known
	// ones.
	dummyHash string
	// verify checks a password against a hash: checkPassword, which tests
	// watch.
	verify func(hash, password string) bool
}

func newSigninGuard(now func() time.Time, cost int, proxies []string) (*signinGuard, error) {
	g := &signinGuard{
		accounts:  newLoginLimiter(now, signinPolicy),
		addresses: newLoginLimiter(now, signinPolicy),
		guesses:   newLoginLimiter(now, signinPolicy),
		verify:    checkPassword,
	}
	h, err := bcrypt.GenerateFromPassword([]byte(rand.Text()), cost)
	if err != nil {
		return nil, fmt.Errorf("auth: make the dummy password hash: %w", err)
	}
	g.dummyHash = string(h)
	for _, p := range proxies {
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			a, aerr := netip.ParseAddr(p)
			if aerr != nil {
				return nil, fmt.Errorf("auth: the trusted proxy %q is neither an address nor a CIDR prefix", p)
			}
			prefix = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		g.proxies = append(g.proxies, prefix.Masked())
	}
	return g, nil
}

// TooManyError refuses an attempt under the limits of sign-in: Err is the
// ETOOMANY for people, Wait how long until the next attempt may go ahead
// (an HTTP Retry-After).
type TooManyError struct {
	Err  *runlet.Error
	Wait time.Duration
}

func (e *TooManyError) Error() string { return e.Err.Message }
func (e *TooManyError) Unwrap() error { return e.Err }

func (s *Service) tooMany(what string, wait time.Duration) error {
	at := s.now().Add(wait).UTC().Format("15:04:05 MST")
	return &TooManyError{Wait: wait, Err: runlet.Errorf(runlet.ETOOMANY,
		"Too many failed attempts %s: try again in %s (after %s).", what, wait.Round(time.Second), at)}
}

// verifyUser checks the password of the account with the email under the
// limits, and returns its user. An unknown account is checked against the
// dummy hash and counted like a known one.
func (s *Service) verifyUser(ctx context.Context, source, email, password string) (runlet.User, error) {
	account := strings.ToLower(email)
	if err := s.beginPassword(account, source); err != nil {
		return runlet.User{}, err
	}
	u, err := s.db.UserByEmail(ctx, email)
	if err != nil && runlet.ErrorCode(err) != runlet.ENOTFOUND {
		s.signin.accounts.done(accountKey(account), false)
		s.signin.addresses.done(source, false)
		return runlet.User{}, err
	}
	if !s.endPassword(ctx, account, source, u, password) {
		return runlet.User{}, errLogin
	}
	return u, nil
}

// CheckPassword checks the current password of a signed-in user, from the
// source address, under the same limits as CheckUser: a stolen session
// must not guess it either. EFORBIDDEN when it is wrong (the session
// itself is fine), ETOOMANY (a *TooManyError) while the account or the
// address waits.
func (s *Service) CheckPassword(ctx context.Context, source string, u runlet.User, password string) error {
	account := strings.ToLower(u.Email)
	if err := s.beginPassword(account, source); err != nil {
		return err
	}
	if !s.endPassword(ctx, account, source, u, password) {
		return runlet.Errorf(runlet.EFORBIDDEN, "The current password is wrong.")
	}
	return nil
}

// beginPassword asks to check a password for the account from the source
// address; endPassword must follow a nil answer.
func (s *Service) beginPassword(account, source string) error {
	if wait := s.signin.accounts.begin(accountKey(account)); wait > 0 {
		return s.tooMany("for this account", wait)
	}
	if wait := s.signin.addresses.begin(source); wait > 0 {
		s.signin.accounts.done(accountKey(account), false)
		return s.tooMany("from your address", wait)
	}
	return nil
}

// accountKey is the account's key in the limiter: a hash, so that a key
// takes 32 bytes whatever the email sent.
func accountKey(account string) string {
	sum := sha256.Sum256([]byte(account))
	return string(sum[:])
}

// endPassword checks the password of u (the zero User for an unknown
// account) and counts the outcome; a right one resets the account.
func (s *Service) endPassword(ctx context.Context, account, source string, u runlet.User, password string) bool {
	if !s.signin.checkHash(u.PasswordHash, password) {
		s.passwordFailed(ctx, account, source, u)
		return false
	}
	s.signin.accounts.done(accountKey(account), false)
	s.signin.accounts.reset(accountKey(account))
	s.signin.addresses.done(source, false)
	return true
}

// checkHash checks password against hash, or against g.dummyHash when
// there is none (an unknown user, an invited one without a password yet).
func (g *signinGuard) checkHash(hash, password string) bool {
	if hash == "" {
		g.verify(g.dummyHash, password)
		return false
	}
	return g.verify(hash, password)
}

// passwordFailed counts a wrong password for the account and the address.
func (s *Service) passwordFailed(ctx context.Context, account, source string, u runlet.User) {
	if n, wait := s.signin.accounts.done(accountKey(account), true); wait > 0 {
		ev := store.AuditEvent{Kind: store.AuditAccountLocked, Subject: clip(account, 254), User: u.ID, Source: source}
		if u.ID != "" {
			// The workspace the user signs in to (CheckUser).
			if ms, err := s.db.ListUserMemberships(ctx, u.ID); err == nil && len(ms) > 0 {
				ev.Workspace = ms[0].Workspace
			}
		}
		s.lockedOut(ctx, ev, n, wait)
	}
	if n, wait := s.signin.addresses.done(source, true); wait > 0 {
		s.lockedOut(ctx, store.AuditEvent{Kind: store.AuditAddressLocked, Subject: source, Source: source}, n, wait)
	}
}

// Guess runs lookup, the search for a device code, user code or token a
// client presented from the source address, as a guess counted against
// that address: ETOOMANY (a *TooManyError, lookup not run) while the
// address waits, else lookup's error, whose ENOTFOUND counts as a wrong
// guess.
func (s *Service) Guess(ctx context.Context, source string, lookup func() error) error {
	if wait := s.signin.guesses.begin(source); wait > 0 {
		return s.tooMany("with unknown codes or tokens from your address", wait)
	}
	err := lookup()
	if n, wait := s.signin.guesses.done(source, runlet.ErrorCode(err) == runlet.ENOTFOUND); wait > 0 {
		s.lockedOut(ctx, store.AuditEvent{Kind: store.AuditGuessesLocked, Subject: source, Source: source}, n, wait)
	}
	return err
}

// GuessToken looks up a token of kind by the secret a client presented,
// a Guess from its address: ETOOMANY while the address waits, ENOTFOUND
// when no usable token of that kind has the secret.
func (s *Service) GuessToken(ctx context.Context, source, secret string, kind runlet.TokenKind) (runlet.Token, error) {
	var t runlet.Token
	err := s.Guess(ctx, source, func() (err error) {
		t, err = s.db.TokenByHash(ctx, store.HashSecret(strings.TrimSpace(secret)))
		if err == nil && t.Kind != kind {
			err = runlet.Errorf(runlet.ENOTFOUND, "The token is unknown, revoked or expired.")
		}
		return err
	})
	return t, err
}

// clip cuts s to at most n bytes of valid UTF-8.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// lockedOut logs a lockout and keeps it in the audit log.
func (s *Service) lockedOut(ctx context.Context, ev store.AuditEvent, failures int, wait time.Duration) {
	ev.Time = s.now()
	ev.Detail = fmt.Sprintf("%d failed attempts in a row: no attempt before %s.", failures, ev.Time.Add(wait).UTC().Format(time.RFC3339))
	s.log.Warn("sign-in lockout", "kind", ev.Kind, "subject", ev.Subject, "source", ev.Source, "failures", failures, "wait", wait)
	// Kept even when the client has gone.
	if err := s.db.AddAudit(context.WithoutCancel(ctx), &ev); err != nil {
		s.log.Error("could not record a lockout in the audit log", "kind", ev.Kind, "subject", ev.Subject, "err", err)
	}
}

// Source is the address a request comes from, as the limits count it: the
// peer's or, from a trusted proxy, the last address of X-Forwarded-For that
// is not a trusted proxy. IPv6 addresses count per /64, what one
// subscriber gets.
func (s *Service) Source(r *http.Request) string {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	a := peer.Addr().Unmap()
	if s.signin.trusted(a) {
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break
			}
			if a = hop.Unmap(); !s.signin.trusted(a) {
				break
			}
		}
	}
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

func (g *signinGuard) trusted(a netip.Addr) bool {
	for _, p := range g.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
