package embedded_test

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/runlet/runlet/bus"
	natsbus "github.com/runlet/runlet/bus/nats"
	"github.com/runlet/runlet/bus/nats/embedded"
	"github.com/runlet/runlet/internal/testenv"
)

// TestDaemons: the server lists the devices connected, by workspace and
// device name, and no longer lists one once its connection is gone.
func TestDaemons(t *testing.T) {
	s, err := embedded.Start(embedded.Config{
		Dir: t.TempDir(), Addr: "127.0.0.1:0",
		Authenticator: func(user, password string) (bus.Principal, error) {
			if password != "secret" {
				return bus.Principal{}, errors.New("wrong password")
			}
			return bus.Principal{Role: bus.RoleDevice, Workspace: "acme", Device: user}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	listed := func(device string) bool {
		conns, err := s.Daemons(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return conns["acme"][device]
	}
	if listed("pi") {
		t.Fatal("pi listed before it connected")
	}
	u, _ := url.Parse(s.URL())
	u.User = url.UserPassword("pi", "secret")
	b, err := natsbus.Open(ctx, u.String(), bus.Options{Name: "runlet-daemon pi"})
	if err != nil {
		t.Fatal(err)
	}
	if !listed("pi") {
		t.Error("pi not listed while connected")
	}
	if listed("mac") {
		t.Error("mac listed, never connected")
	}
	b.Close()
	testenv.Eventually(t, "pi no longer listed once it closed", 30*time.Second, func() bool { return !listed("pi") })
}
