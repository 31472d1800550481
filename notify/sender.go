package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
)

// Sender sends one notification through one channel. secret is the
// channel's secret (a webhook's signing key; may be empty) and s the
// workspace's notification providers. Send returns nil once the channel
// took the message, a permanent *Error when trying again cannot help (a
// bad address, a refused message, a provider that is not configured), and
// any other error when a later attempt may succeed.
type Sender interface {
	Send(ctx context.Context, n runlet.Notification, ch runlet.Channel, secret string, s store.NotifySettings) error
}

// Error is a failed attempt to send that says whether trying again can
// help. An error that is not an *Error counts as temporary.
type Error struct {
	// Permanent: the notification fails now, however many attempts are
	// left.
	Permanent bool
	Err       error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Permanent returns err marked permanent.
func Permanent(err error) error { return &Error{Permanent: true, Err: err} }

// permanentf returns a permanent error with a formatted message.
func permanentf(format string, args ...any) error { return Permanent(fmt.Errorf(format, args...)) }

// IsPermanent reports whether err says that trying again cannot help.
func IsPermanent(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Permanent
}

// target is where n goes: the address recorded when it was queued, or the
// channel's when none was.
func target(n runlet.Notification, ch runlet.Channel) string {
	if n.Target != "" {
		return n.Target
	}
	return ch.Target
}

// httpStatusError classifies an HTTP answer that is not 2xx: 408 and 429
// and 5xx are temporary, any other 4xx and a redirect are permanent. The
// first bytes of the answer's body go into the message, since providers
// say there what was wrong.
func httpStatusError(what string, resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	body := oneLine(string(b), 200)
	msg := fmt.Sprintf("%s answered %s", what, resp.Status)
	if body != "" {
		msg += ": " + body
	}
	switch code := resp.StatusCode; {
	case code >= 300 && code < 400:
		loc := resp.Header.Get("Location")
		return permanentf("%s (a redirect to %q; point the channel at the final URL)", msg, loc)
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		return errors.New(msg)
	default:
		return permanentf("%s", msg)
	}
}

// oneLine returns s on one line, cut to at most max bytes.
func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= max {
		return s
	}
	s = s[:max]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}

// transportError words an HTTP exchange that failed before an answer
// without the URL, whose path or query may hold a token: the host and
// the cause.
func transportError(what string, u *url.URL, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("%s at %s: %w", what, u.Host, err)
}
