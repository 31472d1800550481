package notify_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/notify"
	"github.com/runlet/runlet/store"
)

// receiver is a real webhook receiver: it checks each request's signature
// (none when it has no secret) and answers with the codes it is given, in turn (200 once they run out).
type receiver struct {
	t      *testing.T
	secret string
	mu     sync.Mutex
	codes  []int
	got    []http.Header
	bodies [][]byte
}

func newReceiver(t *testing.T, secret string, codes ...int) (*receiver, *httptest.Server) {
	r := &receiver{t: t, secret: secret, codes: codes}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return r, srv
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if rc.secret == "" && r.Header.Get(notify.HeaderSignature) != "" {
		rc.t.Errorf("webhook: a channel without a secret sent a signature")
	}
	if err := notify.VerifyWebhook(rc.secret, r, body, 5*time.Minute); rc.secret != "" && err != nil {
		rc.t.Errorf("webhook: %v", err)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	rc.mu.Lock()
	rc.got = append(rc.got, r.Header.Clone())
	rc.bodies = append(rc.bodies, body)
	code := http.StatusOK
	if len(rc.codes) > 0 {
		code, rc.codes = rc.codes[0], rc.codes[1:]
	}
	rc.mu.Unlock()
	w.WriteHeader(code)
	_, _ = io.WriteString(w, http.StatusText(code))
}

func (rc *receiver) requests() ([]http.Header, [][]byte) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]http.Header(nil), rc.got...), append([][]byte(nil), rc.bodies...)
}

// A receiver answering 500, then 200: the notification is retried after
// the backoff and recorded once as sent, after two attempts, with one
// idempotency key and a valid signature both times.
func TestWebhookRetriedUntilSent(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		rc, srv := newReceiver(t, "s3cret", http.StatusInternalServerError)
		ch := e.channel(runlet.ChannelWebhook, srv.URL+"/hook", "s3cret")
		n := e.queue(ch)[0]
		s := e.service(nil)

		e.step(s)
		first := e.wantState(n.ID, runlet.NotificationPending, 1)
		if !strings.Contains(first.Error, "500") {
			t.Errorf("error after a 500: %q, want it to say 500", first.Error)
		}
		if want := e.clk.Now().Add(notify.BackoffBase); !first.Next.Equal(want) {
			t.Errorf("next attempt at %v, want %v (the first backoff)", first.Next, want)
		}
		e.step(s) // not due yet
		e.wantState(n.ID, runlet.NotificationPending, 1)

		e.clk.Advance(notify.BackoffBase)
		e.step(s)
		sent := e.wantState(n.ID, runlet.NotificationSent, 2)
		if sent.Sent.IsZero() {
			t.Error("a sent notification has no Sent time")
		}
		e.clk.Advance(time.Hour)
		e.step(s)
		hs, bodies := rc.requests()
		if len(hs) != 2 {
			t.Fatalf("the receiver got %d requests, want 2", len(hs))
		}
		for i, h := range hs {
			if got := h.Get(notify.HeaderIdempotencyKey); got != n.Key || n.Key == "" {
				t.Errorf("request %d: Idempotency-Key %q, want %q", i, got, n.Key)
			}
			if h.Get("Content-Type") != "application/json" {
				t.Errorf("request %d: Content-Type %q", i, h.Get("Content-Type"))
			}
			if string(bodies[i]) != n.Payload {
				t.Errorf("request %d: body %s, want the payload %s", i, bodies[i], n.Payload)
			}
		}
	})
}

