package storetest

import (
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
)

func testTokens(t *testing.T, e *env) {
	ws := e.workspace(t, "default")
	ann := e.user(t, "ann@example.com")
	enroll := runlet.Token{Workspace: ws.ID, Kind: runlet.TokenEnrollment, Hash: store.HashSecret("enroll"), Subject: ann.ID}
	ok(t, e.CreateToken(e.ctx, &enroll))
	if enroll.ID == "" || !enroll.Created.Equal(e.clock.Now()) || enroll.Revoked {
		t.Fatalf("created token %+v: want an ID, Created = now, not revoked", enroll)
	}
	got, err := e.TokenByHash(e.ctx, store.HashSecret("enroll"))
	ok(t, err)
	equal(t, "TokenByHash", got, enroll)
	_, err = e.TokenByHash(e.ctx, store.HashSecret("other"))
	code(t, err, runlet.ENOTFOUND)

	// A session may have no workspace; the other kinds must.
	session := runlet.Token{Kind: runlet.TokenSession, Hash: store.HashSecret("cookie"), Subject: ann.ID}
	ok(t, e.CreateToken(e.ctx, &session))
	got, err = e.TokenByHash(e.ctx, store.HashSecret("cookie"))
	ok(t, err)
	equal(t, "session token", got, session)
	ok(t, e.RevokeToken(e.ctx, "", session.ID)) // signing out
	_, err = e.TokenByHash(e.ctx, store.HashSecret("cookie"))
	code(t, err, runlet.ENOTFOUND)

	// An invitation is used once: revoked by whoever accepts it.
	e.clock.Advance(time.Second)
	invite := runlet.Token{Workspace: ws.ID, Kind: runlet.TokenInvite, Hash: store.HashSecret("invite"), Subject: ann.ID, Expires: e.clock.Now().Add(time.Hour)}
	ok(t, e.CreateToken(e.ctx, &invite))
	got, err = e.TokenByHash(e.ctx, store.HashSecret("invite"))
	ok(t, err)
	equal(t, "invite token", got, invite)
	ok(t, e.RevokeToken(e.ctx, ws.ID, invite.ID))

	e.clock.Advance(time.Second)
	api := runlet.Token{Workspace: ws.ID, Kind: runlet.TokenAPI, Hash: store.HashSecret("api"), Subject: ann.ID}
	ok(t, e.CreateToken(e.ctx, &api))
	list, err := e.ListTokens(e.ctx, ws.ID)
	ok(t, err)
	equal(t, "tokens newest first", []string{list[0].ID, list[1].ID, list[2].ID}, []string{api.ID, invite.ID, enroll.ID})

	for name, bad := range map[string]runlet.Token{
		"kind":         {Workspace: ws.ID, Kind: "magic", Hash: store.HashSecret("x"), Subject: ann.ID},
		"short hash":   {Workspace: ws.ID, Kind: runlet.TokenAPI, Hash: []byte("x"), Subject: ann.ID},
		"no subject":   {Workspace: ws.ID, Kind: runlet.TokenAPI, Hash: store.HashSecret("x")},
		"no workspace": {Kind: runlet.TokenDevice, Hash: store.HashSecret("x"), Subject: ann.ID},
	} {
		if err := e.CreateToken(e.ctx, &bad); runlet.ErrorCode(err) != runlet.EINVALID {
			t.Errorf("token with bad %s: error %v, want EINVALID", name, err)
		}
	}
	code(t, e.CreateToken(e.ctx, &runlet.Token{Workspace: ws.ID, Kind: runlet.TokenAPI, Hash: store.HashSecret("api"), Subject: ann.ID}), runlet.ECONFLICT)
	code(t, e.CreateToken(e.ctx, &runlet.Token{Workspace: "nope", Kind: runlet.TokenAPI, Hash: store.HashSecret("y"), Subject: ann.ID}), runlet.ENOTFOUND)
}

