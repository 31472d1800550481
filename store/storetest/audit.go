package storetest

import (
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
)

func testAudit(t *testing.T, e *env) {
	a := e.workspace(t, "a")
	b := e.workspace(t, "b")
	ann := e.user(t, "ann@example.com")

	list := func(workspace string, limit int) []store.AuditEvent {
		t.Helper()
		es, err := e.ListAudit(e.ctx, workspace, limit)
		ok(t, err)
		return es
	}
	if es := list("", 0); len(es) != 0 {
		t.Fatalf("a new store has audit events: %+v", es)
	}

	wide := store.AuditEvent{Kind: store.AuditAddressLocked, Subject: "192.0.2.7", Source: "192.0.2.7", Detail: "10 failed sign-ins"}
	ok(t, e.AddAudit(e.ctx, &wide))
	if wide.ID == "" || !wide.Time.Equal(e.clock.Now()) {
		t.Fatalf("added event %+v: want an ID and Time = now", wide)
	}
	e.clock.Advance(time.Second)
	inA := store.AuditEvent{Workspace: a.ID, Kind: store.AuditAccountLocked, Subject: ann.Email, User: ann.ID, Source: "2001:db8::/64"}
	ok(t, e.AddAudit(e.ctx, &inA))
	// A time given is kept (to the microsecond); the same instant is
	// ordered by insertion.
	at := e.clock.Now().Add(time.Second + 789*time.Nanosecond)
	inB := store.AuditEvent{Workspace: b.ID, Kind: store.AuditGuessesLocked, Source: "198.51.100.1", Time: at}
	ok(t, e.AddAudit(e.ctx, &inB))
	equal(t, "time kept to the microsecond", inB.Time, at.Truncate(time.Microsecond))
	sameInstant := store.AuditEvent{Workspace: b.ID, Kind: store.AuditGuessesLocked, Source: "198.51.100.2", Time: at}
	ok(t, e.AddAudit(e.ctx, &sameInstant))

	equal(t, "every event, newest first", list("", 0), []store.AuditEvent{sameInstant, inB, inA, wide})
	equal(t, "workspace a", list(a.ID, 0), []store.AuditEvent{inA})
	equal(t, "workspace b, limited", list(b.ID, 1), []store.AuditEvent{sameInstant})
	equal(t, "an unknown workspace", len(list("nope", 0)), 0)

	_, err := e.ListAudit(e.ctx, "", -1)
	code(t, err, runlet.EINVALID)
	code(t, e.AddAudit(e.ctx, &store.AuditEvent{Subject: "no kind"}), runlet.EINVALID)
	code(t, e.AddAudit(e.ctx, &store.AuditEvent{Workspace: "nope", Kind: store.AuditAccountLocked}), runlet.ENOTFOUND)
	code(t, e.AddAudit(e.ctx, &store.AuditEvent{ID: wide.ID, Kind: store.AuditAccountLocked}), runlet.ECONFLICT)
}