// A receiver without the secret, or a tampered body or an old request,
// fails VerifyWebhook.
func TestVerifyWebhook(t *testing.T) {
	body := []byte(`{"event":"opened"}`)
	now := strconv.FormatInt(time.Now().Unix(), 10)
	req := func(ts, sig string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		if ts != "" {
			r.Header.Set(notify.HeaderTimestamp, ts)
		}
		if sig != "" {
			r.Header.Set(notify.HeaderSignature, sig)
		}
		return r
	}
	old := strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10)
	for _, c := range []struct {
		name    string
		r       *http.Request
		body    []byte
		ok      bool
		wantErr error
	}{
		{"good", req(now, notify.Sign("k", now, body)), body, true, nil},
		{"tampered body", req(now, notify.Sign("k", now, body)), []byte(`{"event":"resolved"}`), false, notify.ErrBadSignature},
		{"other secret", req(now, notify.Sign("other", now, body)), body, false, notify.ErrBadSignature},
		{"moved timestamp", req(old, notify.Sign("k", now, body)), body, false, notify.ErrBadSignature},
		{"stale", req(old, notify.Sign("k", old, body)), body, false, notify.ErrStale},
		{"unsigned", req(now, ""), body, false, notify.ErrNoSignature},
	} {
		err := notify.VerifyWebhook("k", c.r, c.body, 5*time.Minute)
		if (err == nil) != c.ok || (c.wantErr != nil && !errors.Is(err, c.wantErr)) {
			t.Errorf("%s: VerifyWebhook = %v, want ok=%v (%v)", c.name, err, c.ok, c.wantErr)
		}
	}
	// The scheme is the documented one, so that receivers in any language
	// can check it: hex HMAC-SHA256 of "timestamp.body".
	m := hmac.New(sha256.New, []byte("key"))
	m.Write([]byte("1700000000.{}"))
	if got, want := notify.Sign("key", "1700000000", []byte("{}")), "sha256="+hex.EncodeToString(m.Sum(nil)); got != want {
		t.Errorf("Sign = %q, want %q", got, want)
	}
}

// Two SMS providers served over HTTP: a Twilio-like form with HTTP Basic
// auth and a local gateway taking JSON. Each parses the rendered body.
func TestSMSProviders(t *testing.T) {
	type got struct {
		to, text, key, ctype, user, pass string
	}
	gotc := make(chan got, 4)
	twilio := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		if err := r.ParseForm(); err != nil {
			t.Errorf("twilio: %v", err)
		}
		gotc <- got{r.PostForm.Get("To"), r.PostForm.Get("Body"), r.Header.Get("Idempotency-Key"), r.Header.Get("Content-Type"), user, pass}
		w.WriteHeader(http.StatusCreated)
	}))
	defer twilio.Close()
	gateway := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct{ Phone, Message, Ref string }
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			t.Errorf("gateway: %v", err)
		}
		gotc <- got{m.Phone, m.Message, m.Ref, r.Header.Get("Content-Type"), r.Header.Get("X-Api-Key"), ""}
	}))
	defer gateway.Close()

	e := newEnv(t)
	s := e.service(nil)
	ch := e.channel(runlet.ChannelSMS, "+15551234567", "")

	e.settings(store.NotifySettings{SMS: store.SMSSettings{URL: twilio.URL + "/2010-04-01/Accounts/AC1/Messages.json",
		Body:     `To={{urlquery .To}}&From=%2B15550000000&Body={{urlquery .Text}}`,
		Username: "AC1", Password: "token"}})
	n := e.queue(ch)[0]
	e.step(s)
	e.wantState(n.ID, runlet.NotificationSent, 1)
	g := <-gotc
	want := got{"+15551234567", strings.ReplaceAll(n.Body, "\n", " "), n.Key, "application/x-www-form-urlencoded", "AC1", "token"}
	if g != want {
		t.Errorf("twilio got %+v, want %+v", g, want)
	}

	e.settings(store.NotifySettings{SMS: store.SMSSettings{URL: gateway.URL + "/send",
		Body:    `{"phone":{{json .To}},"message":{{json .Subject}},"ref":{{json .Key}}}`,
		Headers: map[string]string{"X-Api-Key": "k1"}}})
	n = e.queue(ch)[0]
	e.step(s)
	e.wantState(n.ID, runlet.NotificationSent, 1)
	g = <-gotc
	want = got{"+15551234567", n.Subject, n.Key, "application/json", "k1", ""}
	if g != want {
		t.Errorf("gateway got %+v, want %+v", g, want)
	}

	// A gateway taking a GET with the message in its query string, and a
	// header rendered from the key.
	get := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			t.Errorf("get gateway: method %s", r.Method)
		}
		q := r.URL.Query()
		gotc <- got{q.Get("phone"), q.Get("text"), r.Header.Get("X-Ref"), r.Header.Get("Content-Type"), "", ""}
	}))
	defer get.Close()
	e.settings(store.NotifySettings{SMS: store.SMSSettings{Method: "get",
		URL:     get.URL + "/sendsms?phone={{urlquery .To}}&text={{urlquery .Text}}",
		Headers: map[string]string{"X-Ref": "ref-{{.Key}}"}}})
	n = e.queue(ch)[0]
	e.step(s)
	e.wantState(n.ID, runlet.NotificationSent, 1)
	g = <-gotc
	want = got{"+15551234567", strings.ReplaceAll(n.Body, "\n", " "), "ref-" + n.Key, "", "", ""}
	if g != want {
		t.Errorf("GET gateway got %+v, want %+v", g, want)
	}
}

