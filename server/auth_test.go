package server_test

import (
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/cmd/assemble"
	"github.com/runlet/runlet/server"
)

func TestBootstrapGeneratesPasswordOnce(t *testing.T) {
	s := startServer(t, nil)
	m := regexp.MustCompile(`password: (\S+)`).FindStringSubmatch(s.out.String())
	if m == nil {
		t.Fatalf("first start did not print the admin password:\n%s", s.out)
	}
	password := m[1]
	tok, err := s.EnrollToken()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s.out.String(), tok) {
		t.Errorf("first start did not print the enrollment token:\n%s", s.out)
	}
	fi, err := os.Stat(filepath.Join(s.cfg.DataDir, server.EnrollTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("enroll-token mode %v, want 0600", fi.Mode().Perm())
	}
	if _, err := s.client().Login(ctxT(t), server.AdminEmail, password); err != nil {
		t.Fatalf("login with the printed password: %v", err)
	}
	_, err = s.client().Login(ctxT(t), server.AdminEmail, "wrong")
	if runlet.ErrorCode(err) != runlet.EUNAUTHORIZED {
		t.Errorf("login with a wrong password: %v, want unauthorized", err)
	}

	s.Close()
	s2 := restart(t, s.cfg, s.clock)
	if strings.Contains(s2.out.String(), "password:") || strings.Contains(s2.out.String(), tok) {
		t.Errorf("second start printed secrets again:\n%s", s2.out)
	}
	if tok2, _ := s2.EnrollToken(); tok2 != tok {
		t.Errorf("enrollment token changed across restarts: %q, then %q", tok, tok2)
	}
	if _, err := s2.client().Login(ctxT(t), server.AdminEmail, password); err != nil {
		t.Fatalf("login after restart: %v", err)
	}
	s2.enroll(t, "pi-1") // the token still works
}

func TestAdminPasswordFromConfig(t *testing.T) {
	s := startServer(t, func(c *assemble.Config) { c.AdminPassword = "s3cret-pass" })
	if strings.Contains(s.out.String(), "s3cret-pass") {
		t.Errorf("the configured password was printed:\n%s", s.out)
	}
	s.adminClient(t)
}

func TestDeviceFlow(t *testing.T) {
	s := startServer(t, func(c *assemble.Config) { c.AdminPassword = "pw-admin" })
	ctx := ctxT(t)
	c := s.client()
	code, err := c.DeviceCode(ctx, api.DeviceCodeRequest{Name: "mac", OS: "darwin"})
	if err != nil {
		t.Fatal(err)
	}
	if code.VerificationURI != s.URL()+"/device" || !strings.Contains(code.VerificationURIComplete, url.QueryEscape(code.UserCode)) {
		t.Errorf("verification URIs %q, %q", code.VerificationURI, code.VerificationURIComplete)
	}
	wantOAuth(t, c, code.DeviceCode, api.AuthorizationPending)
	wantOAuth(t, c, code.DeviceCode, api.SlowDown)

	// The page is the web UI's; it asks the JSON API what the code is for.
	if page := get(t, code.VerificationURIComplete); page.status != 200 || !strings.Contains(page.body, "<html") {
		t.Fatalf("approval page: %d\n%s", page.status, page.body)
	}
	approval := get(t, s.URL()+"/api/v1/device/approval?code="+url.QueryEscape(code.UserCode))
	if approval.status != 200 || !strings.Contains(approval.body, `"device":"mac"`) || !strings.Contains(approval.body, code.UserCode) {
		t.Fatalf("GET /device/approval: %d\n%s", approval.status, approval.body)
	}
	bad := postForm(t, s.URL()+"/device", url.Values{"code": {code.UserCode}, "email": {server.AdminEmail}, "password": {"nope"}, "action": {"approve"}})
	if bad.status != http.StatusUnauthorized || !strings.Contains(bad.body, "Wrong email or password") {
		t.Errorf("approval with a wrong password: %d\n%s", bad.status, bad.body)
	}
	// People type codes in lower case and without the dash.
	typed := strings.ToLower(strings.ReplaceAll(code.UserCode, "-", ""))
	ok := postForm(t, s.URL()+"/device", url.Values{"code": {typed}, "email": {server.AdminEmail}, "password": {"pw-admin"}, "action": {"approve"}})
	if ok.status != 200 || !strings.Contains(ok.body, "is signed in") {
		t.Fatalf("approval: %d\n%s", ok.status, ok.body)
	}
	s.clock.Advance(server.DefaultPollInterval + time.Second)
	cred, err := c.DeviceToken(ctx, code.DeviceCode)
	if err != nil {
		t.Fatalf("token after approval: %v", err)
	}
	if cred.Device != "mac" || cred.Token == "" || cred.BrokerPassword == "" || cred.Server != s.URL() || cred.WorkspaceName != "default" {
		t.Errorf("credentials %+v", cred)
	}
	who, err := apiclient.New(s.URL(), cred.Token).Whoami(ctx)
	if err != nil || who.Device != "mac" || who.Workspace != cred.Workspace {
		t.Errorf("whoami %+v, %v", who, err)
	}
	s.clock.Advance(server.DefaultPollInterval + time.Second)
	if _, err := c.DeviceToken(ctx, code.DeviceCode); err == nil {
		t.Error("a device code gave credentials twice")
	}

	denied, _ := c.DeviceCode(ctx, api.DeviceCodeRequest{Name: "pi-2"})
	postForm(t, s.URL()+"/device", url.Values{"code": {denied.UserCode}, "email": {server.AdminEmail}, "password": {"pw-admin"}, "action": {"deny"}})
	err = wantOAuth(t, c, denied.DeviceCode, api.AccessDenied)
	if runlet.ErrorCode(err) != runlet.EFORBIDDEN {
		t.Errorf("access_denied has code %q, want forbidden", runlet.ErrorCode(err))
	}

	late, _ := c.DeviceCode(ctx, api.DeviceCodeRequest{Name: "pi-3"})
	s.clock.Advance(server.DefaultCodeTTL + time.Second)
	wantOAuth(t, c, late.DeviceCode, api.ExpiredToken)
	if p := get(t, s.URL()+"/api/v1/device/approval?code="+url.QueryEscape(late.UserCode)); p.status != http.StatusNotFound {
		t.Errorf("approval of an expired code: %d %s", p.status, p.body)
	}
}

