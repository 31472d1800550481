package bustest

import (
	"context"
	"testing"

	"github.com/runlet/runlet/bus"
)

// Devices are the device names Harness.OpenDevice is asked for.
var Devices = []string{"pi-a", "pi-b"}

// deviceQueues are the queues the device cases declare, as a server of
// the workspace: the devices' dispatch queues and the status queue.
var deviceQueues = []bus.Queue{
	{Name: bus.DispatchQueue("pi-a"), Pattern: bus.DispatchKey("pi-a")},
	{Name: bus.DispatchQueue("pi-b"), Pattern: bus.DispatchKey("pi-b")},
	{Name: bus.StatusQueue, Pattern: bus.AllStatus},
	{Name: bus.TelemetryQueue, Pattern: bus.AllTelemetry},
}

// testDevicePolicy runs the probe of issue 11: device pi-b, and a device of
// another workspace, try what bus.PolicyFor refuses them against device
// pi-a (holes 1 to 6), and everything is refused or has no effect, while
// what a device and a viewer may do still works.
func testDevicePolicy(t *testing.T, h Harness) {
	if h.OpenDevice == nil {
		t.Skip("this harness has no device principals: " + h.NoIsolation)
	}
	ws, other := h.Workspace(t), h.Workspace(t)
	srv := h.Open(t, ws)
	for _, q := range deviceQueues {
		q.AckWait = h.AckWait
		declare(t, srv, ws, q)
	}
	a, b := h.OpenDevice(t, ws, "pi-a"), h.OpenDevice(t, ws, "pi-b")
	c := h.OpenDevice(t, other, "pi-b") // the same name, another workspace
	dispatchA := deviceQueues[0]
	dispatchA.AckWait = h.AckWait
	const exec = "e1"

	// What the attackers listen to: every pattern they might try, each
	// refused or, where the broker refuses asynchronously, silent.
	spy := newRecorder()
	for _, p := range []bus.Key{"#", "device.#", "device.*.dispatch.v1", bus.DispatchKey("pi-a"), "job.#", "job." + bus.Key(exec) + ".#",
		bus.InputKey(exec, "pi-a"), bus.InputPatternForDevice("pi-a"), bus.AllInput, bus.ControlPatternForDevice("pi-a"),
		// Telemetry is write-only for devices (the seed's gateway), and
		// the server's authenticated readings are the server's.
		"telemetry.#", bus.AllTelemetry, bus.TelemetryKey("pi-a"), bus.TelemetryKey("pi-b"), "readings.#", bus.AllReadings, bus.ReadingsKey("pi-a")} {
		trySubscribe(t, b, ws, p, spy, "device pi-b subscribes to "+string(p))
		trySubscribe(t, c, ws, p, spy, "a device of another workspace subscribes to "+string(p))
	}
	tryConsume(t, b, ws, dispatchA, spy, "device pi-b consumes pi-a's dispatch queue")
	tryConsume(t, c, ws, dispatchA, spy, "a device of another workspace consumes pi-a's dispatch queue")
	telemetryQ := deviceQueues[3]
	telemetryQ.AckWait = h.AckWait
	tryConsume(t, b, ws, telemetryQ, spy, "device pi-b consumes the telemetry queue")

	// What the device and its viewers legitimately receive.
	aDispatch, aInput, aControl := newRecorder(), newRecorder(), newRecorder()
	consume(t, a, ws, dispatchA, aDispatch.AckDeliver(t))
	subscribe(t, a, ws, bus.InputPatternForDevice("pi-a"), aInput)
	subscribe(t, a, ws, bus.ControlPatternForDevice("pi-a"), aControl)
	status, beats, output := newRecorder(), newRecorder(), newRecorder()
	statusQ := deviceQueues[2]
	statusQ.AckWait = h.AckWait
	consume(t, srv, ws, statusQ, status.AckDeliver(t))
	telemetry := newRecorder()
	consume(t, srv, ws, telemetryQ, telemetry.AckDeliver(t))
	subscribe(t, srv, ws, bus.AllHeartbeats, beats)
	viewer := newRecorder() // pi-b as a viewer of pi-a's job: allowed
	subscribe(t, b, ws, bus.OutputKey(exec, "pi-a"), viewer)
	subscribe(t, srv, ws, bus.OutputKey(exec, "pi-a"), output)
	subscribe(t, srv, ws, bus.ReplayKey(exec, "pi-a", "v"), output)

	// The forgeries: 1 dispatch, 3 status, 4 output, 6 heartbeat.
	for _, f := range []struct {
		what    string
		m       bus.Message
		durable bool
	}{
		{"publishes a dispatch into pi-a's queue", msg(bus.DispatchKey("pi-a"), "forged-dispatch"), true},
		{"publishes a transient dispatch to pi-a", msg(bus.DispatchKey("pi-a"), "forged-dispatch-t"), false},
		{"publishes pi-a's status", msg(bus.StatusKey(exec, "pi-a"), "forged-status"), true},
		{"publishes pi-a's output", msg(bus.OutputKey(exec, "pi-a"), "forged-output"), false},
		{"publishes a replay of pi-a's output", msg(bus.ReplayKey(exec, "pi-a", "v"), "forged-replay"), false},
		{"publishes pi-a's heartbeat", msg(bus.HeartbeatKey("pi-a"), "forged-heartbeat"), false},
		{"publishes pi-a's telemetry", msg(bus.TelemetryKey("pi-a"), "forged-telemetry"), true},
		{"publishes authenticated readings", msg(bus.ReadingsKey("pi-a"), "forged-readings"), false},
	} {
		for _, who := range []struct {
			name string
			b    bus.Bus
		}{{"device pi-b", b}, {"a device of another workspace", c}} {
			m := f.m
			m.ID += "-" + who.name[:8]
			tryPublish(t, who.b, ws, m, f.durable, who.name+" "+f.what)
		}
	}
	settle(t, b, ws)
	settle(t, c, other)

	// The real traffic, after the forgeries.
	publishDurable(t, srv, ws, bus.Message{ID: "real-dispatch", Key: bus.DispatchKey("pi-a"), Body: []byte("DB_PASSWORD=secret")})
	publishDurable(t, a, ws, msg(bus.StatusKey(exec, "pi-a"), "real-status-a"))
	publishDurable(t, b, ws, msg(bus.StatusKey(exec, "pi-b"), "real-status-b"))
	publish(t, a, ws, msg(bus.OutputKey(exec, "pi-a"), "real-output"))
	publish(t, b, ws, msg(bus.HeartbeatKey("pi-b"), "real-heartbeat"))
	publish(t, b, ws, msg(bus.InputKey(exec, "pi-a"), "typed-password")) // 5: a viewer types
	publish(t, b, ws, msg(bus.ControlKey(exec, "pi-a"), "viewer-stop"))
	publish(t, srv, ws, msg(bus.EventKey, "mark"))
	publishDurable(t, a, ws, msg(bus.TelemetryKey("pi-a"), "real-telemetry"))

	aDispatch.waitID(t, "real-dispatch")
	status.waitUntil(t, "both real statuses", func(ms []bus.Message) bool {
		return hasID(ms, "real-status-a") && hasID(ms, "real-status-b")
	})
	output.waitID(t, "real-output")
	viewer.waitID(t, "real-output")
	beats.waitID(t, "real-heartbeat")
	aInput.waitID(t, "typed-password")
	aControl.waitID(t, "viewer-stop")
	telemetry.waitID(t, "real-telemetry")

	for name, r := range map[string]*recorder{"pi-a's dispatch queue": aDispatch, "the status queue": status,
		"pi-a's viewers": output, "the heartbeats": beats, "pi-b as a viewer": viewer, "the telemetry queue": telemetry} {
		for _, m := range r.Messages() {
			if len(m.ID) > 7 && m.ID[:7] == "forged-" {
				t.Errorf("%s got the forgery %s", name, m.ID)
			}
		}
	}
	for _, m := range spy.Messages() {
		t.Errorf("an attacker's subscription received %s (%s)", m.ID, m.Key)
	}
}

