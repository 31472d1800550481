package bustest

import (
	"testing"

	"github.com/runlet/runlet/bus"
)

// testIsolation: a principal of workspace A cannot publish, subscribe,
// declare, publish durably, consume or delete in workspace B. Each refused
// call must wrap bus.ErrForbidden; a call that returns nil must have no
// effect on B, which the markers published in B prove.
func testIsolation(t *testing.T, h Harness) {
	if h.NoIsolation != "" {
		t.Skip("no isolation on this broker: " + h.NoIsolation)
	}
	wsA, wsB := h.Workspace(t), h.Workspace(t)
	a, b := h.Open(t, wsA), h.Open(t, wsB)
	c := ctx(t)
	q := bus.Queue{Name: QueueNames[0], Pattern: bus.DispatchKey("d"), AckWait: h.AckWait}
	declare(t, b, wsB, q)
	bSub, bCons := newRecorder(), newRecorder()
	subscribe(t, b, wsB, "#", bSub)

	aSub := newRecorder()
	s, err := a.Subscribe(c, wsB, "#", aSub.Handle)
	if !forbiddenOrNil(t, "Subscribe", err) {
		t.Cleanup(func() { _ = s.Close() })
	}
	forbiddenOrNil(t, "Publish", a.Publish(c, wsB, msg(bus.EventKey, "fromA")))
	other := bus.Queue{Name: QueueNames[1], Pattern: bus.AllTelemetry, AckWait: h.AckWait}
	forbiddenOrNil(t, "DeclareQueue", a.DeclareQueue(c, wsB, other))
	forbiddenOrNil(t, "PublishDurable", a.PublishDurable(c, wsB, msg(q.Pattern, "durA")))
	forbiddenOrNil(t, "DeleteQueue", a.DeleteQueue(c, wsB, q.Name))
	aCons := newRecorder()
	cs, err := a.Consume(c, wsB, q, aCons.AckDeliver(t))
	if !forbiddenOrNil(t, "Consume", err) {
		t.Cleanup(func() { _ = cs.Close() })
	}

	// B's own traffic still flows, to B only.
	consume(t, b, wsB, q, bCons.AckDeliver(t))
	publish(t, b, wsB, msg(bus.EventKey, "markB"))
	publishDurable(t, b, wsB, msg(q.Pattern, "durB"))
	bSub.waitID(t, "markB")
	bCons.waitUntil(t, "durB", func(ms []bus.Message) bool { return hasID(ms, "durB") || hasID(aCons.Messages(), "durB") })
	if hasID(bSub.Messages(), "fromA") {
		t.Errorf("A's transient message reached B's subscriber")
	}
	if hasID(bCons.Messages(), "durA") {
		t.Errorf("A's durable message reached B's queue")
	}
	if hasID(aCons.Messages(), "durB") || hasID(aSub.Messages(), "markB") {
		t.Errorf("B's messages reached A")
	}

	// A's connection still works in its own workspace after the refusals.
	aOwn := newRecorder()
	subscribe(t, a, wsA, "#", aOwn)
	publish(t, a, wsA, msg(bus.EventKey, "ownA"))
	aOwn.waitID(t, "ownA")
	if hasID(aSub.Messages(), "markB") || hasID(aCons.Messages(), "durB") {
		t.Errorf("B's messages reached A")
	}
}