// A body template that does not parse, or names a field that does not
// exist, fails the notification at once with a reason that says so.
func TestSMSTemplateErrorsArePermanent(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("a broken template reached the provider")
	}))
	defer srv.Close()
	e := newEnv(t)
	s := e.service(nil)
	ch := e.channel(runlet.ChannelSMS, "+15551234567", "")
	for _, c := range []struct{ body, want string }{
		{`To={{urlquery .To}`, "does not parse"},
		{`To={{.Phone}}`, "template fails"},
	} {
		e.settings(store.NotifySettings{SMS: store.SMSSettings{URL: srv.URL, Body: c.body}})
		n := e.queue(ch)[0]
		e.step(s)
		got := e.wantState(n.ID, runlet.NotificationFailed, 1)
		if !strings.Contains(got.Error, c.want) {
			t.Errorf("template %q: reason %q, want it to say %q", c.body, got.Error, c.want)
		}
	}
}

// Answers that trying again cannot change fail at once; the others are
// retried.
func TestPermanentAndTemporaryAnswers(t *testing.T) {
	e := newEnv(t)
	s := e.service(nil)
	for _, c := range []struct {
		code  int
		state runlet.NotificationState
	}{
		{http.StatusBadRequest, runlet.NotificationFailed},
		{http.StatusNotFound, runlet.NotificationFailed},
		{http.StatusFound, runlet.NotificationFailed},
		{http.StatusRequestTimeout, runlet.NotificationPending},
		{http.StatusTooManyRequests, runlet.NotificationPending},
		{http.StatusBadGateway, runlet.NotificationPending},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if c.code == http.StatusFound {
				w.Header().Set("Location", "/elsewhere")
			}
			w.WriteHeader(c.code)
		}))
		n := e.queue(e.channel(runlet.ChannelWebhook, srv.URL, ""))[0]
		e.step(s)
		got := e.wantState(n.ID, c.state, 1)
		if !strings.Contains(got.Error, strconv.Itoa(c.code)) {
			t.Errorf("%d: reason %q does not say the status", c.code, got.Error)
		}
		srv.Close()
	}
}

// A channel deleted or disabled after its notification was queued: the
// notification fails with that reason.
func TestChannelGone(t *testing.T) {
	e := newEnv(t)
	s := e.service(nil)
	_, srv := newReceiver(t, "")
	del := e.channel(runlet.ChannelWebhook, srv.URL, "")
	off := e.channel(runlet.ChannelWebhook, srv.URL, "")
	nd := e.queue(del)[0]
	no := e.queue(off)[0]
	if err := e.db.DeleteChannel(t.Context(), e.ws, del.ID); err != nil {
		t.Fatal(err)
	}
	off.Disabled = true
	if _, err := e.db.UpdateChannel(t.Context(), off, nil); err != nil {
		t.Fatal(err)
	}
	e.step(s)
	if got := e.wantState(nd.ID, runlet.NotificationFailed, 1); got.Error != "the channel was deleted" {
		t.Errorf("deleted channel: reason %q", got.Error)
	}
	if got := e.wantState(no.ID, runlet.NotificationFailed, 1); got.Error != "the channel was disabled" {
		t.Errorf("disabled channel: reason %q", got.Error)
	}
}

