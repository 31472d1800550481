package bus

import (
	"fmt"
	"strings"
)

// Key is a routing key or, in Subscribe and Queue, a pattern: dot-separated
// words, without the workspace. This file is the only place keys are spelt.
type Key string

// The routing keys of ARCHITECTURE.md, "The bus".

// DispatchKey carries executions from the server to one device's durable queue.
func DispatchKey(device string) Key {
	return Key("device." + Word(device) + ".dispatch.v1")
}

// OutputKey carries numbered terminal frames from a device to every viewer.
func OutputKey(exec, device string) Key { return jobKey(exec, device, "io.output.v1") }

// InputKey carries keystrokes from any viewer to the device.
func InputKey(exec, device string) Key { return jobKey(exec, device, "io.input.v1") }

// ReplayKey carries frames a device resends to one viewer that asked for a
// replay, so that the other viewers are not flooded with what they have.
func ReplayKey(exec, device, viewer string) Key {
	return jobKey(exec, device, "io.replay."+Word(viewer)+".v1")
}

// ControlKey carries stop, kill, resize and replay requests to the device.
func ControlKey(exec, device string) Key { return jobKey(exec, device, "control.v1") }

// StatusKey carries execution status from the device to the servers.
func StatusKey(exec, device string) Key { return jobKey(exec, device, "status.v1") }

// TelemetryKey carries sensor readings relayed by a device.
func TelemetryKey(device string) Key { return Key("telemetry." + Word(device) + ".v1") }

// ReadingsKey carries the readings of one device's batch once the server
// has authenticated and stored them (the seed's Readings topic), for any
// later consumer (alerts, charts): servers publish it, servers read it.
func ReadingsKey(device string) Key { return Key("readings." + Word(device) + ".v1") }

// ParseTelemetryKey returns the device of a TelemetryKey.
func ParseTelemetryKey(k Key) (device string, ok bool) {
	w := k.Words()
	if len(w) != 3 || w[0] != "telemetry" || w[2] != "v1" {
		return "", false
	}
	d, err := Unword(w[1])
	return d, err == nil && d != ""
}

// HeartbeatKey carries one device's presence. The device is in the key, not
// only in the body, so that the broker can refuse a device speaking in
// another's name (see Policy).
func HeartbeatKey(device string) Key { return Key("daemon." + Word(device) + ".heartbeat.v1") }

// EventKey carries job and execution changes to everyone.
const EventKey Key = "workspace.event.v1"

// Patterns the servers and viewers subscribe to.
const (
	AllStatus     Key = "job.*.*.status.v1"
	AllTelemetry  Key = "telemetry.*.v1"
	AllHeartbeats Key = "daemon.*.heartbeat.v1"
	AllReadings   Key = "readings.*.v1"
)

// InputPatternForDevice matches the input of every execution on one device,
// for the daemon that runs them.
func InputPatternForDevice(device string) Key { return devicePattern(device, "io.input.v1") }

// ControlPatternForDevice matches the control requests of every execution
// on one device, for the daemon that runs them.
func ControlPatternForDevice(device string) Key { return devicePattern(device, "control.v1") }

// StatusPatternForDevice, OutputPatternForDevice and
// ReplayPatternForDevice match what one device reports of every execution
// (bus.Policy lets only that device publish them).
func StatusPatternForDevice(device string) Key { return devicePattern(device, "status.v1") }
func OutputPatternForDevice(device string) Key { return devicePattern(device, "io.output.v1") }
func ReplayPatternForDevice(device string) Key { return devicePattern(device, "io.replay.*.v1") }

// Patterns of every execution on every device, of one kind each.
const (
	AllInput   Key = "job.*.*.io.input.v1"
	AllControl Key = "job.*.*.control.v1"
	AllOutput  Key = "job.*.*.io.output.v1"
	AllReplays Key = "job.*.*.io.replay.*.v1"
)

func devicePattern(device, rest string) Key { return Key("job.*." + Word(device) + "." + rest) }

func jobKey(exec, device, rest string) Key {
	return Key("job." + Word(exec) + "." + Word(device) + "." + rest)
}

