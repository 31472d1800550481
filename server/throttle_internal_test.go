package server

import (
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store/sqlite"
)

// TestUnknownUserCostsABcrypt: a password for an unknown account, or for
// an account without a password, is checked against the dummy hash, a bcrypt
// hash of the cost of real ones, so both answers take the time of one
// bcrypt; a known account's is checked against its own hash. And an
// unknown account is counted and locked out like a known one.
func TestUnknownUserCostsABcrypt(t *testing.T) {
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "runlet.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	hash, err := hashPassword("right")
	if err != nil {
		t.Fatal(err)
	}
	ann := runlet.User{Email: "ann@example.com", PasswordHash: hash}
	invited := runlet.User{Email: "bob@example.com"} // no password yet
	for _, u := range []*runlet.User{&ann, &invited} {
		if err := db.CreateUser(t.Context(), u); err != nil {
			t.Fatal(err)
		}
	}

	cfg := Config{Now: time.Now}
	g, err := newSigninGuard(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if cost, err := bcrypt.Cost([]byte(g.dummyHash)); err != nil || cost != passwordCost {
		t.Fatalf("the dummy hash has cost %d (%v), want passwordCost %d", cost, err, passwordCost)
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
	s := &Server{cfg: cfg, now: time.Now, db: db, signin: g, log: slog.New(slog.NewTextHandler(io.Discard, nil))}

	for _, tt := range []struct {
		email, password, hash string
		ok                    bool
	}{
		{"nobody@example.com", "right", g.dummyHash, false},
		{"bob@example.com", "", g.dummyHash, false},
		{"ann@example.com", "wrong", hash, false},
		{"ANN@example.com", "right", hash, true},
	} {
		hashes = nil
		u, err := s.verifyUser(t.Context(), "192.0.2.1", tt.email, tt.password)
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
			_, err := s.verifyUser(t.Context(), fmt.Sprintf("198.51.100.%d", i), email, "wrong")
			errs = append(errs, runlet.ErrorCode(err))
		}
		want := strings.Repeat(runlet.EUNAUTHORIZED+" ", 10) + runlet.ETOOMANY
		if got := strings.Join(errs, " "); got != want {
			t.Errorf("%s: %s, want %s", email, got, want)
		}
	}
	es, err := db.ListAudit(t.Context(), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 || es[0].Subject != "nemo@example.com" || es[0].User != "" || es[1].Subject != "ann@example.com" || es[1].User != ann.ID {
		t.Errorf("audit log %+v, want both accounts locked", es)
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
			g, err := newSigninGuard(Config{Now: time.Now, TrustedProxies: tt.proxies})
			if err != nil {
				t.Fatal(err)
			}
			s := &Server{signin: g}
			r := httptest.NewRequest("POST", "/api/v1/login", nil)
			r.RemoteAddr = tt.remote
			if tt.xff != "" {
				r.Header.Set("X-Forwarded-For", tt.xff)
			}
			if got := s.source(r); got != tt.want {
				t.Errorf("source = %q, want %q", got, tt.want)
			}
		})
	}
	if _, err := newSigninGuard(Config{TrustedProxies: []string{"proxy.example"}}); err == nil {
		t.Error("accepted a trusted proxy that is no address")
	}
}

// TestTooManyError: 429, the seconds rounded up in Retry-After and in the
// body, and a message that says when.
func TestTooManyError(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := &Server{now: func() time.Time { return at }, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	err := s.tooMany("for this account", 90*time.Second+time.Millisecond)
	if runlet.ErrorCode(err) != runlet.ETOOMANY || statusOf(err) != 429 {
		t.Fatalf("code %q, status %d", runlet.ErrorCode(err), statusOf(err))
	}
	w := httptest.NewRecorder()
	s.error(w, httptest.NewRequest("POST", "/api/v1/login", nil), err)
	if got := w.Header().Get("Retry-After"); got != "91" {
		t.Errorf("Retry-After %q, want 91", got)
	}
	const body = `{"error":{"code":"too_many_attempts","message":"Too many failed attempts for this account: try again in 1m30s (after 03:05:35 UTC).","retryAfter":91}}` + "\n"
	if w.Code != 429 || w.Body.String() != body {
		t.Errorf("answered %d %s, want 429 %s", w.Code, w.Body, body)
	}
}