// SMTP down (nothing listening): the e-mail is retried after 5 s, then
// 10 s, and fails with the reason after MaxAttempts, while a webhook
// queued beside it is sent at the first pass.
func TestSMTPDownRetriedThenFailed(t *testing.T) {
	e := newEnv(t)
	s := e.service(func(c *notify.Config) { c.MaxAttempts = 3 })
	e.settings(store.NotifySettings{SMTP: store.SMTPSettings{Host: "127.0.0.1", Port: closedPort(t), TLS: "none", From: "runlet@example.com"}})
	rc, srv := newReceiver(t, "")
	ns := e.queue(e.channel(runlet.ChannelEmail, "ana@example.com", ""), e.channel(runlet.ChannelWebhook, srv.URL, ""))
	mail, hook := ns[0], ns[1]

	e.step(s)
	e.wantState(hook.ID, runlet.NotificationSent, 1)
	if hs, _ := rc.requests(); len(hs) != 1 {
		t.Fatalf("the webhook got %d requests, want 1", len(hs))
	}
	for i, wait := range []time.Duration{5 * time.Second, 10 * time.Second} {
		n := e.wantState(mail.ID, runlet.NotificationPending, i+1)
		if want := e.clk.Now().Add(wait); !n.Next.Equal(want) {
			t.Fatalf("after attempt %d: next at %v, want %v", i+1, n.Next, want)
		}
		if !strings.Contains(n.Error, "connect to the SMTP server") {
			t.Errorf("reason %q does not say the server was not reached", n.Error)
		}
		e.clk.Advance(wait - time.Second)
		e.step(s) // not yet due
		e.wantState(mail.ID, runlet.NotificationPending, i+1)
		e.clk.Advance(time.Second)
		e.step(s)
	}
	n := e.wantState(mail.ID, runlet.NotificationFailed, 3)
	if !strings.HasPrefix(n.Error, "gave up after 3 attempts: connect to the SMTP server") {
		t.Errorf("reason %q", n.Error)
	}
}

// A webhook that never answers does not hold back an SMS queued beside
// it: the SMS is sent while the webhook hangs, and the webhook's attempt
// ends at the timeout, to be retried.
func TestHangingChannelDoesNotBlockOthers(t *testing.T) {
	e := newEnv(t)
	const timeout = 5 * time.Second
	s := e.service(func(c *notify.Config) { c.Timeout = timeout })
	hangs := make(chan struct{})
	var once sync.Once
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body) // then the server notices the client leaving
		once.Do(func() { close(hangs) })
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer hang.Close()
	defer close(release)
	smsAt := make(chan time.Time, 1)
	sms := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // the webhook is hanging by now
		case <-hangs:
		case <-time.After(patience):
		}
		smsAt <- time.Now()
	}))
	defer sms.Close()
	e.settings(store.NotifySettings{SMS: store.SMSSettings{URL: sms.URL}})
	ns := e.queue(e.channel(runlet.ChannelWebhook, hang.URL, ""), e.channel(runlet.ChannelSMS, "+15551234567", ""))

	start := time.Now()
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Step(t.Context()) }()
	select {
	case at := <-smsAt:
		if d := at.Sub(start); d >= timeout {
			t.Errorf("the SMS reached its provider after %v, not before the webhook's timeout (%v)", d, timeout)
		}
	case <-time.After(patience):
		t.Fatal("the SMS never reached its provider")
	}
	testenv.Eventually(t, "the SMS recorded as sent", patience, func() bool {
		return e.get(ns[1].ID).State == runlet.NotificationSent
	})
	<-done
	if d := time.Since(start); d < timeout {
		t.Errorf("the pass ended after %v, before the timeout", d)
	}
	n := e.wantState(ns[0].ID, runlet.NotificationPending, 1)
	if !strings.Contains(n.Error, "no answer within 5s") {
		t.Errorf("the hanging webhook's reason: %q", n.Error)
	}
}

