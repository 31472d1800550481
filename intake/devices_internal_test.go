package intake

import (
	"testing"
	"time"

	"github.com/runlet/runlet/wire"
)

// TestDevicesPresence: the presence the alert service reads: online from
// a heartbeat, offline three intervals later since the last, and the
// telemetry outbox dropping only while its count of dropped readings
// grows from one heartbeat to the next.
func TestDevicesPresence(t *testing.T) {
	p := newPresence()
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	hb := func(dropped uint64, full bool) wire.Heartbeat {
		return wire.Heartbeat{Device: "pi-3", Interval: time.Minute, Telemetry: &wire.TelemetryStats{Dropped: dropped, Full: full, Pending: 7}}
	}
	p.beat("ws", hb(0, false), t0, false)
	p.beat("ws", wire.Heartbeat{Device: "mac", Interval: time.Minute}, t0, false)
	ds := p.devices("ws", t0.Add(time.Second))
	if len(ds) != 2 || ds[0].Name != "mac" || ds[1].Name != "pi-3" || !ds[1].Online || ds[0].Outbox != nil {
		t.Fatalf("devices %+v", ds)
	}
	if o := ds[1].Outbox; o == nil || o.Pending != 7 || o.Troubled() {
		t.Errorf("pi-3's outbox %+v, want 7 pending, untroubled", o)
	}
	p.beat("ws", hb(5, true), t0.Add(time.Minute), false)
	if o := p.devices("ws", t0.Add(time.Minute))[1].Outbox; !o.Full || !o.Dropping || !o.Troubled() {
		t.Errorf("a full outbox that dropped 5: %+v", o)
	}
	p.beat("ws", hb(5, false), t0.Add(2*time.Minute), false)
	if o := p.devices("ws", t0.Add(2*time.Minute))[1].Outbox; o.Dropping || o.Troubled() || o.Dropped != 5 {
		t.Errorf("an outbox that dropped nothing since the heartbeat before: %+v", o)
	}
	d := p.devices("ws", t0.Add(5*time.Minute))[1]
	if d.Online || !d.Since.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("pi-3 three intervals after its last heartbeat: %+v, want offline since it", d)
	}
	if ds := p.devices("other", t0); len(ds) != 0 {
		t.Errorf("another workspace's devices: %+v", ds)
	}
}
