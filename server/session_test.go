package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/cmd/assemble"
	"github.com/runlet/runlet/server"
)

// browser is a web UI client: the session cookie in a jar, the CSRF token
// from the session, and the Origin a page of the server sends.
type browser struct {
	t      testing.TB
	base   string // where requests go
	origin string // the Origin header sent; "" for none
	http   *http.Client
	csrf   string
	resp   *http.Response // of the last request
}

func (s *testServer) browser(t testing.TB) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: s.URL(), origin: s.URL(), http: &http.Client{Jar: jar, Timeout: 60 * time.Second}}
}

// do sends a request with the cookie, the Origin and the CSRF token, each
// edit changing it first, and decodes a JSON answer into out when given.
func (b *browser) do(method, path string, body any, out any, edit ...func(*http.Request)) answer {
	b.t.Helper()
	var rd io.Reader
	if body != nil {
		j, _ := json.Marshal(body)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, b.base+path, rd)
	if err != nil {
		b.t.Fatal(err)
	}
	if b.origin != "" {
		req.Header.Set("Origin", b.origin)
	}
	if b.csrf != "" {
		req.Header.Set(server.CSRFHeader, b.csrf)
	}
	for _, e := range edit {
		e(req)
	}
	resp, err := b.http.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	b.resp = resp
	a := read(b.t, resp)
	if out != nil && a.status < 300 {
		if err := json.Unmarshal([]byte(a.body), out); err != nil {
			b.t.Fatalf("%s %s: %v in %s", method, path, err, a.body)
		}
	}
	return a
}

// signIn signs the browser in and keeps the session's CSRF token.
func (b *browser) signIn(email, password string) api.Session {
	b.t.Helper()
	var sess api.Session
	if a := b.do(http.MethodPost, "/api/v1/session", api.LoginRequest{Email: email, Password: password}, &sess); a.status != 200 {
		b.t.Fatalf("sign in as %s: %d %s", email, a.status, a.body)
	}
	b.csrf = sess.CSRF
	return sess
}

func (b *browser) cookie() *http.Cookie {
	for _, c := range b.resp.Cookies() {
		if c.Name == server.SessionCookie {
			return c
		}
	}
	return nil
}

func noCSRF(r *http.Request) { r.Header.Del(server.CSRFHeader) }

func header(k, v string) func(*http.Request) { return func(r *http.Request) { r.Header.Set(k, v) } }

func wantStatus(t testing.TB, what string, a answer, status int) {
	t.Helper()
	if a.status != status {
		t.Errorf("%s: %d %s, want %d", what, a.status, a.body, status)
	}
}

