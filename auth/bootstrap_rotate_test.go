package auth

import (
	"bytes"
	"strings"
	"testing"
)

// TestBootstrapSaysHowToRotate: the first start's enrollment token, which
// never expires, is printed with how to rotate it.
func TestBootstrapSaysHowToRotate(t *testing.T) {
	a := newTestAuth(t, nil)
	var out bytes.Buffer
	first, err := a.Bootstrap(t.Context(), BootstrapConfig{Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(out.String(), first.EnrollToken+"\n")
	if !ok {
		t.Fatalf("the token is not printed on its own line: %q", out.String())
	}
	for _, says := range []string{"never expires", "rotate", "Settings → Enrollment tokens", "DELETE /api/v1/enrollment-tokens/ID", "POST /api/v1/enrollment-tokens"} {
		if !strings.Contains(after, says) {
			t.Errorf("after the token the first start printed %q, which does not say %q", after, says)
		}
	}
}
