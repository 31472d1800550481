package intake

import (
	"sync"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/wire"
)

// defaultHeartbeat is assumed when a heartbeat does not say its interval.
const defaultHeartbeat = 5 * time.Second

// seedInterval is the heartbeat interval assumed of a device known only
// from the store's last seen time: the daemon's default
// (daemon.DefaultHeartbeatInterval).
const seedInterval = 5 * time.Minute

// presence is what the last heartbeat of each device said and when it came,
// and, where the broker can tell, whether its daemon is connected.
//
// A device is online from its first heartbeat until the first of: its
// daemon says it leaves (a Leaving heartbeat); the broker no longer lists
// its daemon's connection (Config.Connections, checked every sweep); three
// of its heartbeat intervals pass without one. The heartbeats come every
// few minutes (daemon.DefaultHeartbeatInterval) to save the device's
// bandwidth, so on a broker that can tell, a daemon killed shows offline
// within a sweep of its socket closing, and one cut off within the
// broker's own keepalive timeout and a sweep; elsewhere within three
// intervals (docs/bandwidth.md). A daemon whose connection comes back
// while its last heartbeat is fresh is online again at the next sweep.
type presence struct {
	mu   sync.Mutex
	seen map[string]map[string]beat // workspace id → device name → last beat
	// conns are the daemons the broker listed at connsAt, workspace id →
	// device name; nil when the broker cannot tell (then heartbeats alone
	// decide).
	conns   map[string]map[string]bool
	connsAt time.Time
}

type beat struct {
	hb      wire.Heartbeat
	at      time.Time
	left    bool      // its daemon said it stops: offline whatever the interval
	online  bool      // as last reported in an event
	touched time.Time // when the store was last told the device was seen
	// dropping: this heartbeat's telemetry outbox dropped readings since
	// the heartbeat before (its count of dropped readings grew).
	dropping bool
}

// touchEvery is how often a heartbeat refreshes the device's record in the
// store: writing every heartbeat of 5,000 devices (1,000 writes a second)
// kept the store from the execution statuses. In between, the device list
// takes the last seen time from here.
const touchEvery = time.Minute

func newPresence() *presence { return &presence{seen: map[string]map[string]beat{}} }

// alive reports whether the device of b is online at now. Held: p.mu.
func (p *presence) alive(ws, device string, b beat, now time.Time) bool {
	if b.left {
		return false
	}
	iv := b.hb.Interval
	if iv <= 0 {
		iv = defaultHeartbeat
	}
	if now.Sub(b.at) >= 3*iv {
		return false
	}
	// A heartbeat newer than the broker's list outweighs it; one of the
	// same instant too (a coarse clock, or a test's), since the list was
	// asked for at connsAt and may predate the heartbeat.
	return p.conns == nil || p.conns[ws][device] || !b.at.Before(p.connsAt)
}

// connected records the daemons the broker lists as connected at at
// (workspace id → device name), nil when it cannot tell.
func (p *presence) connected(conns map[string]map[string]bool, at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.conns, p.connsAt = conns, at
}

// seed takes, when the server starts, the devices of the workspace that
// the store saw within three heartbeat intervals as online, as their last
// heartbeat said (the store keeps OS, arch and version): the heartbeats
// are minutes apart, and a server that restarts while the broker stays up
// (RabbitMQ) would otherwise show every device offline until its next.
// The broker's list, where it has one, corrects it at the first sweep; a
// device whose daemon left cleanly in the last minutes shows online until
// three intervals after its last heartbeat.
func (p *presence) seed(ws string, devices []runlet.Device, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, d := range devices {
		if d.Revoked || d.LastSeen.IsZero() || now.Sub(d.LastSeen) >= 3*seedInterval {
			continue
		}
		if _, ok := p.seen[ws][d.Name]; ok {
			continue
		}
		if p.seen[ws] == nil {
			p.seen[ws] = map[string]beat{}
		}
		hb := wire.Heartbeat{Device: d.Name, OS: d.OS, Arch: d.Arch, Version: d.Version, Interval: seedInterval}
		p.seen[ws][d.Name] = beat{hb: hb, at: d.LastSeen, online: true, touched: d.LastSeen}
	}
}

// touchDue reports whether the store's record of the device is due a
// refresh: it is not online yet, what it reports of itself changed, or
// touchEvery passed since the last.
func (p *presence) touchDue(ws string, hb wire.Heartbeat, now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	prev, ok := p.seen[ws][hb.Device]
	return !ok || !prev.online || now.Sub(prev.touched) >= touchEvery ||
		hb.OS != prev.hb.OS || hb.Arch != prev.hb.Arch || hb.Version != prev.hb.Version
}

// beat records a heartbeat, and that the store was refreshed with it when
// touched, and reports whether the device just came online.
func (p *presence) beat(ws string, hb wire.Heartbeat, now time.Time, touched bool) (cameOnline bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := p.seen[ws]
	if m == nil {
		m = map[string]beat{}
		p.seen[ws] = m
	}
	prev, ok := m[hb.Device]
	cameOnline = !ok || !prev.online
	b := beat{hb: hb, at: now, online: true, touched: prev.touched}
	if t := hb.Telemetry; t != nil {
		var before uint64
		if ok && prev.hb.Telemetry != nil {
			before = prev.hb.Telemetry.Dropped
		}
		b.dropping = t.Dropped > before
	}
	if touched {
		b.touched = now
	}
	m[hb.Device] = b
	return cameOnline
}

// lastSeen is when the device's last heartbeat came, zero if none came
// since the server started.
func (p *presence) lastSeen(ws, device string) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.seen[ws][device].at
}

// get returns the device's last heartbeat and whether it is online at now.
func (p *presence) get(ws, device string, now time.Time) (wire.Heartbeat, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, ok := p.seen[ws][device]
	if !ok || !p.alive(ws, device, b, now) {
		return wire.Heartbeat{}, false
	}
	return b.hb, true
}

// changes returns the devices that went offline, and those that came back
// (their daemon reconnected while their last heartbeat is fresh), since
// the last call, per workspace, marking them reported.
func (p *presence) changes(now time.Time) (offline, online map[string][]string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	offline, online = map[string][]string{}, map[string][]string{}
	for ws, m := range p.seen {
		for name, b := range m {
			alive := p.alive(ws, name, b, now)
			if b.online == alive {
				continue
			}
			b.online = alive
			m[name] = b
			if alive {
				online[ws] = append(online[ws], name)
			} else {
				offline[ws] = append(offline[ws], name)
			}
		}
	}
	return offline, online
}

// leave records that the device's daemon stops, at now, and reports
// whether the device was online until then (an event is due).
func (p *presence) leave(ws, device string, now time.Time) (wasOnline bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, ok := p.seen[ws][device]
	if !ok {
		return false
	}
	wasOnline = b.online
	b.left, b.online, b.at = true, false, now
	p.seen[ws][device] = b
	return wasOnline
}

func (p *presence) forget(ws, device string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.seen[ws], device)
}

// shownOnline returns the devices last reported online, per workspace.
func (p *presence) shownOnline() map[string][]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string][]string{}
	for ws, m := range p.seen {
		for name, b := range m {
			if b.online {
				out[ws] = append(out[ws], name)
			}
		}
	}
	return out
}