func TestBrowserSession(t *testing.T) {
	s := startServer(t, func(c *assemble.Config) { c.AdminPassword = "pw-admin" })
	b := s.browser(t)
	wantStatus(t, "wrong password", b.do(http.MethodPost, "/api/v1/session", api.LoginRequest{Email: server.AdminEmail, Password: "nope"}, nil), 401)
	wantStatus(t, "GET /session before signing in", b.do(http.MethodGet, "/api/v1/session", nil, nil), 401)

	sess := b.signIn(server.AdminEmail, "pw-admin")
	c := b.cookie()
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Lax, Path=/, not Secure on http", c)
	}
	if d := c.Expires.Sub(sess.Expires); d < -time.Second || d > time.Second || sess.Expires.Before(time.Now().Add(server.SessionTTL-time.Minute)) {
		t.Errorf("cookie expires %v, session %v", c.Expires, sess.Expires)
	}
	if sess.User.Email != server.AdminEmail || sess.Role != "admin" || sess.Workspace.Name != "default" || sess.CSRF == "" {
		t.Errorf("session %+v", sess)
	}
	var again api.Session
	wantStatus(t, "GET /session", b.do(http.MethodGet, "/api/v1/session", nil, &again), 200)
	if again.CSRF != sess.CSRF || again.User.ID != sess.User.ID {
		t.Errorf("GET /session %+v, signed in as %+v", again, sess)
	}

	// Every API endpoint takes the cookie.
	wantStatus(t, "GET /jobs with the cookie", b.do(http.MethodGet, "/api/v1/jobs", nil, nil), 200)
	// State changes need the CSRF token and a same-site Origin.
	rename := map[string]string{"name": "home"}
	wantStatus(t, "PATCH without CSRF", b.do(http.MethodPatch, "/api/v1/workspace", rename, nil, noCSRF), 403)
	wantStatus(t, "PATCH with a wrong CSRF", b.do(http.MethodPatch, "/api/v1/workspace", rename, nil, header(server.CSRFHeader, sess.CSRF+"x")), 403)
	wantStatus(t, "PATCH from another site", b.do(http.MethodPatch, "/api/v1/workspace", rename, nil, header("Origin", "https://evil.example")), 403)
	wantStatus(t, "GET from another site", b.do(http.MethodGet, "/api/v1/jobs", nil, nil, header("Origin", "https://evil.example")), 403)
	wantStatus(t, "sign in from another site", b.do(http.MethodPost, "/api/v1/session", api.LoginRequest{Email: server.AdminEmail, Password: "pw-admin"}, nil, header("Origin", "null")), 403)
	var ws api.WorkspaceInfo
	wantStatus(t, "PATCH with CSRF", b.do(http.MethodPatch, "/api/v1/workspace", rename, &ws, func(r *http.Request) { r.Header.Del("Origin") }), 200)
	if ws.Name != "home" {
		t.Errorf("renamed workspace %+v", ws)
	}

	// Bearer tokens need neither, even with a foreign Origin.
	admin := s.adminClient(t)
	if _, err := admin.PutJobs(ctxT(t), []byte("hello:\n  script: echo hi\n  where: all\n"), 0); err != nil {
		t.Errorf("PUT /jobs with a bearer token: %v", err)
	}
	req, _ := http.NewRequest(http.MethodPatch, s.URL()+"/api/v1/workspace", strings.NewReader(`{"name":"default"}`))
	req.Header.Set("Authorization", "Bearer "+admin.Token)
	req.Header.Set("Origin", "https://evil.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "PATCH with a bearer token", read(t, resp), 200)

	wantStatus(t, "sign out without CSRF", b.do(http.MethodDelete, "/api/v1/session", nil, nil, noCSRF), 403)
	old := c.Value
	wantStatus(t, "sign out", b.do(http.MethodDelete, "/api/v1/session", nil, nil), 204)
	if c := b.cookie(); c == nil || c.MaxAge >= 0 {
		t.Errorf("sign out did not clear the cookie: %+v", c)
	}
	wantStatus(t, "GET /session after signing out", b.do(http.MethodGet, "/api/v1/session", nil, nil, header("Cookie", server.SessionCookie+"="+old)), 401)

	// A session expires.
	b.signIn(server.AdminEmail, "pw-admin")
	s.clock.Advance(server.SessionTTL + time.Second)
	wantStatus(t, "GET /session after it expired", b.do(http.MethodGet, "/api/v1/session", nil, nil), 401)
}

// A server behind a proxy: its public URL is https on another host than the
// one it listens on. The cookie is Secure, and pages of the public URL are
// same-origin.
func TestBrowserSessionBehindProxy(t *testing.T) {
	s := startServer(t, func(c *assemble.Config) {
		c.AdminPassword = "pw-admin"
		c.PublicURL = "https://runlet.example.com"
	})
	b := s.browser(t)
	b.base, b.origin = "http://"+s.Addr(), "https://runlet.example.com"
	b.signIn(server.AdminEmail, "pw-admin")
	if c := b.cookie(); c == nil || !c.Secure {
		t.Fatalf("cookie %+v: want Secure behind an https public URL", c)
	}
	b.http.Jar, _ = cookiejar.New(nil) // the jar keeps Secure cookies from http
	cookie := header("Cookie", server.SessionCookie+"="+b.cookie().Value)
	wantStatus(t, "PATCH from the public origin", b.do(http.MethodPatch, "/api/v1/workspace", map[string]string{"name": "x"}, nil, cookie), 200)
	wantStatus(t, "PATCH from another origin", b.do(http.MethodPatch, "/api/v1/workspace", map[string]string{"name": "y"}, nil, cookie, header("Origin", "http://runlet.example.com")), 403)
}

func TestDeviceApprovalAPI(t *testing.T) {
	s := startServer(t, func(c *assemble.Config) { c.AdminPassword = "pw-admin" })
	ctx := ctxT(t)
	code, err := s.client().DeviceCode(ctx, api.DeviceCodeRequest{Name: "laptop"})
	if err != nil {
		t.Fatal(err)
	}
	b := s.browser(t)
	typed := strings.ToLower(strings.ReplaceAll(code.UserCode, "-", ""))
	var ap api.Approval
	wantStatus(t, "GET /device/approval", b.do(http.MethodGet, "/api/v1/device/approval?code="+typed, nil, &ap), 200)
	if ap.Device != "laptop" || ap.Code != code.UserCode || ap.Expires.IsZero() {
		t.Errorf("approval %+v", ap)
	}
	wantStatus(t, "unknown code", b.do(http.MethodGet, "/api/v1/device/approval?code=BBBB-BBBB", nil, nil), 404)
	req := api.ApprovalRequest{Code: typed, Action: "approve"}
	wantStatus(t, "approve without signing in", b.do(http.MethodPost, "/api/v1/device/approval", req, nil), 401)
	b.signIn(server.AdminEmail, "pw-admin")
	wantStatus(t, "approve without CSRF", b.do(http.MethodPost, "/api/v1/device/approval", req, nil, noCSRF), 403)
	var out map[string]string
	wantStatus(t, "approve", b.do(http.MethodPost, "/api/v1/device/approval", req, &out), 200)
	if out["status"] != "approved" {
		t.Errorf("approve answered %v", out)
	}
	wantStatus(t, "approve twice", b.do(http.MethodPost, "/api/v1/device/approval", req, nil), 409)
	s.clock.Advance(server.DefaultPollInterval + time.Second)
	if cred, err := s.client().DeviceToken(ctx, code.DeviceCode); err != nil || cred.Device != "laptop" {
		t.Fatalf("token after approval: %+v, %v", cred, err)
	}

	denied, _ := s.client().DeviceCode(ctx, api.DeviceCodeRequest{Name: "phone"})
	wantStatus(t, "deny", b.do(http.MethodPost, "/api/v1/device/approval", api.ApprovalRequest{Code: denied.UserCode, Action: "deny"}, &out), 200)
	if out["status"] != "denied" {
		t.Errorf("deny answered %v", out)
	}
}