func testTokenExpiry(t *testing.T, e *env) {
	ws := e.workspace(t, "default")
	expires := e.clock.Now().Add(time.Hour)
	short := runlet.Token{Workspace: ws.ID, Kind: runlet.TokenSession, Hash: store.HashSecret("short"), Subject: "u1", Expires: expires}
	ok(t, e.CreateToken(e.ctx, &short))
	a := runlet.Token{Workspace: ws.ID, Kind: runlet.TokenDevice, Hash: store.HashSecret("a"), Subject: "dev-1"}
	b := runlet.Token{Workspace: ws.ID, Kind: runlet.TokenDevice, Hash: store.HashSecret("b"), Subject: "dev-1"}
	c := runlet.Token{Workspace: ws.ID, Kind: runlet.TokenDevice, Hash: store.HashSecret("c"), Subject: "dev-2"}
	for _, tok := range []*runlet.Token{&a, &b, &c} {
		ok(t, e.CreateToken(e.ctx, tok))
	}

	e.clock.Advance(time.Hour - time.Microsecond)
	got, err := e.TokenByHash(e.ctx, store.HashSecret("short"))
	ok(t, err)
	if !got.Active(e.clock.Now()) {
		t.Fatal("Active before expiry = false")
	}
	e.clock.Advance(time.Microsecond)
	_, err = e.TokenByHash(e.ctx, store.HashSecret("short"))
	code(t, err, runlet.ENOTFOUND)

	ok(t, e.RevokeToken(e.ctx, ws.ID, a.ID))
	ok(t, e.RevokeToken(e.ctx, ws.ID, a.ID)) // twice is fine
	code(t, e.RevokeToken(e.ctx, ws.ID, "nope"), runlet.ENOTFOUND)
	code(t, e.RevokeToken(e.ctx, "other", c.ID), runlet.ENOTFOUND) // not another workspace's
	code(t, e.RevokeToken(e.ctx, "", c.ID), runlet.ENOTFOUND)
	_, err = e.TokenByHash(e.ctx, store.HashSecret("a"))
	code(t, err, runlet.ENOTFOUND)

	n, err := e.RevokeSubjectTokens(e.ctx, ws.ID, "dev-1")
	ok(t, err)
	equal(t, "tokens revoked (a was already)", n, 1)
	_, err = e.TokenByHash(e.ctx, store.HashSecret("b"))
	code(t, err, runlet.ENOTFOUND)
	_, err = e.TokenByHash(e.ctx, store.HashSecret("c"))
	ok(t, err)

	list, _ := e.ListTokens(e.ctx, ws.ID)
	revoked := map[string]bool{}
	for _, tok := range list {
		revoked[tok.ID] = tok.Revoked
	}
	equal(t, "revoked flags", revoked, map[string]bool{short.ID: false, a.ID: true, b.ID: true, c.ID: false})
}

func testDeviceCodeApproved(t *testing.T, e *env) {
	ws := e.workspace(t, "default")
	ann := e.user(t, "ann@example.com")
	hash := store.HashSecret("device-code")
	c := runlet.DeviceCode{Hash: hash, UserCode: "WDJB-MJHT", DeviceName: "pi-1",
		Expires: e.clock.Now().Add(15 * time.Minute), Interval: 5 * time.Second, Status: runlet.DeviceCodeApproved}
	ok(t, e.CreateDeviceCode(e.ctx, &c))
	equal(t, "status of a new code", c.Status, runlet.DeviceCodePending)
	got, err := e.DeviceCodeByUserCode(e.ctx, "WDJB-MJHT")
	ok(t, err)
	equal(t, "DeviceCodeByUserCode", got, c)
	code(t, e.CreateDeviceCode(e.ctx, &runlet.DeviceCode{Hash: store.HashSecret("x"), UserCode: "WDJB-MJHT", Expires: c.Expires}), runlet.ECONFLICT)

	// The device polls while the user has not answered yet.
	first, err := e.PollDeviceCode(e.ctx, hash)
	ok(t, err)
	equal(t, "first poll: no previous poll", first.LastPoll, time.Time{})
	_, err = e.ConsumeDeviceCode(e.ctx, hash)
	code(t, err, runlet.ECONFLICT) // not approved yet
	e.clock.Advance(2 * time.Second)
	second, err := e.PollDeviceCode(e.ctx, hash)
	ok(t, err)
	equal(t, "second poll sees the first", second.LastPoll, e.clock.Now().Add(-2*time.Second))
	equal(t, "still pending", second.Status, runlet.DeviceCodePending)

	_, err = e.ApproveDeviceCode(e.ctx, "WDJB-MJHT", "nope", ann.ID)
	code(t, err, runlet.ENOTFOUND)
	approved, err := e.ApproveDeviceCode(e.ctx, "WDJB-MJHT", ws.ID, ann.ID)
	ok(t, err)
	equal(t, "approved", []string{string(approved.Status), approved.Workspace, approved.ApprovedBy},
		[]string{"approved", ws.ID, ann.ID})
	_, err = e.ApproveDeviceCode(e.ctx, "WDJB-MJHT", ws.ID, ann.ID)
	code(t, err, runlet.ECONFLICT)
	_, err = e.DenyDeviceCode(e.ctx, "WDJB-MJHT", ann.ID)
	code(t, err, runlet.ECONFLICT)

	consumed, err := e.ConsumeDeviceCode(e.ctx, hash)
	ok(t, err)
	equal(t, "consumed", consumed.Status, runlet.DeviceCodeConsumed)
	equal(t, "consumed keeps the grant", []string{consumed.Workspace, consumed.DeviceName}, []string{ws.ID, "pi-1"})
	_, err = e.ConsumeDeviceCode(e.ctx, hash)
	code(t, err, runlet.ECONFLICT) // only once
	_, err = e.ConsumeDeviceCode(e.ctx, store.HashSecret("unknown"))
	code(t, err, runlet.ENOTFOUND)
	_, err = e.PollDeviceCode(e.ctx, store.HashSecret("unknown"))
	code(t, err, runlet.ENOTFOUND)

	for _, bad := range []runlet.DeviceCode{
		{Hash: []byte("short"), UserCode: "A", Expires: c.Expires},
		{Hash: store.HashSecret("y"), Expires: c.Expires},
		{Hash: store.HashSecret("y"), UserCode: "B"},
	} {
		code(t, e.CreateDeviceCode(e.ctx, &bad), runlet.EINVALID)
	}
}