// trySubscribe subscribes with a principal that must be refused: an error
// must wrap bus.ErrForbidden; a nil one routes to spy, which must stay
// empty.
func trySubscribe(t testing.TB, b bus.Bus, ws string, p bus.Key, spy *recorder, what string) {
	t.Helper()
	s, err := b.Subscribe(ctx(t), ws, p, spy.Handle)
	if !forbiddenOrNil(t, what, err) {
		t.Cleanup(func() { _ = s.Close() })
	}
}

func tryConsume(t testing.TB, b bus.Bus, ws string, q bus.Queue, spy *recorder, what string) {
	t.Helper()
	s, err := b.Consume(ctx(t), ws, q, spy.Deliver)
	if !forbiddenOrNil(t, what, err) {
		t.Cleanup(func() { _ = s.Close() })
	}
}

func tryPublish(t testing.TB, b bus.Bus, ws string, m bus.Message, durable bool, what string) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx(t), Wait)
	defer cancel()
	var err error
	if durable {
		err = b.PublishDurable(c, ws, m)
	} else {
		err = b.Publish(c, ws, m)
	}
	forbiddenOrNil(t, what, err)
}

// settle waits until the broker has processed what b sent so far: an
// allowed subscription returns only once the broker has it, after
// everything b sent before.
func settle(t testing.TB, b bus.Bus, ws string) {
	t.Helper()
	s, err := b.Subscribe(ctx(t), ws, bus.EventKey, func(bus.Message) {})
	if err != nil {
		t.Fatalf("subscribe to events (allowed): %v", err)
	}
	_ = s.Close()
}
