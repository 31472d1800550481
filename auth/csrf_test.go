package auth

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/runlet/runlet"
)

// TestCSRFKeyKept: the key is made once, private, and kept across starts,
// so that a page's CSRF token outlives a restart; a short key is refused.
func TestCSRFKeyKept(t *testing.T) {
	a := newTestAuth(t, nil)
	path := filepath.Join(a.dir, CSRFKeyFile)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 || st.Size() != 32 {
		t.Errorf("%s: mode %v, %d bytes", path, st.Mode(), st.Size())
	}
	tok := runlet.Token{Hash: []byte("the hash of a session token....")}
	again, err := New(Config{Store: a.db, DataDir: a.dir})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if a.CSRF(tok) != again.CSRF(tok) || a.CSRF(tok) == a.CSRF(runlet.Token{Hash: []byte("another")}) {
		t.Error("the CSRF token changed across starts, or is the same for two sessions")
	}
	if err := os.WriteFile(path, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{Store: a.db, DataDir: a.dir}); err == nil {
		t.Error("accepted a CSRF key of 5 bytes")
	}
}

// TestCheckOrigin: no Origin, the public URL's (default port or not) and
// the Host's pass; another site's, and the "null" of sandboxed pages, do
// not.
func TestCheckOrigin(t *testing.T) {
	a := newTestAuth(t, func(c *Config) { c.PublicURL = "https://runlet.example/" })
	for _, tt := range []struct {
		origin string
		ok     bool
	}{
		{"", true},
		{"https://runlet.example", true},
		{"https://RUNLET.example:443", true},
		{"http://runlet.example", false},
		{"https://runlet.example:8443", false},
		{"http://10.0.0.5:8080", true}, // the Host the request was sent to
		{"https://evil.example", false},
		{"null", false},
	} {
		r := httptest.NewRequest("POST", "http://10.0.0.5:8080/api/v1/session", nil)
		if tt.origin != "" {
			r.Header.Set("Origin", tt.origin)
		}
		if err := a.CheckOrigin(r); (err == nil) != tt.ok {
			t.Errorf("Origin %q: %v, want ok %v", tt.origin, err, tt.ok)
		} else if err != nil && runlet.ErrorCode(err) != runlet.EFORBIDDEN {
			t.Errorf("Origin %q: code %q", tt.origin, runlet.ErrorCode(err))
		}
	}
}