func testDeviceCodeDenied(t *testing.T, e *env) {
	ann := e.user(t, "ann@example.com")
	ws := e.workspace(t, "default")
	denied := runlet.DeviceCode{Hash: store.HashSecret("d1"), UserCode: "AAAA-AAAA", DeviceName: "pi-1",
		Expires: e.clock.Now().Add(10 * time.Minute), Interval: 5 * time.Second}
	late := runlet.DeviceCode{Hash: store.HashSecret("d2"), UserCode: "BBBB-BBBB", DeviceName: "pi-2",
		Expires: e.clock.Now().Add(5 * time.Minute), Interval: 5 * time.Second}
	ok(t, e.CreateDeviceCode(e.ctx, &denied))
	ok(t, e.CreateDeviceCode(e.ctx, &late))

	got, err := e.DenyDeviceCode(e.ctx, "AAAA-AAAA", ann.ID)
	ok(t, err)
	equal(t, "denied", got.Status, runlet.DeviceCodeDenied)
	_, err = e.ApproveDeviceCode(e.ctx, "AAAA-AAAA", ws.ID, ann.ID)
	code(t, err, runlet.ECONFLICT)
	_, err = e.ConsumeDeviceCode(e.ctx, denied.Hash)
	code(t, err, runlet.ECONFLICT)
	polled, err := e.PollDeviceCode(e.ctx, denied.Hash)
	ok(t, err)
	equal(t, "the device learns it was denied", polled.Status, runlet.DeviceCodeDenied)

	e.clock.Advance(5 * time.Minute) // late expires now
	_, err = e.DeviceCodeByUserCode(e.ctx, "BBBB-BBBB")
	code(t, err, runlet.ENOTFOUND)
	_, err = e.ApproveDeviceCode(e.ctx, "BBBB-BBBB", ws.ID, ann.ID)
	code(t, err, runlet.ENOTFOUND)
	_, err = e.DenyDeviceCode(e.ctx, "BBBB-BBBB", ann.ID)
	code(t, err, runlet.ENOTFOUND)
	_, err = e.ConsumeDeviceCode(e.ctx, late.Hash)
	code(t, err, runlet.ENOTFOUND)
	polled, err = e.PollDeviceCode(e.ctx, late.Hash)
	ok(t, err)
	if !polled.Expired(e.clock.Now()) {
		t.Fatalf("polled code %+v should be expired at %v", polled, e.clock.Now())
	}

	n, err := e.DeleteExpiredDeviceCodes(e.ctx)
	ok(t, err)
	equal(t, "deleted codes", n, 1)
	_, err = e.PollDeviceCode(e.ctx, late.Hash)
	code(t, err, runlet.ENOTFOUND)
	_, err = e.PollDeviceCode(e.ctx, denied.Hash)
	ok(t, err)
}
