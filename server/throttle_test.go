package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/cmd/assemble"
	"github.com/runlet/runlet/server"
	"github.com/runlet/runlet/store"
)

const rightPassword = "right-password"

// limitedServer is a server behind a "proxy" on loopback: it believes
// X-Forwarded-For, so that one test acts from many addresses.
func limitedServer(t *testing.T) *testServer {
	return startServer(t, func(c *assemble.Config) {
		c.AdminPassword = rightPassword
		c.TrustedProxies = []string{"127.0.0.0/8", "::1"}
	})
}

// reply is what the server said to one request.
type reply struct {
	status     int
	retryAfter string
	body       []byte
}

// code is the error code of a JSON error body: the API's or RFC 8628's.
func (a reply) code() string {
	var b struct {
		Error json.RawMessage `json:"error"`
	}
	_ = json.Unmarshal(a.body, &b)
	var oauth string
	if json.Unmarshal(b.Error, &oauth) == nil {
		return oauth
	}
	var d api.ErrorDetail
	_ = json.Unmarshal(b.Error, &d)
	return d.Code
}

// send makes a request from the address, with a JSON body unless body
// is url.Values (a form).
func (s *testServer) send(t *testing.T, method, path, from string, body any) reply {
	t.Helper()
	var (
		rd    io.Reader
		ctype = "application/json"
	)
	switch b := body.(type) {
	case nil:
	case url.Values:
		rd, ctype = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	default:
		j, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctxT(t), method, s.URL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("X-Forwarded-For", from)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), body: b}
}

func (s *testServer) login(t *testing.T, from, email, password string) reply {
	t.Helper()
	return s.send(t, http.MethodPost, api.Prefix+"/login", from, api.LoginRequest{Email: email, Password: password})
}

// want fails t unless a has the status (and, for errors, the code).
func (a reply) want(t *testing.T, what string, status int, code string) {
	t.Helper()
	if a.status != status || (code != "" && a.code() != code) {
		t.Fatalf("%s: %d %s, want %d %s", what, a.status, a.body, status, code)
	}
}

// wantRetryAfter fails t unless a is a 429 with a Retry-After of secs.
// The test clock runs, so a second may have passed since the wait began.
func (a reply) wantRetryAfter(t *testing.T, what string, secs int) {
	t.Helper()
	got, err := strconv.Atoi(a.retryAfter)
	if a.status != http.StatusTooManyRequests || err != nil || got > secs || got < secs-1 {
		t.Fatalf("%s: %d, Retry-After %q: %s; want 429 after %d s", what, a.status, a.retryAfter, a.body, secs)
	}
}

// wantRefused fails t unless a is a 429 with a Retry-After of secs, and
// the API's error saying when to try again.
func (a reply) wantRefused(t *testing.T, what string, secs int) {
	t.Helper()
	a.wantRetryAfter(t, what, secs)
	var b api.ErrorBody
	if err := json.Unmarshal(a.body, &b); err != nil || b.Error.Code != runlet.ETOOMANY || strconv.Itoa(b.Error.RetryAfter) != a.retryAfter || !strings.Contains(b.Error.Message, "try again in") {
		t.Fatalf("%s: body %s, want code %s, retryAfter %s and when to try again", what, a.body, runlet.ETOOMANY, a.retryAfter)
	}
}

