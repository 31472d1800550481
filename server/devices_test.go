//go:build !windows

package server_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/bus"
	busconnect "github.com/runlet/runlet/bus/connect"
	"github.com/runlet/runlet/cmd/assemble"
	"github.com/runlet/runlet/daemon"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/internal/testenv"
)

// TestRemoveDeviceCutsItNATS and ...RabbitMQ are item 1 of issue 17: an
// admin removes a lost device, and at once its next API call gets 401, its
// live broker connection is closed and a new one is refused, and its
// running daemon stops saying why. Its name is free again.
func TestRemoveDeviceCutsItNATS(t *testing.T) {
	testRemoveDeviceCutsIt(t, startServer(t, func(c *assemble.Config) { c.AdminPassword = "admin-password" }))
}

func TestRemoveDeviceCutsItRabbitMQ(t *testing.T) {
	testRemoveDeviceCutsIt(t, startRabbitServer(t))
}

func testRemoveDeviceCutsIt(t *testing.T, s *testServer) {
	ctx := ctxT(t)
	admin := s.adminClient(t)
	pi := s.enroll(t, "pi-1")
	mac := s.enroll(t, "mac")

	// A live connection of pi-1's own, to watch it being cut.
	cut := make(chan struct{}, 16)
	watch, err := brokerAs(ctx, pi, func(st bus.State) {
		if st == bus.Reconnecting {
			cut <- struct{}{}
		}
	})
	if err != nil {
		t.Fatalf("pi-1's broker credentials before the removal: %v", err)
	}
	defer watch.Close()
	if _, err := watch.Subscribe(ctx, pi.Workspace, bus.EventKey, func(bus.Message) {}); err != nil {
		t.Fatal(err)
	}
	// pi-1's real daemon, online.
	d, err := daemon.New(daemon.Config{Home: home.Dir(t.TempDir()), Credentials: pi, Parallel: 1, HeartbeatInterval: 200 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Version: "test", Dial: assemble.Dial})
	if err != nil {
		t.Fatal(err)
	}
	dctx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan error, 1)
	go func() { done <- d.Run(dctx) }()
	testenv.Eventually(t, "pi-1's daemon online", patience, func() bool {
		ds, err := admin.Devices(ctx)
		return err == nil && len(ds) == 2 && ds[1].Name == "pi-1" && ds[1].Online
	})

	if err := admin.RemoveDevice(ctx, "pi-1"); err != nil {
		t.Fatalf("remove pi-1: %v", err)
	}

	// The API: 401 on its next call.
	_, err = apiclient.FromCredentials(pi).Whoami(ctx)
	if runlet.ErrorCode(err) != runlet.EUNAUTHORIZED || !strings.Contains(runlet.ErrorMessage(err), "revoked") {
		t.Errorf("pi-1's API call after the removal: %v, want 401 saying the token is revoked", err)
	}
	// The broker: the live connection is closed, a new one refused.
	select {
	case <-cut:
	case <-time.After(patience):
		t.Fatalf("pi-1's broker connection is still open %v after the removal", patience)
	}
	if b, err := brokerAs(ctx, pi, nil); !errors.Is(err, bus.ErrAuth) {
		if b != nil {
			b.Close()
		}
		t.Errorf("pi-1 connects to the broker after the removal: %v, want %v", err, bus.ErrAuth)
	}
	// The daemon: it stops, saying how to come back.
	select {
	case err := <-done:
		if runlet.ErrorCode(err) != runlet.EUNAUTHORIZED || !strings.Contains(err.Error(), "@signin") {
			t.Errorf("the removed daemon stopped with %v, want a clear EUNAUTHORIZED naming @signin", err)
		}
	case <-time.After(patience):
		t.Fatalf("the removed daemon still runs %v after the removal", patience)
	}

	// The others keep their access; the list no longer has pi-1.
	if _, err := apiclient.FromCredentials(mac).Whoami(ctx); err != nil {
		t.Errorf("mac after pi-1's removal: %v", err)
	}
	if b, err := brokerAs(ctx, mac, nil); err != nil {
		t.Errorf("mac's broker after pi-1's removal: %v", err)
	} else {
		b.Close()
	}
	if ds, err := admin.Devices(ctx); err != nil || len(ds) != 1 || ds[0].Name != "mac" {
		t.Errorf("devices after the removal: %+v, %v; want mac alone", ds, err)
	}
	// Removed twice: it is not there any more.
	if err := admin.RemoveDevice(ctx, "pi-1"); runlet.ErrorCode(err) != runlet.ENOTFOUND {
		t.Errorf("remove pi-1 again: %v, want not found", err)
	}
	s.enroll(t, "pi-1") // the name is free again
}

