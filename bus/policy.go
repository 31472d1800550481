package bus

import "slices"

// This file is the one owner of what a principal may do on the broker. The
// embedded NATS permissions (bus/nats/embedded) and the answers of the
// RabbitMQ HTTP auth backend (bus/amqp/authhttp) are both generated from
// PolicyFor; neither keeps a rule of its own. docs/security.md shows the
// same table for people.

// Role is what a principal is to the broker.
type Role int

const (
	// RoleServer is a Runlet server: everything in its workspace, or in
	// every workspace when Principal.Workspace is empty.
	RoleServer Role = iota + 1
	// RoleDevice is a signed-in device: what its daemon needs (its own
	// dispatch queue, its own reports, input and control of its own
	// executions) plus what a viewer of its workspace may do, since the
	// CLI on a device watches and types into other devices' jobs.
	RoleDevice
	// RoleViewer watches and types into the jobs of its workspace, and
	// runs nothing.
	RoleViewer
)

func (r Role) String() string {
	switch r {
	case RoleServer:
		return "server"
	case RoleDevice:
		return "device"
	case RoleViewer:
		return "viewer"
	}
	return "unknown"
}

// Principal is who a broker client is, as the server decided from its
// credentials.
type Principal struct {
	Role Role
	// Workspace confines the principal; a server's may be empty (all).
	Workspace string
	// Device is the device's name (RoleDevice): its keys carry it.
	Device string
	// Queues names further durable queues of Workspace a server principal
	// may create, consume and delete, for brokers whose permissions name
	// queues one by one (NATS JetStream). Empty means every queue where
	// the broker can say so by pattern.
	Queues []string
}

// Policy is what one principal may do in its workspace. Keys and patterns
// are written the bus way (without the workspace prefix).
type Policy struct {
	// All allows everything in the workspace (a server).
	All bool
	// Publish lists patterns of the keys the principal may publish to,
	// transient or durable.
	Publish []Key
	// Subscribe lists the patterns a principal's transient subscription
	// may cover: a subscription pattern is allowed when every key it can
	// match is matched by one of these (Covers).
	Subscribe []Key
	// Consume lists the durable queues the principal may consume (and
	// bind its own pattern to). Creating and deleting them is the
	// server's.
	Consume []Queue
	// Read lists the durable queues the principal may look up without
	// creating, changing or consuming them: the ones it publishes to.
	Read []string
	// Manage lists queues the principal may create, consume and delete
	// (Principal.Queues of a server scoped to a workspace).
	Manage []string
}

// Viewer patterns: what anyone of a workspace may read and send about its
// jobs. Input and control travel to the device; output, replays, statuses,
// heartbeats and events are for every viewer.
var (
	viewerPublish   = []Key{AllInput, AllControl}
	viewerSubscribe = []Key{
		AllOutput,
		AllReplays,
		AllStatus,
		AllHeartbeats,
		EventKey,
	}
)

// PolicyFor is the policy of p. An unknown role may do nothing.
func PolicyFor(p Principal) Policy {
	switch p.Role {
	case RoleServer:
		return Policy{All: true, Manage: p.Queues}
	case RoleViewer:
		return Policy{Publish: viewerPublish, Subscribe: viewerSubscribe}
	case RoleDevice:
		d := p.Device
		return Policy{
			Publish: append([]Key{
				StatusPatternForDevice(d),
				OutputPatternForDevice(d),
				ReplayPatternForDevice(d),
				HeartbeatKey(d),
				TelemetryKey(d),
			}, viewerPublish...),
			Subscribe: append([]Key{
				InputPatternForDevice(d),
				ControlPatternForDevice(d),
			}, viewerSubscribe...),
			Consume: []Queue{{Name: DispatchQueue(d), Pattern: DispatchKey(d)}},
			Read:    []string{StatusQueue, TelemetryQueue},
		}
	}
	return Policy{}
}

// MayPublish reports whether the policy lets its principal publish k.
func (p Policy) MayPublish(k Key) bool {
	if p.All {
		return true
	}
	if k.Validate(false) != nil {
		return false
	}
	return slices.ContainsFunc(p.Publish, func(a Key) bool { return Match(a, k) })
}

// MaySubscribe reports whether a transient subscription to pattern stays
// within what the policy lets its principal read.
func (p Policy) MaySubscribe(pattern Key) bool {
	if p.All {
		return true
	}
	if pattern.Validate(true) != nil {
		return false
	}
	return slices.ContainsFunc(p.Subscribe, func(a Key) bool { return Covers(a, pattern) })
}

// MayConsume reports whether the principal may consume the durable queue.
func (p Policy) MayConsume(queue string) bool {
	return p.All || slices.Contains(p.Manage, queue) ||
		slices.ContainsFunc(p.Consume, func(q Queue) bool { return q.Name == queue })
}

// MayBind reports whether the principal may bind pattern to a queue of its
// own: a transient subscription, or a durable queue it consumes (brokers
// such as RabbitMQ check bindings, not consumers).
func (p Policy) MayBind(pattern Key) bool {
	return p.MaySubscribe(pattern) ||
		slices.ContainsFunc(p.Consume, func(q Queue) bool { return q.Pattern == pattern })
}

// MayRead reports whether the principal may look the durable queue up.
func (p Policy) MayRead(queue string) bool {
	return p.MayConsume(queue) || slices.Contains(p.Read, queue)
}

// MayManage reports whether the principal may create, change and delete
// the durable queue.
func (p Policy) MayManage(queue string) bool {
	return p.All && len(p.Manage) == 0 || slices.Contains(p.Manage, queue)
}

// Covers reports whether every key that pattern p matches is also matched
// by pattern a, by the rules of the package doc ("*" one word, "#" as the
// last word one or more).
func Covers(a, p Key) bool { return covers(a.Words(), p.Words()) }

func covers(a, p []string) bool {
	switch {
	case len(a) == 0:
		return len(p) == 0
	case a[0] == "#":
		return len(p) > 0
	case len(p) == 0 || p[0] == "#":
		// p matches keys of any length here; a does not.
		return false
	case a[0] == "*" || a[0] == p[0]:
		return covers(a[1:], p[1:])
	}
	return false
}
