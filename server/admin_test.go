//go:build !windows

package server_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/auth"
	"github.com/runlet/runlet/cmd/assemble"
	"github.com/runlet/runlet/server"
	"github.com/runlet/runlet/store"
)

const adminPassword = "admin-password"

// adminCall sends body (raw JSON, "" for none) to the admin API's path
// with the Authorization header authz ("" for none).
func adminCall(t *testing.T, s *testServer, authz, method, path, body string) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxT(t), method, s.URL()+api.Prefix+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return read(t, resp)
}

func basic(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

func bearer(tok string) string { return "Bearer " + tok }

// want fails the test unless a has the status.
func want(t *testing.T, what string, a answer, status int) {
	t.Helper()
	if a.status != status {
		t.Fatalf("%s: %d %s, want %d", what, a.status, a.body, status)
	}
}

// adminToken gets an admin token with HTTP Basic.
func adminToken(t *testing.T, s *testServer, email, password string) string {
	t.Helper()
	a := adminCall(t, s, basic(email, password), "POST", "/admin/token", "")
	want(t, "POST /admin/token", a, http.StatusOK)
	var tok api.AdminToken
	if err := json.Unmarshal([]byte(a.body), &tok); err != nil || tok.Token == "" {
		t.Fatalf("token answer %s: %v", a.body, err)
	}
	return tok.Token
}

func startAdminServer(t *testing.T) *testServer {
	return startServer(t, func(c *assemble.Config) { c.AdminPassword = adminPassword })
}

// TestAdminToken: HTTP Basic gives a JWT of one hour with iss, iat, exp,
// sub and ws, signed with EdDSA; GET checks it. Wrong passwords, expired
// tokens, tokens signed with another key, "alg":"none" and HS256 keyed
// with the public key are refused.
func TestAdminToken(t *testing.T) {
	s := startAdminServer(t)
	ctx := ctxT(t)
	tok := adminToken(t, s, server.AdminEmail, adminPassword)

	admin, err := s.Store.UserByEmail(ctx, server.AdminEmail)
	if err != nil {
		t.Fatal(err)
	}
	ws, err := s.Store.WorkspaceByName(ctx, server.DefaultWorkspace)
	if err != nil {
		t.Fatal(err)
	}
	var claims auth.AdminClaims
	parsed, _, err := jwt.NewParser().ParseUnverified(tok, &claims)
	if err != nil {
		t.Fatal(err)
	}
	if parsed.Method.Alg() != "EdDSA" || parsed.Header["typ"] != "JWT" {
		t.Errorf("header %v", parsed.Header)
	}
	if claims.Issuer != "runlet" || claims.Subject != admin.ID || claims.Workspace != ws.ID || claims.IssuedAt == nil || claims.ExpiresAt == nil ||
		claims.ExpiresAt.Sub(claims.IssuedAt.Time) != time.Hour {
		t.Errorf("claims %+v", claims)
	}

	want(t, "GET /admin/token", adminCall(t, s, bearer(tok), "GET", "/admin/token", ""), http.StatusOK)
	want(t, "GET /admin/devices with the token", adminCall(t, s, bearer(tok), "GET", "/admin/devices", ""), http.StatusOK)

	// Wrong or missing credentials.
	want(t, "wrong password", adminCall(t, s, basic(server.AdminEmail, "wrong-password"), "POST", "/admin/token", ""), http.StatusUnauthorized)
	want(t, "unknown user", adminCall(t, s, basic("nobody@example.com", adminPassword), "POST", "/admin/token", ""), http.StatusUnauthorized)
	want(t, "no Basic", adminCall(t, s, "", "POST", "/admin/token", ""), http.StatusUnauthorized)
	want(t, "GET /admin/token without a token", adminCall(t, s, "", "GET", "/admin/token", ""), http.StatusUnauthorized)
	want(t, "GET /admin/devices without a token", adminCall(t, s, "", "GET", "/admin/devices", ""), http.StatusUnauthorized)

	// Tampered: the payload changed, the signature kept.
	parts := strings.Split(tok, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	payload = bytes.Replace(payload, []byte(`"iss":"runlet"`), []byte(`"iss":"runlez"`), 1)
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + parts[2]

	// Signed with another key.
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	now := s.clock.Now()
	good := auth.AdminClaims{Workspace: ws.ID, RegisteredClaims: jwt.RegisteredClaims{Issuer: "runlet", Subject: admin.ID,
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}}
	otherSigned, err := jwt.NewWithClaims(jwt.SigningMethodEdDSA, good).SignedString(otherKey)
	if err != nil {
		t.Fatal(err)
	}
	// "alg":"none".
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, good).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	// HS256 keyed with the server's public key (alg confusion).
	seed, err := s.Store.ServerKey(ctx, auth.AdminKeyName, func() ([]byte, error) { return nil, errors.New("the key should exist") })
	if err != nil {
		t.Fatal(err)
	}
	pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	hs, err := jwt.NewWithClaims(jwt.SigningMethodHS256, good).SignedString([]byte(pub))
	if err != nil {
		t.Fatal(err)
	}
	// The right key, without an expiry.
	noExp := good
	noExp.ExpiresAt = nil
	noExpiry, err := jwt.NewWithClaims(jwt.SigningMethodEdDSA, noExp).SignedString(ed25519.NewKeyFromSeed(seed))
	if err != nil {
		t.Fatal(err)
	}
	// The right key and claims, but another issuer.
	otherIss := good
	otherIss.Issuer = "qold"
	wrongIssuer, err := jwt.NewWithClaims(jwt.SigningMethodEdDSA, otherIss).SignedString(ed25519.NewKeyFromSeed(seed))
	if err != nil {
		t.Fatal(err)
	}
	// Issued two hours ago: expired an hour ago.
	expired, _, err := s.Auth.IssueAdminTokenFor(ctx, admin.ID, ws.ID, now.Add(-2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string]string{"tampered": tampered, "another key": otherSigned, "alg none": none, "HS256 with the public key": hs,
		"no expiry": noExpiry, "another issuer": wrongIssuer, "expired": expired, "garbage": "eyJhbGciOiJFZERTQSJ9.e30.AAAA"} {
		want(t, "GET /admin/token, "+name, adminCall(t, s, bearer(bad), "GET", "/admin/token", ""), http.StatusUnauthorized)
		want(t, "GET /admin/devices, "+name, adminCall(t, s, bearer(bad), "GET", "/admin/devices", ""), http.StatusUnauthorized)
	}
	if a := adminCall(t, s, bearer(expired), "GET", "/admin/token", ""); !strings.Contains(errorOf(t, a).Message, "expired") {
		t.Errorf("the expired token's error says %q", errorOf(t, a).Message)
	}

	// An admin of two workspaces names one.
	second := runlet.Workspace{Name: "second"}
	if err := s.Store.CreateWorkspace(ctx, &second); err != nil {
		t.Fatal(err)
	}
	if err := s.Store.PutMembership(ctx, &runlet.Membership{Workspace: second.ID, User: admin.ID, Role: runlet.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	a := adminCall(t, s, basic(server.AdminEmail, adminPassword), "POST", "/admin/token", "")
	want(t, "a token of two workspaces", a, http.StatusBadRequest)
	if !strings.Contains(errorOf(t, a).Message, "?workspace=") {
		t.Errorf("the error says %q", errorOf(t, a).Message)
	}
	want(t, "a token of a workspace not administered", adminCall(t, s, basic(server.AdminEmail, adminPassword), "POST", "/admin/token?workspace=nope", ""), http.StatusForbidden)
	a = adminCall(t, s, basic(server.AdminEmail, adminPassword), "POST", "/admin/token?workspace=second", "")
	want(t, "a token of the second workspace", a, http.StatusOK)
	var secondTok api.AdminToken
	_ = json.Unmarshal([]byte(a.body), &secondTok)
	var secondClaims auth.AdminClaims
	if _, _, err := jwt.NewParser().ParseUnverified(secondTok.Token, &secondClaims); err != nil || secondClaims.Workspace != second.ID || secondTok.Workspace != second.ID {
		t.Errorf("the second workspace's token: %+v, %v", secondClaims, err)
	}
	a = adminCall(t, s, bearer(secondTok.Token), "POST", "/admin/devices", "")
	want(t, "a sensor in the second workspace", a, http.StatusCreated)
	var inSecond api.AdminSensorCreated
	_ = json.Unmarshal([]byte(a.body), &inSecond)
	want(t, "the second workspace's sensor with the first's token", adminCall(t, s, bearer(tok), "GET", "/admin/devices/"+jsonID(inSecond.ID), ""), http.StatusNotFound)

	// The store clock moves past the hour: the token expires.
	s.clock.Advance(61 * time.Minute)
	want(t, "GET /admin/token after an hour", adminCall(t, s, bearer(tok), "GET", "/admin/token", ""), http.StatusUnauthorized)
	want(t, "GET /admin/devices after an hour", adminCall(t, s, bearer(tok), "GET", "/admin/devices", ""), http.StatusUnauthorized)
	a = adminCall(t, s, basic(server.AdminEmail, adminPassword), "POST", "/admin/token?workspace="+server.DefaultWorkspace, "")
	want(t, "a new token", a, http.StatusOK)
	var fresh api.AdminToken
	_ = json.Unmarshal([]byte(a.body), &fresh)
	want(t, "GET /admin/token with the new token", adminCall(t, s, bearer(fresh.Token), "GET", "/admin/token", ""), http.StatusOK)
}

// TestAdminTokenLockout: the admin token's Basic sign-in counts under the
// limits of sign-in, as the web UI's does.
func TestAdminTokenLockout(t *testing.T) {
	s := startAdminServer(t)
	var last answer
	for range 12 {
		if last = adminCall(t, s, basic(server.AdminEmail, "wrong-password"), "POST", "/admin/token", ""); last.status == http.StatusTooManyRequests {
			break
		}
	}
	want(t, "many wrong passwords", last, http.StatusTooManyRequests)
	want(t, "the right password while locked out", adminCall(t, s, basic(server.AdminEmail, adminPassword), "POST", "/admin/token", ""), http.StatusTooManyRequests)
}

// TestAdminUsers: create, show, update and delete users (D.3–D.6); a
// member is refused; a demoted admin's token is refused at once; no
// answer holds a password hash.
func TestAdminUsers(t *testing.T) {
	s := startAdminServer(t)
	ctx := ctxT(t)
	tok := bearer(adminToken(t, s, server.AdminEmail, adminPassword))

	a := adminCall(t, s, tok, "POST", "/admin/users", `{"username":"ann@example.com","password":"ann-password","permission":"admin"}`)
	want(t, "create ann", a, http.StatusCreated)
	a = adminCall(t, s, tok, "POST", "/admin/users", `{"username":"bob","password":"bob-password","permission":"member"}`)
	want(t, "create bob", a, http.StatusCreated)
	want(t, "create ann again", adminCall(t, s, tok, "POST", "/admin/users", `{"username":"ann@example.com","password":"ann-password"}`), http.StatusConflict)
	want(t, "a bad permission", adminCall(t, s, tok, "POST", "/admin/users", `{"username":"cy","password":"cy-password","permission":"god"}`), http.StatusBadRequest)
	want(t, "a short password", adminCall(t, s, tok, "POST", "/admin/users", `{"username":"cy","password":"short"}`), http.StatusBadRequest)

	ann, err := s.Store.UserByEmail(ctx, "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/admin/users/ann@example.com", "/admin/users/" + ann.ID} {
		a = adminCall(t, s, tok, "GET", path, "")
		want(t, "GET "+path, a, http.StatusOK)
		var info api.AdminUserInfo
		if err := json.Unmarshal([]byte(a.body), &info); err != nil || info.Username != "ann@example.com" || info.Permission != "admin" {
			t.Errorf("GET %s: %s, %v", path, a.body, err)
		}
		if strings.Contains(a.body, ann.PasswordHash) || strings.Contains(a.body, "$2") || strings.Contains(a.body, "password") {
			t.Errorf("GET %s answers the password or its hash: %s", path, a.body)
		}
	}
	want(t, "GET an unknown user", adminCall(t, s, tok, "GET", "/admin/users/nobody", ""), http.StatusNotFound)

	// Ann, an admin, gets a token; bob, a member, does not, and his
	// session is refused by the admin API.
	annTok := bearer(adminToken(t, s, "ann@example.com", "ann-password"))
	want(t, "ann lists sensors", adminCall(t, s, annTok, "GET", "/admin/devices", ""), http.StatusOK)
	want(t, "bob asks for a token", adminCall(t, s, basic("bob", "bob-password"), "POST", "/admin/token", ""), http.StatusForbidden)
	login, err := s.client().Login(ctx, "bob", "bob-password")
	if err != nil {
		t.Fatal(err)
	}
	want(t, "bob's session on the admin API", adminCall(t, s, bearer(login.Token), "GET", "/admin/devices", ""), http.StatusForbidden)
	want(t, "bob's session creates a user", adminCall(t, s, bearer(login.Token), "POST", "/admin/users", `{"username":"eve","password":"eve-password"}`), http.StatusForbidden)
	// The admin's own session works too.
	adminSession := s.adminClient(t)
	want(t, "the admin's session on the admin API", adminCall(t, s, bearer(adminSession.Token), "GET", "/admin/devices", ""), http.StatusOK)

	// A new password for bob: the old one no longer signs in, his session ends.
	a = adminCall(t, s, tok, "PUT", "/admin/users/bob", `{"username":"bob","password":"bob-new-password"}`)
	want(t, "PUT bob's password", a, http.StatusOK)
	if strings.Contains(a.body, "$2") || strings.Contains(a.body, "password\"") {
		t.Errorf("PUT answers a password or hash: %s", a.body)
	}
	if _, err := s.client().Login(ctx, "bob", "bob-password"); runlet.ErrorCode(err) != runlet.EUNAUTHORIZED {
		t.Errorf("bob's old password: %v", err)
	}
	if _, err := s.client().Login(ctx, "bob", "bob-new-password"); err != nil {
		t.Errorf("bob's new password: %v", err)
	}
	if a := adminCall(t, s, bearer(login.Token), "GET", "/whoami", ""); a.status == http.StatusOK {
		t.Errorf("bob's session outlived the new password")
	}

	// Ann demoted: her token is refused at once.
	a = adminCall(t, s, tok, "PUT", "/admin/users/ann@example.com", `{"permission":"member"}`)
	want(t, "demote ann", a, http.StatusOK)
	want(t, "ann's token after the demotion", adminCall(t, s, annTok, "GET", "/admin/devices", ""), http.StatusForbidden)
	want(t, "GET /admin/token after the demotion", adminCall(t, s, annTok, "GET", "/admin/token", ""), http.StatusUnauthorized)
	want(t, "rename ann", adminCall(t, s, tok, "PUT", "/admin/users/ann@example.com", `{"username":"anna@example.com"}`), http.StatusBadRequest)

	// The last admin cannot go nor be demoted.
	want(t, "demote the last admin", adminCall(t, s, tok, "PUT", "/admin/users/"+server.AdminEmail, `{"permission":"member"}`), http.StatusConflict)
	want(t, "delete the last admin", adminCall(t, s, tok, "DELETE", "/admin/users/"+server.AdminEmail, ""), http.StatusConflict)

	// Deleted: gone from the workspace.
	want(t, "delete ann", adminCall(t, s, tok, "DELETE", "/admin/users/ann@example.com", ""), http.StatusNoContent)
	want(t, "GET ann after the delete", adminCall(t, s, tok, "GET", "/admin/users/ann@example.com", ""), http.StatusNotFound)
	want(t, "delete ann again", adminCall(t, s, tok, "DELETE", "/admin/users/ann@example.com", ""), http.StatusNotFound)

	// The audit log has each change, who made it, and no secret.
	a = adminCall(t, s, tok, "GET", "/admin/audit?limit=100", "")
	want(t, "GET /admin/audit", a, http.StatusOK)
	for _, secret := range []string{"ann-password", "bob-password", "bob-new-password", "$2"} {
		if strings.Contains(a.body, secret) {
			t.Errorf("the audit log holds %q: %s", secret, a.body)
		}
	}
	log := auditOf(t, a)
	admin, _ := s.Store.UserByEmail(ctx, server.AdminEmail)
	for _, w := range []struct{ subject, detail string }{
		{"user ann@example.com", "created the user with permission admin"},
		{"user bob", "created the user with permission member"},
		{"user bob", "new password"},
		{"user ann@example.com", "permission admin → member"},
		{"user ann@example.com", "removed from the workspace"},
	} {
		if !hasAudit(log, admin.ID, w.subject, w.detail) {
			t.Errorf("no audit event %q %q in %s", w.subject, w.detail, a.body)
		}
	}
	want(t, "GET /admin/audit as a member", adminCall(t, s, bearer(mustLogin(t, s, "bob", "bob-new-password")), "GET", "/admin/audit", ""), http.StatusForbidden)
}

func mustLogin(t *testing.T, s *testServer, email, password string) string {
	t.Helper()
	resp, err := s.client().Login(ctxT(t), email, password)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Token
}

func auditOf(t *testing.T, a answer) []api.AuditEvent {
	t.Helper()
	var log api.AuditLog
	if err := json.Unmarshal([]byte(a.body), &log); err != nil {
		t.Fatalf("audit %s: %v", a.body, err)
	}
	return log.Events
}

func hasAudit(evs []api.AuditEvent, user, subject, detail string) bool {
	for _, e := range evs {
		if e.Kind == string(store.AuditAdminChange) && e.User == user && e.Subject == subject && strings.Contains(e.Detail, detail) && !e.Time.IsZero() {
			return true
		}
	}
	return false
}

var seventeenDigits = regexp.MustCompile(`"auth":([1-9][0-9]{16})[,}]`)

// TestAdminSensors: the seed's devices are our sensors (D.7–D.13): create
// answers the id and a numeric secret, exactly; list and get never answer
// a secret; config sets the thresholds; login checks a secret given as a
// number or a string, the seed's above 2^53 included; another
// workspace's sensor is not found.
func TestAdminSensors(t *testing.T) {
	s := startAdminServer(t)
	ctx := ctxT(t)
	tok := bearer(adminToken(t, s, server.AdminEmail, adminPassword))
	ws, err := s.Store.WorkspaceByName(ctx, server.DefaultWorkspace)
	if err != nil {
		t.Fatal(err)
	}

	a := adminCall(t, s, tok, "POST", "/admin/devices", "")
	want(t, "POST /admin/devices", a, http.StatusCreated)
	m := seventeenDigits.FindStringSubmatch(a.body)
	if m == nil {
		t.Fatalf("POST /admin/devices: %s has no 17-digit numeric auth", a.body)
	}
	secret := m[1]
	var created api.AdminSensorCreated
	dec := json.NewDecoder(strings.NewReader(a.body))
	dec.UseNumber()
	if err := dec.Decode(&created); err != nil || created.ID <= 0 || created.State || created.Auth.String() != secret {
		t.Fatalf("created %s: %+v, %v", a.body, created, err)
	}
	sn, err := s.Store.CheckSensor(ctx, created.ID, secret)
	if err != nil || sn.Workspace != ws.ID || sn.State != runlet.SensorInactive {
		t.Fatalf("CheckSensor of the new sensor: %+v, %v", sn, err)
	}
	a = adminCall(t, s, tok, "POST", "/admin/devices", "")
	want(t, "a second POST /admin/devices", a, http.StatusCreated)
	var second api.AdminSensorCreated
	if err := json.Unmarshal([]byte(a.body), &second); err != nil || second.ID == created.ID {
		t.Fatalf("second %s: %v", a.body, err)
	}
	id := jsonID(created.ID)

	// Config: strings as the seed, numbers too; the thresholds are set.
	want(t, "PUT config", adminCall(t, s, tok, "PUT", "/admin/devices/"+id+"/config", `{"maxTemperature":"10.54","minTemperature":"-10.54"}`), http.StatusOK)
	got, err := s.Store.Sensor(ctx, ws.ID, created.ID)
	if err != nil || got.Rules.TempMax == nil || *got.Rules.TempMax != 10.54 || got.Rules.TempMin == nil || *got.Rules.TempMin != -10.54 {
		t.Fatalf("rules after PUT config: %+v, %v", got.Rules, err)
	}
	a = adminCall(t, s, tok, "GET", "/admin/devices/"+id, "")
	want(t, "GET /admin/devices/{id}", a, http.StatusOK)
	if a.body != `{"id":`+id+`,"state":false,"config":{"maxTemperature":"10.54","minTemperature":"-10.54"}}`+"\n" {
		t.Errorf("GET /admin/devices/%s: %s", id, a.body)
	}
	want(t, "PUT config with numbers and state", adminCall(t, s, tok, "PUT", "/admin/devices/"+id+"/config", `{"maxTemperature":12,"minBattery":20,"state":true}`), http.StatusOK)
	a = adminCall(t, s, tok, "GET", "/admin/devices/"+id, "")
	if a.body != `{"id":`+id+`,"state":true,"config":{"maxTemperature":"12","minBattery":"20","minTemperature":"-10.54"}}`+"\n" {
		t.Errorf("GET /admin/devices/%s after the second config: %s", id, a.body)
	}
	for _, bad := range []string{`{"maxTemperature":"warm"}`, `{"colour":"red"}`, `{"maxTemperature":1,"minTemperature":5}`, `[]`, ``, `{"state":"maybe"}`} {
		want(t, "PUT config "+bad, adminCall(t, s, tok, "PUT", "/admin/devices/"+id+"/config", bad), http.StatusBadRequest)
	}

	// The list, without secrets.
	a = adminCall(t, s, tok, "GET", "/admin/devices", "")
	want(t, "GET /admin/devices", a, http.StatusOK)
	var list []api.AdminSensor
	if err := json.Unmarshal([]byte(a.body), &list); err != nil || len(list) != 2 || list[0].ID != created.ID || list[1].ID != second.ID || list[1].Config != nil {
		t.Errorf("list %s: %v", a.body, err)
	}
	for _, body := range []string{a.body, adminCall(t, s, tok, "GET", "/admin/devices/"+id, "").body} {
		if strings.Contains(body, secret) || strings.Contains(body, "auth") {
			t.Errorf("a list or get answers a secret: %s", body)
		}
	}

	// Login: the secret as a number and as a string.
	want(t, "login with the number", adminCall(t, s, tok, "POST", "/admin/devices/"+id+"/login", `{"auth":`+secret+`}`), http.StatusOK)
	want(t, "login with the string", adminCall(t, s, tok, "POST", "/admin/devices/"+id+"/login", `{"auth":"`+secret+`"}`), http.StatusOK)
	want(t, "login with another's secret", adminCall(t, s, tok, "POST", "/admin/devices/"+jsonID(second.ID)+"/login", `{"auth":"`+secret+`"}`), http.StatusUnauthorized)
	want(t, "login without auth", adminCall(t, s, tok, "POST", "/admin/devices/"+id+"/login", `{}`), http.StatusBadRequest)

	// The seed's secret above 2^53, exactly: through float64 it would be
	// 64089519511846160.
	if err := s.Store.AddSensor(ctx, &runlet.Sensor{ID: 1000, Workspace: ws.ID}, bigSecret); err != nil {
		t.Fatal(err)
	}
	want(t, "login with the big number", adminCall(t, s, tok, "POST", "/admin/devices/1000/login", `{"auth":64089519511846157}`), http.StatusOK)
	want(t, "login with the big string", adminCall(t, s, tok, "POST", "/admin/devices/1000/login", `{"auth":"64089519511846157"}`), http.StatusOK)
	want(t, "login with the big number rounded", adminCall(t, s, tok, "POST", "/admin/devices/1000/login", `{"auth":64089519511846160}`), http.StatusUnauthorized)
	want(t, "login with a float", adminCall(t, s, tok, "POST", "/admin/devices/1000/login", `{"auth":6.4089519511846157e16}`), http.StatusBadRequest)

	// Another workspace's sensor: not found, and its secret does not log in.
	other := runlet.Workspace{Name: "other"}
	if err := s.Store.CreateWorkspace(ctx, &other); err != nil {
		t.Fatal(err)
	}
	if err := s.Store.AddSensor(ctx, &runlet.Sensor{ID: 77, Workspace: other.ID}, "77077"); err != nil {
		t.Fatal(err)
	}
	want(t, "GET another workspace's sensor", adminCall(t, s, tok, "GET", "/admin/devices/77", ""), http.StatusNotFound)
	want(t, "config of another workspace's sensor", adminCall(t, s, tok, "PUT", "/admin/devices/77/config", `{"maxTemperature":1}`), http.StatusNotFound)
	want(t, "delete another workspace's sensor", adminCall(t, s, tok, "DELETE", "/admin/devices/77", ""), http.StatusNotFound)
	want(t, "login to another workspace's sensor", adminCall(t, s, tok, "POST", "/admin/devices/77/login", `{"auth":77077}`), http.StatusUnauthorized)

	// The legacy create.
	a = adminCall(t, s, tok, "PUT", "/admin/devices", `{"comfort_interval":{"min":1,"max":5},"group":"Beach","name":"Kitchen","user":{"name":"Owner","phone":"+123456789"}}`)
	want(t, "PUT /admin/devices (legacy)", a, http.StatusOK)
	var legacy map[string]json.RawMessage
	if err := json.Unmarshal([]byte(a.body), &legacy); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"Id", "Auth", "State", "Config"} {
		if _, ok := legacy[k]; !ok {
			t.Errorf("the legacy answer %s has no %s", a.body, k)
		}
	}
	if string(legacy["State"]) != "false" || string(legacy["Config"]) != `{"maxTemp":5,"minTemp":1}` || !regexp.MustCompile(`^[1-9][0-9]{16}$`).Match(legacy["Auth"]) {
		t.Errorf("the legacy answer %s", a.body)
	}
	var lid int64
	_ = json.Unmarshal(legacy["Id"], &lid)
	ls, err := s.Store.CheckSensor(ctx, lid, string(legacy["Auth"]))
	if err != nil || ls.Name != "Kitchen" || ls.Location != "Beach" || ls.Owner != "Owner" || ls.Contact != "+123456789" || *ls.Rules.TempMax != 5 || *ls.Rules.TempMin != 1 {
		t.Errorf("the legacy sensor: %+v, %v", ls, err)
	}

	// Delete.
	want(t, "DELETE /admin/devices/{id}", adminCall(t, s, tok, "DELETE", "/admin/devices/"+id, ""), http.StatusNoContent)
	want(t, "GET after the delete", adminCall(t, s, tok, "GET", "/admin/devices/"+id, ""), http.StatusNotFound)
	want(t, "DELETE again", adminCall(t, s, tok, "DELETE", "/admin/devices/"+id, ""), http.StatusNotFound)
	want(t, "a bad id", adminCall(t, s, tok, "GET", "/admin/devices/abc", ""), http.StatusBadRequest)

	// The audit log.
	a = adminCall(t, s, tok, "GET", "/admin/audit", "")
	want(t, "GET /admin/audit", a, http.StatusOK)
	if strings.Contains(a.body, secret) || strings.Contains(a.body, string(legacy["Auth"])) {
		t.Errorf("the audit log holds a secret: %s", a.body)
	}
	log := auditOf(t, a)
	admin, _ := s.Store.UserByEmail(ctx, server.AdminEmail)
	subject := "sensor " + id
	for _, d := range []string{"created the sensor (inactive)", "maxTemperature 10.54, minTemperature -10.54", "maxTemperature 12, minBattery 20, state active", "deleted the sensor"} {
		if !hasAudit(log, admin.ID, subject, d) {
			t.Errorf("no audit event %q %q in %s", subject, d, a.body)
		}
	}
	if !hasAudit(log, admin.ID, "sensor "+jsonID(lid), "legacy API") {
		t.Errorf("no audit event of the legacy create in %s", a.body)
	}
	if a := adminCall(t, s, tok, "GET", "/admin/audit?limit=2", ""); len(auditOf(t, a)) != 2 {
		t.Errorf("limit=2: %s", a.body)
	}
	want(t, "limit=-1", adminCall(t, s, tok, "GET", "/admin/audit?limit=-1", ""), http.StatusBadRequest)
}

func jsonID(id int64) string { b, _ := json.Marshal(id); return string(b) }

var fortyHex = regexp.MustCompile(`^[0-9A-F]{40}$`)

// TestAdminGateways: the seed's gateways are our devices (D.14–D.19):
// create answers the device's ID and a 40-hex enrollment secret with
// which a daemon joins as that device; config sets its labels; login
// checks the secret; delete revokes it.
func TestAdminGateways(t *testing.T) {
	s := startAdminServer(t)
	ctx := ctxT(t)
	tok := bearer(adminToken(t, s, server.AdminEmail, adminPassword))

	a := adminCall(t, s, tok, "POST", "/admin/gateways", "")
	want(t, "POST /admin/gateways", a, http.StatusCreated)
	var gw api.AdminGatewayCreated
	if err := json.Unmarshal([]byte(a.body), &gw); err != nil || gw.ID == "" || !fortyHex.MatchString(gw.Auth) {
		t.Fatalf("created %s: %v", a.body, err)
	}
	a = adminCall(t, s, tok, "POST", "/admin/gateways", `{"name":"pi-3"}`)
	want(t, "POST /admin/gateways with a name", a, http.StatusCreated)
	var pi api.AdminGatewayCreated
	if err := json.Unmarshal([]byte(a.body), &pi); err != nil || pi.Name != "pi-3" {
		t.Fatalf("created %s: %v", a.body, err)
	}
	want(t, "the name again", adminCall(t, s, tok, "POST", "/admin/gateways", `{"name":"pi-3"}`), http.StatusConflict)
	// The enrollment tokens list hints at the gateways' secrets.
	a = adminCall(t, s, bearer(s.adminClient(t).Token), "GET", "/enrollment-tokens", "")
	want(t, "GET /enrollment-tokens", a, http.StatusOK)
	if !strings.Contains(a.body, `"hint":"`+gw.Auth[:4]+`"`) || strings.Contains(a.body, gw.Auth) {
		t.Errorf("enrollment tokens %s, want the hint %s", a.body, gw.Auth[:4])
	}

	// Config: the labels.
	want(t, "PUT config", adminCall(t, s, tok, "PUT", "/admin/gateways/"+gw.ID+"/config", `{"State":"Active", "connectivity":"4G", "sim":12, "solar":true}`), http.StatusOK)
	a = adminCall(t, s, tok, "GET", "/admin/gateways/"+gw.ID, "")
	want(t, "GET /admin/gateways/{id}", a, http.StatusOK)
	var got api.AdminGateway
	if err := json.Unmarshal([]byte(a.body), &got); err != nil || got.ID != gw.ID || got.Config["State"] != "Active" || got.Config["connectivity"] != "4G" || got.Config["sim"] != "12" || got.Config["solar"] != "true" {
		t.Errorf("GET %s: %s, %v", gw.ID, a.body, err)
	}
	for _, bad := range []string{`{"a b":"c"}`, `{"x":{"y":1}}`, `[1]`, ``} {
		want(t, "PUT config "+bad, adminCall(t, s, tok, "PUT", "/admin/gateways/"+gw.ID+"/config", bad), http.StatusBadRequest)
	}
	a = adminCall(t, s, tok, "GET", "/admin/gateways", "")
	want(t, "GET /admin/gateways", a, http.StatusOK)
	var list []api.AdminGateway
	if err := json.Unmarshal([]byte(a.body), &list); err != nil || len(list) != 2 {
		t.Errorf("list %s: %v", a.body, err)
	}
	for _, body := range []string{a.body, adminCall(t, s, tok, "GET", "/admin/gateways/"+gw.ID, "").body} {
		if strings.Contains(body, gw.Auth) || strings.Contains(body, pi.Auth) || strings.Contains(body, "auth") {
			t.Errorf("a list or get answers a secret: %s", body)
		}
	}

	// Login.
	want(t, "login", adminCall(t, s, tok, "POST", "/admin/gateways/"+gw.ID+"/login", `{"auth":"`+gw.Auth+`"}`), http.StatusOK)
	want(t, "login in lower case", adminCall(t, s, tok, "POST", "/admin/gateways/"+gw.ID+"/login", `{"auth":"`+strings.ToLower(gw.Auth)+`"}`), http.StatusOK)
	want(t, "login with the other's secret", adminCall(t, s, tok, "POST", "/admin/gateways/"+gw.ID+"/login", `{"auth":"`+pi.Auth+`"}`), http.StatusUnauthorized)
	want(t, "login with a wrong secret", adminCall(t, s, tok, "POST", "/admin/gateways/"+gw.ID+"/login", `{"auth":"B12F31EBDDF2D982895195964FEAB0065031430B"}`), http.StatusUnauthorized)

	// A daemon joins with the secret, as that device.
	cred, err := s.client().Enroll(ctx, api.EnrollRequest{Token: gw.Auth, Name: "whatever", OS: "linux", Arch: "arm64"})
	if err != nil {
		t.Fatalf("enroll with the gateway's secret: %v", err)
	}
	if cred.DeviceID != gw.ID || cred.Token == "" {
		t.Errorf("credentials %+v, want device %s", cred, gw.ID)
	}
	d, err := s.Store.Device(ctx, cred.Workspace, gw.ID)
	if err != nil || d.OS != "linux" || d.Arch != "arm64" || d.Labels["connectivity"] != "4G" {
		t.Errorf("the joined device: %+v, %v", d, err)
	}
	// Joining again (a re-flashed gateway) replaces the first token.
	cred2, err := s.client().Enroll(ctx, api.EnrollRequest{Token: gw.Auth, Name: "whatever", OS: "linux", Arch: "arm64"})
	if err != nil || cred2.DeviceID != gw.ID {
		t.Fatalf("enroll again: %+v, %v", cred2, err)
	}
	if a := adminCall(t, s, bearer(cred.Token), "GET", "/whoami", ""); a.status != http.StatusUnauthorized {
		t.Errorf("the first token after the second join: %d %s", a.status, a.body)
	}
	if a := adminCall(t, s, bearer(cred2.Token), "GET", "/whoami", ""); a.status != http.StatusOK {
		t.Errorf("the second token: %d %s", a.status, a.body)
	}
	want(t, "a device token on the admin API", adminCall(t, s, bearer(cred2.Token), "GET", "/admin/gateways", ""), http.StatusForbidden)

	// Delete: revoked, its secret no longer joins nor logs in.
	want(t, "DELETE", adminCall(t, s, tok, "DELETE", "/admin/gateways/"+gw.ID, ""), http.StatusNoContent)
	want(t, "GET after the delete", adminCall(t, s, tok, "GET", "/admin/gateways/"+gw.ID, ""), http.StatusNotFound)
	want(t, "login after the delete", adminCall(t, s, tok, "POST", "/admin/gateways/"+gw.ID+"/login", `{"auth":"`+gw.Auth+`"}`), http.StatusUnauthorized)
	if _, err := s.client().Enroll(ctx, api.EnrollRequest{Token: gw.Auth, Name: "whatever"}); runlet.ErrorCode(err) != runlet.EUNAUTHORIZED {
		t.Errorf("enroll after the delete: %v", err)
	}
	if a := adminCall(t, s, bearer(cred2.Token), "GET", "/whoami", ""); a.status != http.StatusUnauthorized {
		t.Errorf("the device's token after the delete: %d", a.status)
	}
	want(t, "DELETE again", adminCall(t, s, tok, "DELETE", "/admin/gateways/"+gw.ID, ""), http.StatusNotFound)

	// The audit log.
	a = adminCall(t, s, tok, "GET", "/admin/audit", "")
	if strings.Contains(a.body, gw.Auth) || strings.Contains(a.body, pi.Auth) {
		t.Errorf("the audit log holds a secret: %s", a.body)
	}
	log := auditOf(t, a)
	admin, _ := s.Store.UserByEmail(ctx, server.AdminEmail)
	subject := "device " + d.Name
	for _, w := range []string{"created the gateway", "config (labels): State, connectivity, sim, solar", "deleted the gateway"} {
		if !hasAudit(log, admin.ID, subject, w) {
			t.Errorf("no audit event %q %q in %s", subject, w, a.body)
		}
	}
}

// TestAdminDatabaseDown: while the database does not answer, the admin
// API answers 503 with a sentence, not 500.
func TestAdminDatabaseDown(t *testing.T) {
	s := startAdminServer(t)
	tok := bearer(adminToken(t, s, server.AdminEmail, adminPassword))
	if err := s.Store.Close(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ method, path string }{{"GET", "/admin/devices"}, {"POST", "/admin/devices"}, {"GET", "/admin/gateways"}} {
		a := adminCall(t, s, tok, c.method, c.path, "")
		want(t, c.method+" "+c.path+" with the database closed", a, http.StatusServiceUnavailable)
		if e := errorOf(t, a); e.Code != runlet.EUNAVAILABLE || !strings.Contains(e.Message, "database") {
			t.Errorf("%s %s: %+v", c.method, c.path, e)
		}
	}
}
