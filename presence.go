package runlet

import "time"

// DevicePresence is what a server process knows of a device's presence:
// whether it is online, since when (online: its last heartbeat; offline:
// when it was last heard, or when its daemon left), and its telemetry
// outbox as its last heartbeat said. The alert service opens and
// resolves the offline and outbox alerts from it.
type DevicePresence struct {
	Name   string
	Online bool
	Since  time.Time
	// Outbox is nil when the device said nothing of its telemetry outbox.
	Outbox *OutboxState
}

// OutboxState is a device's telemetry outbox: readings waiting for the
// broker, those dropped (oldest first) since its daemon started, whether
// it is full, and whether it dropped readings since the heartbeat before.
type OutboxState struct {
	Pending  uint64 `json:"pending,omitempty"`
	Dropped  uint64 `json:"dropped,omitempty"`
	Full     bool   `json:"full,omitempty"`
	Dropping bool   `json:"dropping,omitempty"`
}

// Troubled reports whether the outbox calls for an alert: it is full, or
// it dropped readings since the heartbeat before. The device list says
// the same ("readings outbox full", "readings dropped"); a count of
// readings dropped long ago, since the daemon started, no longer does.
func (o *OutboxState) Troubled() bool { return o != nil && (o.Full || o.Dropping) }
