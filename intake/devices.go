package intake

import (
	"slices"
	"strings"
	"time"

	"github.com/runlet/runlet"
)

// Devices returns the presence of the workspace's devices this server
// process heard from since it started (or took from the store at start),
// by name: online or offline since when, and their telemetry outbox as
// their last heartbeat said. The alert service's offline and outbox
// alerts are decided from it (alert.Presence).
func (s *Service) Devices(ws string) []runlet.DevicePresence {
	return s.presence.devices(ws, s.now())
}

func (p *presence) devices(ws string, now time.Time) []runlet.DevicePresence {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]runlet.DevicePresence, 0, len(p.seen[ws]))
	for name, b := range p.seen[ws] {
		d := runlet.DevicePresence{Name: name, Online: p.alive(ws, name, b, now), Since: b.at}
		if t := b.hb.Telemetry; t != nil {
			d.Outbox = &runlet.OutboxState{Pending: t.Pending, Dropped: t.Dropped, Full: t.Full, Dropping: b.dropping}
		}
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b runlet.DevicePresence) int { return strings.Compare(a.Name, b.Name) })
	return out
}