// Word escapes s so that it is exactly one word of a key: characters other
// than letters, digits, '-' and '_' become %XX. An empty s becomes "%".
func Word(s string) string {
	if s == "" {
		return "%"
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// Unword undoes Word: the string that Word escaped into w. It fails on a
// word Word cannot have written.
func Unword(w string) (string, error) {
	if w == "%" {
		return "", nil
	}
	b := make([]byte, 0, len(w))
	for i := 0; i < len(w); i++ {
		c := w[i]
		if c != '%' {
			b = append(b, c)
			continue
		}
		if i+2 >= len(w) {
			return "", fmt.Errorf("bus: %q ends inside an escape", w)
		}
		hi, ok1 := unhex(w[i+1])
		lo, ok2 := unhex(w[i+2])
		if !ok1 || !ok2 {
			return "", fmt.Errorf("bus: %q has a bad escape at %d", w, i)
		}
		b = append(b, hi<<4|lo)
		i += 2
	}
	return string(b), nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// JobKey is a job key taken apart: "job.<Exec>.<Device>.<Rest>".
type JobKey struct {
	Exec, Device string
	// Rest is what follows the device, still escaped: "status.v1",
	// "io.output.v1", "io.replay.<viewer>.v1", "control.v1".
	Rest string
}

// ParseJobKey takes a job key (OutputKey, InputKey, ReplayKey, ControlKey,
// StatusKey) apart, undoing Word's escapes; ok is false for any other key.
func ParseJobKey(k Key) (j JobKey, ok bool) {
	w := k.Words()
	if len(w) < 4 || w[0] != "job" {
		return JobKey{}, false
	}
	exec, err1 := Unword(w[1])
	device, err2 := Unword(w[2])
	if err1 != nil || err2 != nil || exec == "" || device == "" {
		return JobKey{}, false
	}
	return JobKey{Exec: exec, Device: device, Rest: strings.Join(w[3:], ".")}, true
}

// ParseHeartbeatKey returns the device of a HeartbeatKey.
func ParseHeartbeatKey(k Key) (device string, ok bool) {
	w := k.Words()
	if len(w) != 4 || w[0] != "daemon" || w[2] != "heartbeat" || w[3] != "v1" {
		return "", false
	}
	d, err := Unword(w[1])
	return d, err == nil && d != ""
}

// Words splits k at its dots.
func (k Key) Words() []string { return strings.Split(string(k), ".") }

// Validate reports whether k is a well-formed key (wildcards false) or
// pattern (wildcards true): non-empty words, "*" and "#" only as whole words
// of a pattern, "#" only last.
func (k Key) Validate(wildcards bool) error {
	if k == "" {
		return fmt.Errorf("bus: empty key")
	}
	words := k.Words()
	for i, w := range words {
		switch {
		case w == "":
			return fmt.Errorf("bus: key %q has an empty word", k)
		case w == "*" || w == "#":
			if !wildcards {
				return fmt.Errorf("bus: key %q has a wildcard; only patterns may", k)
			}
			if w == "#" && i != len(words)-1 {
				return fmt.Errorf("bus: pattern %q has '#' before its last word", k)
			}
		case strings.ContainsAny(w, "*#> \t\r\n"):
			return fmt.Errorf("bus: key %q has a reserved character in word %q", k, w)
		}
	}
	return nil
}

// Match reports whether key matches pattern, by the rules of the package doc.
func Match(pattern, key Key) bool {
	p, k := pattern.Words(), key.Words()
	for i, w := range p {
		if w == "#" {
			return len(k) > i
		}
		if i >= len(k) || (w != "*" && w != k[i]) {
			return false
		}
	}
	return len(p) == len(k)
}

// Names of the durable queues of ARCHITECTURE.md, "The bus": one per
// device for its dispatch key, and one shared work queue each for status
// (AllStatus) and telemetry (AllTelemetry) per workspace.
const (
	StatusQueue    = "status"
	TelemetryQueue = "telemetry"
)

// DispatchQueue names the durable queue holding DispatchKey(device).
func DispatchQueue(device string) string { return "device." + Word(device) }

// DeviceQueue is the device's durable dispatch queue: DispatchQueue bound
// to DispatchKey. The server declares it, the device consumes it.
func DeviceQueue(device string) Queue {
	return Queue{Name: DispatchQueue(device), Pattern: DispatchKey(device)}
}
