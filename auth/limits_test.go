package auth

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
)

// TestUnknownUserCostsABcrypt: a password for an unknown account, or for
// an account without a password, is checked against the dummy hash, a bcrypt
// hash of the cost of real ones, so both answers take the time of one
// bcrypt; a known account's is checked against its own hash. And an
// unknown account is counted and locked out like a known one.
func TestUnknownUserCostsABcrypt(t *testing.T) {
	a := newTestAuth(t, nil)
	ann := a.user(t, runlet.Workspace{}, "ann@example.com", "right")
	a.user(t, runlet.Workspace{}, "bob@example.com", "") // invited, no password yet

	g := a.signin
	if cost, err := bcrypt.Cost([]byte(g.dummyHash)); err != nil || cost != a.cost {
		t.Fatalf("the dummy hash has cost %d (%v), want the password cost %d", cost, err, a.cost)
	}
	var (
		mu     sync.Mutex
		hashes []string
	)
	g.verify = func(hash, password string) bool {
		mu.Lock()
		hashes = append(hashes, hash)
		mu.Unlock()
		return checkPassword(hash, password)
	}

	for _, tt := range []struct {
		email, password, hash string
		ok                    bool
	}{
		{"nobody@example.com", "right", g.dummyHash, false},
		{"bob@example.com", "", g.dummyHash, false},
		{"ann@example.com", "wrong", ann.PasswordHash, false},
		{"ANN@example.com", "right", ann.PasswordHash, true},
	} {
		hashes = nil
		u, err := a.verifyUser(t.Context(), "192.0.2.1", tt.email, tt.password)
		if tt.ok != (err == nil) {
			t.Errorf("%s: error %v, want ok %v", tt.email, err, tt.ok)
		}
		if !tt.ok && err != errLogin {
			t.Errorf("%s: error %v, want the one answer for every wrong sign-in", tt.email, err)
		}
		if tt.ok && u.ID != ann.ID {
			t.Errorf("%s: user %+v", tt.email, u)
		}
		if len(hashes) != 1 || hashes[0] != tt.hash {
			t.Errorf("%s: checked against %q, want exactly %q", tt.email, hashes, tt.hash)
		}
	}

	for _, email := range []string{"ann@example.com", "nemo@example.com"} {
		var errs []string
		for i := range 11 {
			_, err := a.verifyUser(t.Context(), fmt.Sprintf("198.51.100.%d", i), email, "wrong")
			errs = append(errs, runlet.ErrorCode(err))
		}
		want := strings.Repeat(runlet.EUNAUTHORIZED+" ", 10) + runlet.ETOOMANY
		if got := strings.Join(errs, " "); got != want {
			t.Errorf("%s: %s, want %s", email, got, want)
		}
	}
	es, err := a.db.ListAudit(t.Context(), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 || es[0].Subject != "nemo@example.com" || es[0].User != "" || es[1].Subject != "ann@example.com" || es[1].User != ann.ID {
		t.Errorf("audit log %+v, want both accounts locked", es)
	}
}

// TestCheckPassword: the current password of a signed-in user is checked
// under the limits of its account, and a wrong one is EFORBIDDEN, not the
// EUNAUTHORIZED that would sign the UI out.
func TestCheckPassword(t *testing.T) {
	a := newTestAuth(t, nil)
	u := a.user(t, runlet.Workspace{}, "ann@example.com", "right")
	if err := a.CheckPassword(t.Context(), "192.0.2.1", u, "right"); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if err := a.CheckPassword(t.Context(), "192.0.2.1", u, "wrong"); runlet.ErrorCode(err) != runlet.EFORBIDDEN {
			t.Fatalf("wrong password %d: %v, want %s", i+1, err, runlet.EFORBIDDEN)
		}
	}
	err := a.CheckPassword(t.Context(), "192.0.2.99", u, "right")
	var tm *TooManyError
	if !errors.As(err, &tm) || tm.Wait != signinPolicy.base {
		t.Fatalf("after 10 wrong passwords: %v, want a wait of %v", err, signinPolicy.base)
	}
	// The account is locked for a sign-in by email too.
	if _, _, err := a.CheckUser(t.Context(), "192.0.2.98", "ANN@example.com", "right"); runlet.ErrorCode(err) != runlet.ETOOMANY {
		t.Errorf("sign-in during the lockout: %v", err)
	}
	a.clock.Advance(signinPolicy.base)
	if err := a.CheckPassword(t.Context(), "192.0.2.1", u, "right"); err != nil {
		t.Errorf("after the wait: %v", err)
	}
}

