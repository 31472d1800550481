//go:build !windows

package cli_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/runlet/runlet/cli"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/internal/testenv"
)

// TestSigninConfirmsOnTerminal: on a terminal, @signin shows the
// fingerprint and pins the certificate when the person says yes, and saves
// nothing when they do not.
func TestSigninConfirmsOnTerminal(t *testing.T) {
	f := startFleet(t, withTLS(testenv.SelfSignedCert(t)))
	fp := f.srv.Fingerprint()
	tok, err := f.srv.EnrollToken()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		answer string
		ok     bool
	}{{"no", false}, {"yes", true}} {
		t.Run(tc.answer, func(t *testing.T) {
			ptmx, tty, err := pty.Open()
			if err != nil {
				t.Skipf("no pseudo-terminal: %v", err)
			}
			defer ptmx.Close()
			defer tty.Close()
			go func() { _, _ = ptmx.Write([]byte(tc.answer + "\n")) }()
			go func() { // the echo, so that the terminal never blocks
				b := make([]byte, 512)
				for {
					if _, err := ptmx.Read(b); err != nil {
						return
					}
				}
			}()
			h := filepath.Join(t.TempDir(), "pi-"+tc.answer)
			var out, errb testenv.Buffer
			m := &cli.Main{Stdin: tty, Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			code := m.Run(ctx, []string{"--home", h, "@signin", "--server", f.url, "--name", "pi-" + tc.answer, "--token", tok})
			if !strings.Contains(out.String(), fp) || !strings.Contains(out.String(), "[y/N]") {
				t.Errorf("the prompt does not show the fingerprint %s:\n%s", fp, out.String())
			}
			cred, err := home.Dir(h).Credentials()
			if !tc.ok {
				if code == 0 || err == nil {
					t.Errorf("answered no: exit %d, credentials saved: %v\n%s", code, err == nil, errb.String())
				}
				return
			}
			if code != 0 || err != nil || cred.ServerFingerprint != fp {
				t.Fatalf("answered yes: exit %d, credentials %+v, %v\n%s%s", code, cred, err, out.String(), errb.String())
			}
		})
	}
}
