package auth

import (
	"testing"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/store"
)

func hashOf(secret string) []byte { return store.HashSecret(secret) }

// TestBrokerUser: a device connects with its ID and its own token, and
// nothing else does.
func TestBrokerUser(t *testing.T) {
	a := newTestAuth(t, nil)
	ws := a.workspace(t, "default")
	ann := a.user(t, ws, "ann@example.com", "right")
	pi, piSecret := a.device(t, ws, "pi")
	other, otherSecret := a.device(t, ws, "other")
	session, _, err := a.NewSession(t.Context(), ann, ws)
	if err != nil {
		t.Fatal(err)
	}

	p, err := a.BrokerUser(pi.ID, piSecret)
	if want := (bus.Principal{Role: bus.RoleDevice, Workspace: ws.ID, Device: "pi"}); err != nil || p.Role != want.Role || p.Workspace != want.Workspace || p.Device != want.Device {
		t.Errorf("the device: %+v, %v; want %+v", p, err, want)
	}
	for name, c := range map[string][2]string{
		"another device's token": {pi.ID, otherSecret},
		"a user's session":       {ann.ID, session},
		"an unknown token":       {pi.ID, "rlt_nope"},
	} {
		if p, err := a.BrokerUser(c[0], c[1]); err == nil {
			t.Errorf("%s: let in as %+v", name, p)
		}
	}
	if err := a.db.RevokeDevice(t.Context(), ws.ID, other.ID); err != nil {
		t.Fatal(err)
	}
	if p, err := a.BrokerUser(other.ID, otherSecret); err == nil {
		t.Errorf("a revoked device: let in as %+v", p)
	}
}

// TestDirectory: the RabbitMQ backend's directory authenticates devices
// and answers their principal while they are not revoked, finding the
// workspace of a device it was never told of.
func TestDirectory(t *testing.T) {
	a := newTestAuth(t, nil)
	a.workspace(t, "first")
	ws := a.workspace(t, "second")
	pi, piSecret := a.device(t, ws, "pi")
	other, _ := a.device(t, ws, "other")
	d := a.Directory()
	ctx := t.Context()

	if p, err := d.Authenticate(ctx, pi.ID, piSecret); err != nil || p.Device != "pi" || p.Workspace != ws.ID {
		t.Fatalf("Authenticate: %+v, %v", p, err)
	}
	if _, err := d.Authenticate(ctx, other.ID, piSecret); err == nil {
		t.Error("Authenticate: a device with another's token")
	}
	for _, dev := range []runlet.Device{pi, other} {
		if p, err := d.Principal(ctx, dev.ID); err != nil || p.Role != bus.RoleDevice || p.Device != dev.Name || p.Workspace != ws.ID {
			t.Errorf("Principal(%s): %+v, %v", dev.Name, p, err)
		}
	}
	if p, err := d.Principal(ctx, "nobody"); err == nil {
		t.Errorf("Principal of an unknown user: %+v", p)
	}
	for _, dev := range []runlet.Device{pi, other} {
		if err := a.db.RevokeDevice(ctx, ws.ID, dev.ID); err != nil {
			t.Fatal(err)
		}
		if p, err := d.Principal(ctx, dev.ID); err == nil {
			t.Errorf("Principal of revoked %s: %+v", dev.Name, p)
		}
	}
}