// TestGuess: unknown codes and tokens count against the address; past the
// free ones the lookup is not even run, and the lockout is audited. A
// token of another kind is as unknown as none.
func TestGuess(t *testing.T) {
	a := newTestAuth(t, nil)
	ws := a.workspace(t, "default")
	enroll := a.token(t, ws, runlet.TokenEnrollment, "enrollment")
	invite := a.token(t, ws, runlet.TokenInvite, "someone")

	if tok, err := a.GuessToken(t.Context(), "192.0.2.1", " "+enroll+"\n", runlet.TokenEnrollment); err != nil || tok.Kind != runlet.TokenEnrollment {
		t.Fatalf("the enrollment token: %+v, %v", tok, err)
	}
	for i := range 9 {
		if _, err := a.GuessToken(t.Context(), "192.0.2.1", invite, runlet.TokenEnrollment); runlet.ErrorCode(err) != runlet.ENOTFOUND {
			t.Fatalf("guess %d, an invitation as enrollment: %v, want %s", i+1, err, runlet.ENOTFOUND)
		}
	}
	lookups := 0
	unknown := func() error {
		lookups++
		return runlet.Errorf(runlet.ENOTFOUND, "no such code")
	}
	if err := a.Guess(t.Context(), "192.0.2.1", unknown); runlet.ErrorCode(err) != runlet.ENOTFOUND {
		t.Fatalf("guess 10: %v", err)
	}
	err := a.Guess(t.Context(), "192.0.2.1", unknown)
	if runlet.ErrorCode(err) != runlet.ETOOMANY || lookups != 1 {
		t.Fatalf("guess 11: %v after %d lookups, want %s without a lookup", err, lookups, runlet.ETOOMANY)
	}
	if _, err := a.GuessToken(t.Context(), "192.0.2.1", enroll, runlet.TokenEnrollment); runlet.ErrorCode(err) != runlet.ETOOMANY {
		t.Errorf("the right token during the lockout: %v", err)
	}
	if err := a.Guess(t.Context(), "192.0.2.2", unknown); runlet.ErrorCode(err) != runlet.ENOTFOUND {
		t.Errorf("another address: %v", err)
	}
	es, err := a.db.ListAudit(t.Context(), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 1 || es[0].Kind != store.AuditGuessesLocked || es[0].Subject != "192.0.2.1" {
		t.Errorf("audit log %+v, want the address locked", es)
	}
}

// TestSource: the limits count the peer's address, unless the peer is a
// trusted proxy; IPv6 per /64.
func TestSource(t *testing.T) {
	for _, tt := range []struct {
		name, remote, xff string
		proxies           []string
		want              string
	}{
		{"peer", "192.0.2.7:4000", "", nil, "192.0.2.7"},
		{"forwarded-for ignored by default", "192.0.2.7:4000", "198.51.100.1", nil, "192.0.2.7"},
		{"v4 in v6", "[::ffff:192.0.2.7]:4000", "", nil, "192.0.2.7"},
		{"v6 per /64", "[2001:db8:1:2:3:4:5:6]:4000", "", nil, "2001:db8:1:2::/64"},
		{"trusted proxy", "127.0.0.1:4000", "198.51.100.1", []string{"127.0.0.1"}, "198.51.100.1"},
		{"proxy chain, rightmost untrusted", "10.0.0.2:1", "203.0.113.9, 198.51.100.1, 10.0.0.3", []string{"10.0.0.0/8"}, "198.51.100.1"},
		{"garbage stops the walk", "10.0.0.2:1", "198.51.100.1, junk", []string{"10.0.0.0/8"}, "10.0.0.2"},
		{"untrusted peer", "192.0.2.7:4000", "198.51.100.1", []string{"127.0.0.1"}, "192.0.2.7"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g, err := newSigninGuard(time.Now, bcrypt.MinCost, tt.proxies)
			if err != nil {
				t.Fatal(err)
			}
			s := &Service{signin: g}
			r := httptest.NewRequest("POST", "/api/v1/login", nil)
			r.RemoteAddr = tt.remote
			if tt.xff != "" {
				r.Header.Set("X-Forwarded-For", tt.xff)
			}
			if got := s.Source(r); got != tt.want {
				t.Errorf("source = %q, want %q", got, tt.want)
			}
		})
	}
	if _, err := newSigninGuard(time.Now, bcrypt.MinCost, []string{"proxy.example"}); err == nil {
		t.Error("accepted a trusted proxy that is no address")
	}
}

// TestTooManyError: ETOOMANY, the exact wait, and a message that says
// when.
func TestTooManyError(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := &Service{now: func() time.Time { return at }}
	err := s.tooMany("for this account", 90*time.Second+time.Millisecond)
	var tm *TooManyError
	if runlet.ErrorCode(err) != runlet.ETOOMANY || !errors.As(err, &tm) || tm.Wait != 90*time.Second+time.Millisecond {
		t.Fatalf("code %q, error %#v", runlet.ErrorCode(err), err)
	}
	const want = "Too many failed attempts for this account: try again in 1m30s (after 03:05:35 UTC)."
	if got := runlet.ErrorMessage(err); got != want {
		t.Errorf("message %q, want %q", got, want)
	}
}
