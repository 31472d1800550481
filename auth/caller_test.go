package auth

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
)

// TestAuthenticate: who each credential is, and what is refused with
// which code. Cookie requests must hold a session, come from this site,
// and carry the CSRF token when they change something.
func TestAuthenticate(t *testing.T) {
	a := newTestAuth(t, nil)
	ws := a.workspace(t, "default")
	ann := a.user(t, ws, "ann@example.com", "right")
	pi, piSecret := a.device(t, ws, "pi")
	gone, goneSecret := a.device(t, ws, "gone")
	if err := a.db.RevokeDevice(t.Context(), ws.ID, gone.ID); err != nil {
		t.Fatal(err)
	}
	session, tok, err := a.NewSession(t.Context(), ann, ws)
	if err != nil {
		t.Fatal(err)
	}
	apiToken := a.token(t, ws, runlet.TokenAPI, ann.ID)
	enroll := a.token(t, ws, runlet.TokenEnrollment, "enrollment")
	csrf := a.CSRF(tok)

	bearer := func(s string) http.Header { return http.Header{"Authorization": {"Bearer " + s}} }
	cookie := func(s string, kv ...string) http.Header {
		h := http.Header{"Cookie": {SessionCookie + "=" + s}}
		for i := 0; i+1 < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	for _, tt := range []struct {
		name   string
		method string
		header http.Header
		code   string // the error's, "" for none
		who    string // the caller's Name
		cookie bool
	}{
		{"nothing", "GET", nil, runlet.EUNAUTHORIZED, "", false},
		{"not a bearer", "GET", http.Header{"Authorization": {"Basic eDp5"}}, runlet.EUNAUTHORIZED, "", false},
		{"unknown token", "GET", bearer("rlt_nope"), runlet.EUNAUTHORIZED, "", false},
		{"device", "GET", bearer(piSecret), "", "pi", false},
		{"revoked device", "GET", bearer(goneSecret), runlet.EUNAUTHORIZED, "", false},
		{"session as bearer", "POST", bearer(session), "", "ann@example.com", false},
		{"API token", "POST", bearer(apiToken), "", "ann@example.com", false},
		{"enrollment token", "GET", bearer(enroll), runlet.EUNAUTHORIZED, "", false},
		{"cookie GET", "GET", cookie(session), "", "ann@example.com", true},
		{"cookie POST without CSRF", "POST", cookie(session), runlet.EFORBIDDEN, "", true},
		{"cookie POST with a wrong CSRF", "POST", cookie(session, CSRFHeader, csrf+"x"), runlet.EFORBIDDEN, "", true},
		{"cookie POST with CSRF", "POST", cookie(session, CSRFHeader, csrf), "", "ann@example.com", true},
		{"cookie from the public URL", "POST", cookie(session, CSRFHeader, csrf, "Origin", "https://runlet.example:443"), "", "ann@example.com", true},
		{"cookie from another site", "GET", cookie(session, "Origin", "https://evil.example"), runlet.EFORBIDDEN, "", true},
		{"cookie with an API token", "GET", cookie(apiToken), runlet.EUNAUTHORIZED, "", true},
		{"unknown cookie", "GET", cookie("rls_nope"), runlet.EUNAUTHORIZED, "", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequestWithContext(t.Context(), tt.method, "http://localhost/api/v1/whoami", nil)
			for k, v := range tt.header {
				r.Header[k] = v
			}
			c, err := a.Authenticate(r)
			if runlet.ErrorCode(err) != tt.code {
				t.Fatalf("error %v, want code %q", err, tt.code)
			}
			if err != nil {
				return
			}
			if c.Name() != tt.who || c.Cookie != tt.cookie || c.Workspace.ID != ws.ID {
				t.Errorf("caller %s (cookie %v) of %s, want %s (cookie %v) of %s", c.Name(), c.Cookie, c.Workspace.ID, tt.who, tt.cookie, ws.ID)
			}
			if c.Device != nil && c.Device.ID != pi.ID {
				t.Errorf("device %+v, want %s", c.Device, pi.ID)
			}
		})
	}
	if _, err := a.Authenticate(httptest.NewRequest("GET", "/", nil)); err != errNoToken {
		t.Errorf("no credential: %v, want the answer that says how to send one", err)
	}
}

// TestCheckUser: the workspace signed in to is the user's first; a user
// of none may not sign in.
func TestCheckUser(t *testing.T) {
	a := newTestAuth(t, nil)
	first, second := a.workspace(t, "first"), a.workspace(t, "second")
	ann := a.user(t, first, "ann@example.com", "right")
	a.clock.Advance(time.Second) // the first membership is the older
	if err := a.db.PutMembership(t.Context(), &runlet.Membership{Workspace: second.ID, User: ann.ID, Role: runlet.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	a.user(t, runlet.Workspace{}, "loner@example.com", "right")

	u, ws, err := a.CheckUser(t.Context(), "192.0.2.1", "  ann@example.com ", "right")
	if err != nil || u.ID != ann.ID || ws.ID != first.ID {
		t.Errorf("ann: %+v in %+v, %v; want in %s", u, ws, err, first.ID)
	}
	if _, _, err := a.CheckUser(t.Context(), "192.0.2.1", "ann@example.com", "wrong"); err != errLogin {
		t.Errorf("wrong password: %v", err)
	}
	if _, _, err := a.CheckUser(t.Context(), "192.0.2.1", "loner@example.com", "right"); runlet.ErrorCode(err) != runlet.EFORBIDDEN {
		t.Errorf("a user of no workspace: %v, want %s", err, runlet.EFORBIDDEN)
	}
}

// TestNewSession: a session token of the workspace that lasts SessionTTL
// and authenticates by its secret only.
func TestNewSession(t *testing.T) {
	a := newTestAuth(t, nil)
	ws := a.workspace(t, "default")
	ann := a.user(t, ws, "ann@example.com", "right")
	secret, tok, err := a.NewSession(t.Context(), ann, ws)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Kind != runlet.TokenSession || tok.Subject != ann.ID || tok.Workspace != ws.ID || tok.Expires.Sub(a.clock.Now().Add(SessionTTL)).Abs() > time.Millisecond {
		t.Errorf("token %+v", tok)
	}
	got, err := a.db.TokenByHash(t.Context(), store.HashSecret(secret))
	if err != nil || got.ID != tok.ID {
		t.Errorf("stored %+v, %v", got, err)
	}
	a.clock.Advance(SessionTTL)
	r := httptest.NewRequestWithContext(t.Context(), "GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+secret)
	if _, err := a.Authenticate(r); runlet.ErrorCode(err) != runlet.EUNAUTHORIZED {
		t.Errorf("an expired session: %v", err)
	}
}
