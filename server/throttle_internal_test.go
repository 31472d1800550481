package server

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/auth"
)

// TestTooManyError: a refusal of the limits of sign-in is 429, with the
// seconds rounded up in Retry-After and in the body (the message is
// package auth's).
func TestTooManyError(t *testing.T) {
	s := &Server{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	err := &auth.TooManyError{Wait: 90*time.Second + time.Millisecond,
		Err: runlet.Errorf(runlet.ETOOMANY, "Too many failed attempts for this account: try again in 1m30s (after 03:05:35 UTC).")}
	if statusOf(err) != 429 {
		t.Fatalf("status %d", statusOf(err))
	}
	w := httptest.NewRecorder()
	s.error(w, httptest.NewRequest("POST", "/api/v1/login", nil), err)
	if got := w.Header().Get("Retry-After"); got != "91" {
		t.Errorf("Retry-After %q, want 91", got)
	}
	const body = `{"error":{"code":"too_many_attempts","message":"Too many failed attempts for this account: try again in 1m30s (after 03:05:35 UTC).","retryAfter":91}}` + "\n"
	if w.Code != 429 || w.Body.String() != body {
		t.Errorf("answered %d %s, want 429 %s", w.Code, w.Body, body)
	}
}