// A process that claimed a notification and died mid-send: nobody else
// sends it while its claim runs, and another process sends it once the
// claim has run out.
func TestDeadHolderClaimTakenOver(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		const claim = 2 * time.Minute
		arrived := make(chan struct{}, 4)
		var mu sync.Mutex
		var keys []string
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			keys = append(keys, r.Header.Get(notify.HeaderIdempotencyKey))
			first := len(keys) == 1
			mu.Unlock()
			_, _ = io.ReadAll(r.Body)
			arrived <- struct{}{}
			if first { // the dying process's request: never answered
				select {
				case <-r.Context().Done():
				case <-release:
				}
			}
		}))
		defer srv.Close()
		defer close(release)
		n := e.queue(e.channel(runlet.ChannelWebhook, srv.URL, ""))[0]
		dead := e.service(func(c *notify.Config) { c.Holder = "dead"; c.Claim = claim })
		live := e.service(func(c *notify.Config) { c.Holder = "live"; c.Claim = claim })

		ctx, die := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { defer close(done); _ = dead.Step(ctx) }()
		<-arrived
		die() // the process dies mid-send: nothing is recorded
		<-done
		e.wantState(n.ID, runlet.NotificationPending, 0)

		e.clk.Advance(claim - time.Second)
		e.step(live)
		e.wantState(n.ID, runlet.NotificationPending, 0)

		e.clk.Advance(time.Second)
		e.step(live)
		e.wantState(n.ID, runlet.NotificationSent, 1)
		mu.Lock()
		defer mu.Unlock()
		if len(keys) != 2 || keys[0] != keys[1] {
			t.Errorf("keys of the requests: %q, want the same key twice", keys)
		}
	})
}

// The running service sends what is queued as soon as it is kicked, not
// at the next poll.
func TestStartKick(t *testing.T) {
	e := newEnv(t)
	rc, srv := newReceiver(t, "k")
	ch := e.channel(runlet.ChannelWebhook, srv.URL, "k")
	s := e.service(func(c *notify.Config) { c.Poll = time.Hour })
	first := e.queue(ch)[0]
	s.Start()
	testenv.Eventually(t, "the notification queued before the start sent", patience, func() bool {
		return e.get(first.ID).State == runlet.NotificationSent
	})
	// The service now waits for its next poll, an hour away, or a kick.
	n := e.queue(ch)[0]
	s.Kick()
	testenv.Eventually(t, "the kicked notification sent", patience, func() bool {
		return e.get(n.ID).State == runlet.NotificationSent
	})
	if hs, _ := rc.requests(); len(hs) != 2 {
		t.Errorf("the receiver got %d requests, want 2", len(hs))
	}
	s.Close()
}

func TestBackoff(t *testing.T) {
	want := []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second,
		160 * time.Second, 320 * time.Second, 10 * time.Minute, 10 * time.Minute}
	for i, w := range want {
		if got := notify.Backoff(i + 1); got != w {
			t.Errorf("Backoff(%d) = %v, want %v", i+1, got, w)
		}
	}
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return p
}

// VerifyWebhook reads headers a stranger sends: it never panics, and it
// accepts a request only when its signature is the HMAC of its timestamp
// and body.
func FuzzVerifyWebhook(f *testing.F) {
	f.Add("1765100520", "sha256=00", []byte(`{"event":"opened"}`))
	f.Add("", "", []byte{})
	f.Add("-1", notify.Sign("k", "-1", []byte("x")), []byte("x"))
	f.Add("99999999999999999999", "sha256=", []byte("{}"))
	f.Fuzz(func(t *testing.T, ts, sig string, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.Header[notify.HeaderTimestamp] = []string{ts}
		r.Header[notify.HeaderSignature] = []string{sig}
		err := notify.VerifyWebhook("k", r, body, 0)
		if err == nil && strings.TrimSpace(sig) != notify.Sign("k", ts, body) {
			t.Fatalf("accepted signature %q for timestamp %q and body %q", sig, ts, body)
		}
		if want := notify.Sign("k", ts, body); ts != "" {
			r.Header[notify.HeaderSignature] = []string{want}
			if err := notify.VerifyWebhook("k", r, body, 0); err != nil {
				t.Fatalf("refused its own signature: %v", err)
			}
		}
	})
}