// audit is the server's audit log, oldest first.
func (s *testServer) audit(t *testing.T) []store.AuditEvent {
	t.Helper()
	es, err := s.Store.ListAudit(ctxT(t), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(es)-1; i < j; i, j = i+1, j-1 {
		es[i], es[j] = es[j], es[i]
	}
	return es
}

// TestLoginBackoff: ten wrong passwords for an account, from ten
// addresses, are answered 401; the eleventh attempt, even with the right
// password, 429 with Retry-After; once the wait has passed the right
// password signs in and resets the account's count; the lockout is in
// the audit log.
func TestLoginBackoff(t *testing.T) {
	s := limitedServer(t)
	for i := range 10 {
		s.login(t, fmt.Sprintf("192.0.2.%d", i), server.AdminEmail, "wrong").want(t, "wrong password", http.StatusUnauthorized, runlet.EUNAUTHORIZED)
	}
	s.login(t, "198.51.100.1", server.AdminEmail, rightPassword).wantRefused(t, "11th attempt", 30)
	// The browser's sign-in counts the same account.
	s.send(t, http.MethodPost, api.Prefix+"/session", "198.51.100.1", api.LoginRequest{Email: server.AdminEmail, Password: rightPassword}).
		wantRefused(t, "browser sign-in", 30)

	s.clock.Advance(30 * time.Second)
	s.login(t, "198.51.100.1", server.AdminEmail, rightPassword).want(t, "after the wait", http.StatusOK, "")
	// Counted from zero again: without the reset, the first failure
	// would start a wait of a minute.
	for i := range 2 {
		s.login(t, fmt.Sprintf("203.0.113.%d", i), server.AdminEmail, "wrong").want(t, "after the reset", http.StatusUnauthorized, runlet.EUNAUTHORIZED)
	}

	es := s.audit(t)
	if len(es) != 1 {
		t.Fatalf("audit log %+v, want one lockout", es)
	}
	admin, err := s.Store.UserByEmail(ctxT(t), server.AdminEmail)
	if err != nil {
		t.Fatal(err)
	}
	ws, err := s.Store.WorkspaceByName(ctxT(t), server.DefaultWorkspace)
	if err != nil {
		t.Fatal(err)
	}
	e := es[0]
	if e.Kind != store.AuditAccountLocked || e.Subject != server.AdminEmail || e.User != admin.ID || e.Workspace != ws.ID || e.Source != "192.0.2.9" || !strings.Contains(e.Detail, "10 failed") {
		t.Errorf("lockout %+v, want the admin's account, by 192.0.2.9, after 10 failures", e)
	}
}

// TestLoginBackoffPerAddress: one address (an IPv6 /64) that tries ten
// accounts waits before an eleventh, and the next failure after the wait
// doubles it; other addresses are not held up.
func TestLoginBackoffPerAddress(t *testing.T) {
	s := limitedServer(t)
	const from = "2001:db8:1:2::7"
	for i := range 10 {
		s.login(t, from, fmt.Sprintf("nobody%d@example.com", i), "guess").want(t, "unknown account", http.StatusUnauthorized, runlet.EUNAUTHORIZED)
	}
	// Another address of the same /64, another account.
	s.login(t, "2001:db8:1:2::8", server.AdminEmail, rightPassword).wantRefused(t, "11th attempt from the /64", 30)
	s.login(t, "192.0.2.1", server.AdminEmail, rightPassword).want(t, "another address", http.StatusOK, "")

	s.clock.Advance(30 * time.Second)
	s.login(t, from, "nobody0@example.com", "guess").want(t, "after the wait", http.StatusUnauthorized, runlet.EUNAUTHORIZED)
	s.login(t, from, "nobody0@example.com", "guess").wantRefused(t, "after the 11th failure", 60)

	var kinds []string
	for _, e := range s.audit(t) {
		kinds = append(kinds, fmt.Sprintf("%s %s %s", e.Kind, e.Subject, e.Detail))
	}
	want := []string{
		"address_locked 2001:db8:1:2::/64 10 failed",
		"address_locked 2001:db8:1:2::/64 11 failed",
	}
	for i := range kinds {
		if i < len(want) && strings.HasPrefix(kinds[i], want[i]) {
			kinds[i] = want[i]
		}
	}
	if strings.Join(kinds, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit log:\n%s\nwant:\n%s", strings.Join(kinds, "\n"), strings.Join(want, "\n"))
	}
}

// TestCodeGuessesLimited: unknown device codes, user codes and enrollment
// tokens count against the address; past ten, the token endpoint answers
// 429 with slow_down (RFC 8628 clients keep polling, slower), the others
// 429 with the usual error, even for a right code or token. A device that
// polls its own code is never counted, and RFC 8628's slow_down stays.
func TestCodeGuessesLimited(t *testing.T) {
	s := limitedServer(t)
	p := api.Prefix
	code, err := s.client().DeviceCode(ctxT(t), api.DeviceCodeRequest{Name: "pi"})
	if err != nil {
		t.Fatal(err)
	}
	const device = "192.0.2.50"
	poll := func(from, deviceCode string) reply {
		return s.send(t, http.MethodPost, p+"/device/token", from, api.DeviceTokenRequest{DeviceCode: deviceCode})
	}
	for range 12 {
		s.clock.Advance(5 * time.Second)
		poll(device, code.DeviceCode).want(t, "the device's own polls", http.StatusBadRequest, api.AuthorizationPending)
	}
	poll(device, code.DeviceCode).want(t, "a poll too soon", http.StatusBadRequest, api.SlowDown)

	const guesser = "198.51.100.9"
	for i := range 4 {
		poll(guesser, fmt.Sprintf("rld_guess%d", i)).want(t, "unknown device code", http.StatusBadRequest, "invalid_grant")
	}
	for i := range 3 {
		s.send(t, http.MethodGet, p+"/device/approval?code=BCDF-GH"+strconv.Itoa(i), guesser, nil).want(t, "unknown user code", http.StatusNotFound, runlet.ENOTFOUND)
	}
	for range 3 {
		s.send(t, http.MethodPost, p+"/enroll", guesser, api.EnrollRequest{Token: "rle_guess", Name: "x"}).want(t, "unknown enrollment token", http.StatusUnauthorized, runlet.EUNAUTHORIZED)
	}

	a := poll(guesser, code.DeviceCode)
	a.wantRetryAfter(t, "token endpoint after 10 guesses", 30)
	a.want(t, "token endpoint after 10 guesses", http.StatusTooManyRequests, api.SlowDown)
	tok, err := s.EnrollToken()
	if err != nil {
		t.Fatal(err)
	}
	s.send(t, http.MethodPost, p+"/enroll", guesser, api.EnrollRequest{Token: tok, Name: "x"}).wantRefused(t, "right enrollment token", 30)
	s.send(t, http.MethodGet, p+"/device/approval?code="+url.QueryEscape(code.UserCode), guesser, nil).wantRefused(t, "right user code", 30)
	form := s.send(t, http.MethodPost, "/device", guesser, url.Values{"code": {code.UserCode}, "email": {server.AdminEmail}, "password": {rightPassword}, "action": {"approve"}})
	form.wantRetryAfter(t, "approval form", 30)
	if !strings.Contains(string(form.body), "try again in") {
		t.Fatalf("approval form: %s; want a page saying when to try again", form.body)
	}

	// Other addresses are not held up: the device signs in.
	s.clock.Advance(5 * time.Second)
	s.send(t, http.MethodPost, "/device", "192.0.2.60", url.Values{"code": {code.UserCode}, "email": {server.AdminEmail}, "password": {rightPassword}, "action": {"approve"}}).
		want(t, "approval from elsewhere", http.StatusOK, "")
	poll(device, code.DeviceCode).want(t, "approved", http.StatusOK, "")

	es := s.audit(t)
	if len(es) != 1 || es[0].Kind != store.AuditGuessesLocked || es[0].Subject != guesser {
		t.Errorf("audit log %+v, want the guesser locked", es)
	}
}
