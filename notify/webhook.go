package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
)

// The webhook's headers (R-TEL-5), documented in docs/notifications.md.
const (
	HeaderIdempotencyKey = "Idempotency-Key"
	HeaderTimestamp      = "X-Runlet-Timestamp"
	HeaderSignature      = "X-Runlet-Signature"
	// SignaturePrefix starts the signature header's value.
	SignaturePrefix = "sha256="
)

// Webhook POSTs a notification's JSON payload to the channel's URL, signed
// with the channel's secret when it has one.
type Webhook struct {
	Client *http.Client
	Now    func() time.Time
}

var _ Sender = (*Webhook)(nil)

// Send posts n.Payload to the channel's target.
func (w *Webhook) Send(ctx context.Context, n runlet.Notification, ch runlet.Channel, secret string, _ store.NotifySettings) error {
	to := target(n, ch)
	u, err := url.Parse(to)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return permanentf("the webhook's URL %q is not an http:// or https:// URL", to)
	}
	body := []byte(n.Payload)
	if len(body) == 0 { // an outbox row written without a payload still says what it is
		body, _ = json.Marshal(map[string]any{"key": n.Key, "workspace": n.Workspace, "event": n.Event,
			"subject": n.Subject, "body": n.Body})
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, to, bytes.NewReader(body))
	if err != nil {
		return permanentf("the webhook's URL %q: %w", to, err)
	}
	ts := strconv.FormatInt(w.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "runlet-notify")
	req.Header.Set(HeaderIdempotencyKey, n.Key)
	req.Header.Set(HeaderTimestamp, ts)
	if secret != "" {
		req.Header.Set(HeaderSignature, Sign(secret, ts, body))
	}
	resp, err := w.Client.Do(req)
	if err != nil {
		return transportError("post to the webhook", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		return nil
	}
	return httpStatusError("the webhook", resp)
}

// Sign returns the value of the X-Runlet-Signature header of a webhook
// sent at ts (unix seconds, as in X-Runlet-Timestamp) with body:
// "sha256=" and the hex HMAC-SHA256 of ts + "." + body keyed by secret.
func Sign(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return SignaturePrefix + hex.EncodeToString(m.Sum(nil))
}

// Errors of VerifyWebhook.
var (
	ErrNoSignature  = errors.New("the request has no X-Runlet-Signature or X-Runlet-Timestamp header")
	ErrBadSignature = errors.New("the request's signature does not match its body and timestamp")
	ErrStale        = errors.New("the request's timestamp is too far from now (replayed or clock skew)")
)

// VerifyWebhook checks a webhook request's signature for a receiver: body
// is the request's body as read, secret the channel's. It returns nil when
// X-Runlet-Signature is the HMAC of the timestamp and body, and the
// timestamp is within maxAge of the receiver's clock (either way; maxAge 0
// skips that check, for tests on a simulated clock). A receiver should
// also drop a request whose Idempotency-Key it has already handled.
func VerifyWebhook(secret string, r *http.Request, body []byte, maxAge time.Duration) error {
	ts, sig := r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderSignature)
	if ts == "" || sig == "" {
		return ErrNoSignature
	}
	if !hmac.Equal([]byte(Sign(secret, ts, body)), []byte(strings.TrimSpace(sig))) {
		return ErrBadSignature
	}
	if maxAge > 0 {
		sec, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			return fmt.Errorf("the request's timestamp %q is not unix seconds: %w", ts, err)
		}
		if d := time.Since(time.Unix(sec, 0)); d > maxAge || d < -maxAge {
			return fmt.Errorf("%w: %v apart, at most %v allowed", ErrStale, d.Round(time.Second), maxAge)
		}
	}
	return nil
}