func wantOAuth(t testing.TB, c *apiclient.Client, deviceCode, want string) error {
	t.Helper()
	_, err := c.DeviceToken(ctxT(t), deviceCode)
	var oe *apiclient.OAuthError
	if !errors.As(err, &oe) || oe.Code != want || oe.Description == "" {
		t.Fatalf("poll: %v (%#v), want %s with a description", err, oe, want)
	}
	return err
}

func TestDuplicateDeviceName(t *testing.T) {
	s := startServer(t, nil)
	s.enroll(t, "pi-1")
	tok, _ := s.EnrollToken()
	_, err := s.client().Enroll(ctxT(t), api.EnrollRequest{Token: tok, Name: "pi-1"})
	if runlet.ErrorCode(err) != runlet.ECONFLICT || runlet.ErrorMessage(err) != `A device named "pi-1" is already signed in to this workspace: choose another name, or remove that device first.` {
		t.Errorf("second pi-1: %v", err)
	}
	_, err = s.client().DeviceCode(ctxT(t), api.DeviceCodeRequest{Name: "pi-1"})
	if runlet.ErrorCode(err) != runlet.ECONFLICT {
		t.Errorf("device code for a taken name: %v", err)
	}
	_, err = s.client().Enroll(ctxT(t), api.EnrollRequest{Token: "rle_wrong", Name: "pi-9"})
	if runlet.ErrorCode(err) != runlet.EUNAUTHORIZED {
		t.Errorf("enroll with a wrong token: %v", err)
	}
}

func TestSignoutRevokes(t *testing.T) {
	s := startServer(t, nil)
	ctx := ctxT(t)
	cred := s.enroll(t, "pi-1")
	b, err := deviceBus(ctx, cred)
	if err != nil {
		t.Fatalf("the device's broker credentials: %v", err)
	}
	b.Close()
	c := apiclient.New(s.URL(), cred.Token)
	if err := c.Signout(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = c.Whoami(ctx)
	if runlet.ErrorCode(err) != runlet.EUNAUTHORIZED || !strings.Contains(runlet.ErrorMessage(err), "revoked") {
		t.Errorf("whoami after signout: %v", err)
	}
	if _, err := deviceBus(ctx, cred); !errors.Is(err, bus.ErrAuth) {
		t.Errorf("broker after signout: %v, want %v", err, bus.ErrAuth)
	}
	s.enroll(t, "pi-1") // the name is free again
}

func TestUnauthorized(t *testing.T) {
	s := startServer(t, func(c *assemble.Config) { c.AdminPassword = "pw" })
	ctx := ctxT(t)
	admin := s.adminClient(t)
	if who, err := admin.Whoami(ctx); err != nil || who.User != server.AdminEmail || who.WorkspaceName != "default" {
		t.Errorf("admin whoami: %+v, %v", who, err)
	}
	s.clock.Advance(server.SessionTTL + time.Minute)
	if _, err := admin.Whoami(ctx); runlet.ErrorCode(err) != runlet.EUNAUTHORIZED || !strings.Contains(runlet.ErrorMessage(err), "expired") {
		t.Errorf("expired session: %v", err)
	}
	_, err := s.client().Devices(ctx)
	if runlet.ErrorCode(err) != runlet.EUNAUTHORIZED || !strings.Contains(runlet.ErrorMessage(err), "Bearer") {
		t.Errorf("no token: %v", err)
	}
	_, err = apiclient.New(s.URL(), "rlt_madeup").Devices(ctx)
	if runlet.ErrorCode(err) != runlet.EUNAUTHORIZED || !strings.Contains(runlet.ErrorMessage(err), "unknown, revoked or expired") {
		t.Errorf("wrong token: %v", err)
	}
	tok, _ := s.EnrollToken()
	_, err = apiclient.New(s.URL(), tok).Devices(ctx)
	if runlet.ErrorCode(err) != runlet.EUNAUTHORIZED {
		t.Errorf("enrollment token on the API: %v", err)
	}
	r := get(t, s.URL()+"/api/v1/devices")
	if r.status != http.StatusUnauthorized || !strings.Contains(r.body, `"code":"unauthorized"`) {
		t.Errorf("raw answer %d %s", r.status, r.body)
	}
}

func TestHealthAndOpenAPI(t *testing.T) {
	s := startServer(t, nil)
	if r := get(t, s.URL()+"/healthz"); r.status != 200 {
		t.Errorf("healthz %d", r.status)
	}
	if err := s.client().Ready(ctxT(t)); err != nil {
		t.Errorf("readyz: %v", err)
	}
	doc := get(t, s.URL()+"/api/v1/openapi.json")
	if doc.status != 200 || doc.body != string(api.OpenAPI) {
		t.Fatalf("openapi: %d %.200s; want api/openapi.json", doc.status, doc.body)
	}
}
