package embedded_test

import (
	"slices"
	"testing"

	"github.com/runlet/runlet/bus"
	natsbus "github.com/runlet/runlet/bus/nats"
	"github.com/runlet/runlet/bus/nats/embedded"
)

func TestRefusesOpenListenerWithoutAuthenticator(t *testing.T) {
	for _, addr := range []string{"", ":0", "0.0.0.0:0"} {
		s, err := embedded.Start(embedded.Config{Dir: t.TempDir(), Addr: addr})
		if err == nil {
			s.Shutdown()
			t.Errorf("Start on %q without an Authenticator succeeded", addr)
		}
	}
}

func TestPermissions(t *testing.T) {
	if p := embedded.Permissions(embedded.Principal{Server: true, Workspace: "acme"}); p != nil {
		t.Errorf("a server principal got restrictions: %+v", p)
	}
	p := embedded.Permissions(embedded.Principal{Workspace: "acme", Device: "pi"})
	own := natsbus.StreamName("acme", bus.DispatchQueue("pi"))
	for _, want := range []string{"ws.acme.>", "$JS.API.CONSUMER.MSG.NEXT." + own + ".>", "$JS.ACK." + own + ".>"} {
		if !slices.Contains(p.Publish.Allow, want) {
			t.Errorf("device may not publish to %s: %v", want, p.Publish.Allow)
		}
	}
	for _, s := range p.Publish.Allow {
		if s == ">" || s == "$JS.API.>" || slices.Contains([]string{"CREATE", "DELETE", "UPDATE"}, streamVerb(s)) {
			t.Errorf("device may manage streams: %s", s)
		}
	}
	if !slices.Equal(p.Subscribe.Allow, []string{"ws.acme.>", "_INBOX.>"}) {
		t.Errorf("device subscriptions %v", p.Subscribe.Allow)
	}
}

// streamVerb returns X of "$JS.API.STREAM.X.…".
func streamVerb(s string) string {
	const pre = "$JS.API.STREAM."
	if len(s) <= len(pre) || s[:len(pre)] != pre {
		return ""
	}
	rest := s[len(pre):]
	for i := range rest {
		if rest[i] == '.' {
			return rest[:i]
		}
	}
	return rest
}
