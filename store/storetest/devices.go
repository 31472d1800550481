package storetest

import (
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
)

func testDevices(t *testing.T, e *env) {
	ws := e.workspace(t, "default")
	d := runlet.Device{Workspace: ws.ID, Name: "pi-1", OS: "linux", Arch: "arm64", Version: "0.1.0",
		Labels: map[string]string{"room": "attic", "gpio": "yes"}}
	ok(t, e.CreateDevice(e.ctx, &d))
	if d.ID == "" || !d.Created.Equal(e.clock.Now()) || d.Revoked || !d.LastSeen.IsZero() {
		t.Fatalf("created device %+v: want an ID, Created = now, not revoked, never seen", d)
	}
	got, err := e.Device(e.ctx, ws.ID, d.ID)
	ok(t, err)
	equal(t, "Device", got, d)
	got, err = e.DeviceByName(e.ctx, ws.ID, "pi-1")
	ok(t, err)
	equal(t, "DeviceByName", got, d)

	name, version := "pi-one", "0.2.0"
	got, err = e.UpdateDevice(e.ctx, ws.ID, d.ID, store.DeviceUpdate{Name: &name, Version: &version})
	ok(t, err)
	d.Name, d.Version = name, version
	equal(t, "renamed device (labels kept)", got, d)
	got, err = e.UpdateDevice(e.ctx, ws.ID, d.ID, store.DeviceUpdate{Labels: map[string]string{"room": "cellar"}})
	ok(t, err)
	d.Labels = map[string]string{"room": "cellar"}
	equal(t, "relabelled device", got, d)
	got, err = e.UpdateDevice(e.ctx, ws.ID, d.ID, store.DeviceUpdate{Labels: map[string]string{}})
	ok(t, err)
	equal(t, "labels cleared", got.Labels, map[string]string(nil))

	mac := e.device(t, ws.ID, "mac")
	all, err := e.ListDevices(e.ctx, ws.ID)
	ok(t, err)
	equal(t, "devices by name", []string{all[0].Name, all[1].Name}, []string{"mac", "pi-one"})
	equal(t, "listed device", all[0], mac)

	empty := ""
	_, err = e.UpdateDevice(e.ctx, ws.ID, d.ID, store.DeviceUpdate{Name: &empty})
	code(t, err, runlet.EINVALID)
	_, err = e.UpdateDevice(e.ctx, ws.ID, "nope", store.DeviceUpdate{Name: &name})
	code(t, err, runlet.ENOTFOUND)
	code(t, e.CreateDevice(e.ctx, &runlet.Device{Workspace: ws.ID}), runlet.EINVALID)
	code(t, e.CreateDevice(e.ctx, &runlet.Device{Workspace: "nope", Name: "x"}), runlet.ENOTFOUND)
	code(t, e.CreateDevice(e.ctx, &runlet.Device{ID: d.ID, Workspace: ws.ID, Name: "x"}), runlet.ECONFLICT)
}

func testDeviceNames(t *testing.T, e *env) {
	a, b := e.workspace(t, "a"), e.workspace(t, "b")
	pa := e.device(t, a.ID, "pi-1")
	pb := e.device(t, b.ID, "pi-1") // the same name in another workspace
	code(t, e.CreateDevice(e.ctx, &runlet.Device{Workspace: a.ID, Name: "pi-1"}), runlet.ECONFLICT)

	other := e.device(t, a.ID, "pi-2")
	taken := "pi-1"
	_, err := e.UpdateDevice(e.ctx, a.ID, other.ID, store.DeviceUpdate{Name: &taken})
	code(t, err, runlet.ECONFLICT)

	// A workspace sees only its own devices.
	_, err = e.Device(e.ctx, b.ID, pa.ID)
	code(t, err, runlet.ENOTFOUND)
	got, err := e.DeviceByName(e.ctx, b.ID, "pi-1")
	ok(t, err)
	equal(t, "device of b", got.ID, pb.ID)
	_, err = e.UpdateDevice(e.ctx, b.ID, pa.ID, store.DeviceUpdate{Name: &taken})
	code(t, err, runlet.ENOTFOUND)
	code(t, e.RevokeDevice(e.ctx, b.ID, pa.ID), runlet.ENOTFOUND)
	code(t, e.TouchDevice(e.ctx, b.ID, pa.ID, time.Time{}), runlet.ENOTFOUND)
}

func testDeviceTouchRevoke(t *testing.T, e *env) {
	ws := e.workspace(t, "default")
	d := e.device(t, ws.ID, "pi-1")

	ok(t, e.TouchDevice(e.ctx, ws.ID, d.ID, time.Time{}))
	seen := e.clock.Now()
	got, _ := e.Device(e.ctx, ws.ID, d.ID)
	equal(t, "LastSeen = Now", got.LastSeen, seen)
	later := seen.Add(90 * time.Second)
	ok(t, e.TouchDevice(e.ctx, ws.ID, d.ID, later))
	ok(t, e.TouchDevice(e.ctx, ws.ID, d.ID, seen.Add(time.Second))) // a late heartbeat
	got, _ = e.Device(e.ctx, ws.ID, d.ID)
	equal(t, "LastSeen never moves back", got.LastSeen, later)
	code(t, e.TouchDevice(e.ctx, ws.ID, "nope", later), runlet.ENOTFOUND)

	secret := runlet.Token{Workspace: ws.ID, Kind: runlet.TokenDevice, Hash: store.HashSecret("device secret"), Subject: d.ID}
	ok(t, e.CreateToken(e.ctx, &secret))
	ok(t, e.RevokeDevice(e.ctx, ws.ID, d.ID))
	ok(t, e.RevokeDevice(e.ctx, ws.ID, d.ID)) // twice is fine
	got, err := e.Device(e.ctx, ws.ID, d.ID)
	ok(t, err)
	if !got.Revoked {
		t.Fatal("device not revoked")
	}
	_, err = e.TokenByHash(e.ctx, store.HashSecret("device secret"))
	code(t, err, runlet.ENOTFOUND) // its token went with it
	_, err = e.DeviceByName(e.ctx, ws.ID, "pi-1")
	code(t, err, runlet.ENOTFOUND)

	again := e.device(t, ws.ID, "pi-1") // the name is free again
	got, err = e.DeviceByName(e.ctx, ws.ID, "pi-1")
	ok(t, err)
	equal(t, "the new pi-1", got.ID, again.ID)
	all, _ := e.ListDevices(e.ctx, ws.ID)
	equal(t, "revoked devices are listed", len(all), 2)
}