func TestSettings(t *testing.T) {
	s := startServer(t, func(c *assemble.Config) { c.AdminPassword = "pw-admin" })
	ctx := ctxT(t)
	admin := s.browser(t)
	admin.signIn(server.AdminEmail, "pw-admin")

	// Invite a member.
	var inv api.InviteResponse
	wantStatus(t, "invite with a bad role", admin.do(http.MethodPost, "/api/v1/members", api.InviteRequest{Email: "bob@example.com", Role: "owner"}, nil), 400)
	wantStatus(t, "invite", admin.do(http.MethodPost, "/api/v1/members", api.InviteRequest{Email: "bob@example.com", Role: "member"}, &inv), 201)
	if !inv.Member.Pending || inv.Member.Role != "member" || !strings.HasPrefix(inv.InviteURL, s.URL()+"/invite?token=") {
		t.Fatalf("invite %+v", inv)
	}
	wantStatus(t, "invite twice", admin.do(http.MethodPost, "/api/v1/members", api.InviteRequest{Email: "BOB@example.com"}, nil), 409)
	u, _ := url.Parse(inv.InviteURL)
	token := u.Query().Get("token")
	bob := s.browser(t)
	wantStatus(t, "accept with a short password", bob.do(http.MethodPost, "/api/v1/invites/accept", api.AcceptInviteRequest{Token: token, Name: "Bob", Password: "short"}, nil), 400)
	var sess api.Session
	wantStatus(t, "accept", bob.do(http.MethodPost, "/api/v1/invites/accept", api.AcceptInviteRequest{Token: token, Name: "Bob", Password: "bob-password"}, &sess), 200)
	if sess.User.Name != "Bob" || sess.Role != "member" || bob.cookie() == nil {
		t.Fatalf("session after accepting %+v", sess)
	}
	bob.csrf = sess.CSRF
	wantStatus(t, "accept twice", s.browser(t).do(http.MethodPost, "/api/v1/invites/accept", api.AcceptInviteRequest{Token: token, Name: "Eve", Password: "eve-password"}, nil), 404)
	var members []api.Member
	wantStatus(t, "members", bob.do(http.MethodGet, "/api/v1/members", nil, &members), 200)
	if len(members) != 2 || members[0].Role != "admin" || members[1].User.Email != "bob@example.com" || members[1].Pending {
		t.Errorf("members %+v", members)
	}

	// A member may not change the settings.
	wantStatus(t, "member renames", bob.do(http.MethodPatch, "/api/v1/workspace", map[string]string{"name": "bob's"}, nil), 403)
	wantStatus(t, "member invites", bob.do(http.MethodPost, "/api/v1/members", api.InviteRequest{Email: "eve@example.com"}, nil), 403)
	wantStatus(t, "member lists tokens", bob.do(http.MethodGet, "/api/v1/enrollment-tokens", nil, nil), 403)
	wantStatus(t, "member makes a token", bob.do(http.MethodPost, "/api/v1/enrollment-tokens", struct{}{}, nil), 403)
	var ws api.WorkspaceInfo
	wantStatus(t, "member reads the workspace", bob.do(http.MethodGet, "/api/v1/workspace", nil, &ws), 200)

	// Passwords. Bob is also signed in on another browser, which the change
	// signs out; the browser that changed it stays in.
	bobElsewhere := s.browser(t)
	bobElsewhere.signIn("bob@example.com", "bob-password")
	wantStatus(t, "wrong current password", bob.do(http.MethodPut, "/api/v1/user/password", api.PasswordChange{Current: "nope", New: "new-password"}, nil), 403)
	wantStatus(t, "short new password", bob.do(http.MethodPut, "/api/v1/user/password", api.PasswordChange{Current: "bob-password", New: "x"}, nil), 400)
	wantStatus(t, "change password", bob.do(http.MethodPut, "/api/v1/user/password", api.PasswordChange{Current: "bob-password", New: "new-password"}, nil), 204)
	if _, err := s.client().Login(ctx, "bob@example.com", "new-password"); err != nil {
		t.Errorf("login with the new password: %v", err)
	}
	wantStatus(t, "the other session after the change", bobElsewhere.do(http.MethodGet, "/api/v1/session", nil, nil), 401)
	wantStatus(t, "the changing session after the change", bob.do(http.MethodGet, "/api/v1/session", nil, nil), 200)

	// Enrollment tokens.
	var created api.NewEnrollmentToken
	wantStatus(t, "bad ttl", admin.do(http.MethodPost, "/api/v1/enrollment-tokens", api.CreateEnrollmentTokenRequest{TTL: "soon"}, nil), 400)
	wantStatus(t, "create token", admin.do(http.MethodPost, "/api/v1/enrollment-tokens", api.CreateEnrollmentTokenRequest{TTL: "1h"}, &created), 201)
	if want := "runlet @signin --server " + s.URL() + " --token " + created.Token + " --name NAME"; created.Command != want || created.Expires.IsZero() {
		t.Errorf("created %+v, want command %q", created, want)
	}
	var list []api.EnrollmentToken
	wantStatus(t, "list tokens", admin.do(http.MethodGet, "/api/v1/enrollment-tokens", nil, &list), 200)
	boot, _ := s.EnrollToken()
	if len(list) != 2 || list[0].ID != created.ID || list[0].Hint != created.Token[:8] || !list[1].Bootstrap || list[1].Hint != boot[:8] {
		t.Fatalf("tokens %+v", list)
	}
	if _, err := s.client().Enroll(ctx, api.EnrollRequest{Token: created.Token, Name: "d1"}); err != nil {
		t.Fatalf("@signin with the new token: %v", err)
	}
	wantStatus(t, "revoke unknown", admin.do(http.MethodDelete, "/api/v1/enrollment-tokens/nope", nil, nil), 404)
	wantStatus(t, "revoke", admin.do(http.MethodDelete, "/api/v1/enrollment-tokens/"+created.ID, nil, nil), 204)
	_, err := s.client().Enroll(ctx, api.EnrollRequest{Token: created.Token, Name: "d2"})
	if runlet.ErrorCode(err) != runlet.EUNAUTHORIZED {
		t.Errorf("@signin with a revoked token: %v, want unauthorized", err)
	}
	wantStatus(t, "list tokens", admin.do(http.MethodGet, "/api/v1/enrollment-tokens", nil, &list), 200)
	if !list[0].Revoked || list[1].Revoked {
		t.Errorf("tokens after revoking %+v", list)
	}

	// Removing members.
	wantStatus(t, "remove the last admin", admin.do(http.MethodDelete, "/api/v1/members/"+sess.Workspace.ID, nil, nil), 404)
	wantStatus(t, "remove the last admin", admin.do(http.MethodDelete, "/api/v1/members/"+members[0].User.ID, nil, nil), 409)
	wantStatus(t, "remove bob", admin.do(http.MethodDelete, "/api/v1/members/"+sess.User.ID, nil, nil), 204)
	wantStatus(t, "bob's session after removal", bob.do(http.MethodGet, "/api/v1/session", nil, nil), 401)
	if _, err := s.Store.Membership(ctx, sess.Workspace.ID, sess.User.ID); runlet.ErrorCode(err) != runlet.ENOTFOUND {
		t.Errorf("membership after removal: %v", err)
	}
}

// Renaming the default workspace must not make the next start create
// another one.
func TestRenamedWorkspaceSurvivesRestart(t *testing.T) {
	s := startServer(t, func(c *assemble.Config) { c.AdminPassword = "pw-admin" })
	b := s.browser(t)
	b.signIn(server.AdminEmail, "pw-admin")
	wantStatus(t, "rename", b.do(http.MethodPatch, "/api/v1/workspace", map[string]string{"name": "fleet"}, nil), 200)
	s.Close()
	s2 := restart(t, s.cfg, s.clock)
	all, err := s2.Store.ListWorkspaces(ctxT(t))
	if err != nil || len(all) != 1 || all[0].Name != "fleet" {
		t.Fatalf("workspaces after restart: %+v, %v", all, err)
	}
	s2.enroll(t, "pi-1")
	if ts, _ := s2.Store.ListTokens(ctxT(t), all[0].ID); len(ts) == 0 || ts[len(ts)-1].Kind != runlet.TokenEnrollment {
		t.Errorf("tokens %+v", ts)
	}
}