// brokerAs connects to the broker as the device, like its daemon does,
// telling onState of the connection's states.
func brokerAs(ctx context.Context, cred *home.Credentials, onState func(bus.State)) (bus.Bus, error) {
	u, err := bus.WithCredentials(cred.Broker, cred.BrokerUser, cred.BrokerPassword)
	if err != nil {
		return nil, err
	}
	return busconnect.Open(ctx, u, bus.Options{Name: "test " + cred.Device, OnState: onState, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

// TestRemoveDeviceRefused: only an admin of the device's own workspace
// removes it; everyone else is told why, and the device keeps its access.
func TestRemoveDeviceRefused(t *testing.T) {
	s := startServer(t, func(c *assemble.Config) { c.AdminPassword = "admin-password" })
	ctx := ctxT(t)
	admin := s.adminClient(t)
	pi := s.enroll(t, "pi-1")
	mac := s.enroll(t, "mac")
	// A device of another workspace, named as one of this one.
	other := deviceInNewWorkspace(t, s, pi.Broker)
	other.Server = s.URL()
	bob := s.member(t, "bob@example.com", runlet.RoleMember)

	for _, c := range []struct {
		what   string
		client *apiclient.Client
		name   string
		code   string
		says   string
	}{
		{"without a token", s.client(), "pi-1", runlet.EUNAUTHORIZED, "Bearer"},
		{"by another device", apiclient.FromCredentials(mac), "pi-1", runlet.EFORBIDDEN, "sign in as a user"},
		{"by the device itself", apiclient.FromCredentials(pi), "pi-1", runlet.EFORBIDDEN, "sign in as a user"},
		{"by a member", bob, "pi-1", runlet.EFORBIDDEN, "Only an admin"},
		{"by the other workspace's device", apiclient.FromCredentials(other), "pi-1", runlet.EFORBIDDEN, ""},
		{"of an unknown device", admin, "pi-9", runlet.ENOTFOUND, `no device named "pi-9"`},
		{"of an empty name", admin, "", runlet.ENOTFOUND, ""},
	} {
		err := c.client.RemoveDevice(ctx, c.name)
		if runlet.ErrorCode(err) != c.code || !strings.Contains(runlet.ErrorMessage(err), c.says) {
			t.Errorf("remove %s: %v, want %s saying %q", c.what, err, c.code, c.says)
		}
	}
	// The other workspace's pi-1 is not this admin's to remove: removing
	// "pi-1" here takes this workspace's, and the other's keeps working.
	if err := admin.RemoveDevice(ctx, "pi-1"); err != nil {
		t.Fatal(err)
	}
	for _, cred := range []*home.Credentials{mac, other} {
		if _, err := apiclient.FromCredentials(cred).Whoami(ctx); err != nil {
			t.Errorf("%s of workspace %s after pi-1 was removed: %v", cred.Device, cred.Workspace, err)
		}
	}
	if err := admin.RemoveDevice(ctx, "pi-1"); runlet.ErrorCode(err) != runlet.ENOTFOUND {
		t.Errorf("remove the other workspace's pi-1: %v, want not found", err)
	}
}

// member adds a user with role to the default workspace and returns a
// client signed in as them.
func (s *testServer) member(t *testing.T, email string, role runlet.Role) *apiclient.Client {
	t.Helper()
	ctx, db := ctxT(t), s.Store
	hash, err := bcrypt.GenerateFromPassword([]byte("member-password"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	u := runlet.User{Email: email, PasswordHash: string(hash)}
	if err := db.CreateUser(ctx, &u); err != nil {
		t.Fatal(err)
	}
	who, err := s.adminClient(t).Whoami(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.PutMembership(ctx, &runlet.Membership{Workspace: who.Workspace, User: u.ID, Role: role}); err != nil {
		t.Fatal(err)
	}
	resp, err := s.client().Login(ctx, email, "member-password")
	if err != nil {
		t.Fatalf("login %s: %v", email, err)
	}
	return apiclient.New(s.URL(), resp.Token)
}
