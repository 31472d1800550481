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
	if p := embedded.Permissions(bus.Principal{Role: bus.RoleServer}, "srv"); p != nil {
		t.Errorf("a server principal got restrictions: %+v", p)
	}
	p := embedded.Permissions(bus.Principal{Role: bus.RoleDevice, Workspace: "acme", Device: "pi"}, "dev-1")
	own := natsbus.StreamName("acme", bus.DispatchQueue("pi"))
	for _, want := range []string{"ws.acme.job.*.pi.status.v1", "ws.acme.daemon.pi.heartbeat.v1", "$JS.API.CONSUMER.MSG.NEXT." + own + ".>", "$JS.ACK." + own + ".>"} {
		if !slices.Contains(p.Publish.Allow, want) {
			t.Errorf("device may not publish to %s: %v", want, p.Publish.Allow)
		}
	}
	for _, s := range p.Publish.Allow {
		if s == ">" || s == "$JS.API.>" || s == "$JS.API.INFO" || s == "ws.acme.>" || slices.Contains([]string{"CREATE", "DELETE", "UPDATE"}, streamVerb(s)) {
			t.Errorf("device may manage streams or publish workspace-wide: %s", s)
		}
	}
	for _, s := range p.Subscribe.Allow {
		if s == "_INBOX.>" || s == "ws.acme.>" || s == ">" {
			t.Errorf("device may subscribe to %s: %v", s, p.Subscribe.Allow)
		}
	}
	if !slices.Contains(p.Subscribe.Allow, natsbus.InboxPrefix("dev-1")+".>") {
		t.Errorf("device may not read its own inbox: %v", p.Subscribe.Allow)
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
