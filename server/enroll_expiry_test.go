package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/cmd/assemble"
)

// TestEnrollmentTokenExpiry: an enrollment token made with a ttl signs
// devices in until it expires, then is refused with a sentence saying what
// to do; one made with ttl 0 never expires.
func TestEnrollmentTokenExpiry(t *testing.T) {
	s := startServer(t, func(c *assemble.Config) { c.AdminPassword = "admin-password" })
	ctx := ctxT(t)
	admin := s.adminClient(t)
	hour := newEnrollmentToken(t, s, admin, "1h")
	never := newEnrollmentToken(t, s, admin, "0")
	if hour.Expires.IsZero() || !never.Expires.IsZero() {
		t.Fatalf("expiries: 1h %v, 0 %v; want one in an hour and none", hour.Expires, never.Expires)
	}
	enroll := func(tok, name string) error {
		_, err := s.client().Enroll(ctx, api.EnrollRequest{Token: tok, Name: name})
		return err
	}
	if err := enroll(hour.Token, "pi-1"); err != nil {
		t.Fatalf("sign in with the 1h token: %v", err)
	}
	s.clock.Advance(time.Hour + time.Minute)
	err := enroll(hour.Token, "pi-2")
	if runlet.ErrorCode(err) != runlet.EUNAUTHORIZED || !strings.Contains(runlet.ErrorMessage(err), "expired") ||
		!strings.Contains(runlet.ErrorMessage(err), "Settings → Enrollment tokens") {
		t.Errorf("sign in with the expired token: %v, want 401 saying it expired and where to get a new one", err)
	}
	s.clock.Advance(1000 * time.Hour)
	admin = s.adminClient(t) // the session expired too
	if err := enroll(never.Token, "pi-3"); err != nil {
		t.Errorf("sign in with the token that never expires, 1000 h on: %v", err)
	}
	var list []api.EnrollmentToken
	if r := adminDo(t, s, admin, http.MethodGet, "/enrollment-tokens", nil, &list); r != http.StatusOK {
		t.Fatalf("list tokens: %d", r)
	}
	for _, e := range list {
		if e.ID == hour.ID && !e.Revoked || e.ID == never.ID && e.Revoked {
			t.Errorf("listed %+v: the expired one should show as no longer usable, the other as usable", e)
		}
	}
}

func newEnrollmentToken(t *testing.T, s *testServer, admin *apiclient.Client, ttl string) api.NewEnrollmentToken {
	t.Helper()
	var out api.NewEnrollmentToken
	if r := adminDo(t, s, admin, http.MethodPost, "/enrollment-tokens", api.CreateEnrollmentTokenRequest{TTL: ttl}, &out); r != http.StatusCreated {
		t.Fatalf("create an enrollment token with ttl %q: %d", ttl, r)
	}
	return out
}

// adminDo sends in as JSON to the API path as admin and decodes the answer
// into out; it returns the status.
func adminDo(t *testing.T, s *testServer, admin *apiclient.Client, method, path string, in, out any) int {
	t.Helper()
	var body bytes.Buffer
	if in != nil {
		if err := json.NewEncoder(&body).Encode(in); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequestWithContext(ctxT(t), method, s.URL()+api.Prefix+path, &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+admin.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode < 300 {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode
}
