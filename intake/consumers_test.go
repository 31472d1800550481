package intake_test

import (
	"testing"
	"time"

	"github.com/runlet/runlet/bus"
	busconnect "github.com/runlet/runlet/bus/connect"
	"github.com/runlet/runlet/intake"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/wire"
)

// TestPresenceFromQueueConsumers: on RabbitMQ, which cannot list its
// connections to the server, a device whose daemon goes away (killed: its
// connection closes) is offline at the next sweep, because its dispatch
// queue has no consumer left, however fresh its last heartbeat; the clock
// never moves past the heartbeat's interval.
func TestPresenceFromQueueConsumers(t *testing.T) {
	url := testenv.RabbitMQ(t)
	e := newEnv(t)
	srv, err := busconnect.Open(e.ctx, url, bus.Options{Name: "runlet-server", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	if _, ok := srv.(bus.ConsumerCounter); !ok {
		t.Fatalf("the AMQP bus %T counts no consumers", srv)
	}
	e.bus = srv
	in, err := intake.New(intake.Config{Store: e.db, Bus: srv, SweepInterval: 10 * time.Millisecond, Now: e.clock.Now, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(in.Close)
	if err := in.Start(e.ctx); err != nil {
		t.Fatal(err)
	}
	events := e.events(t, e.ws)
	isPi := func(online bool) func(wire.Event) bool {
		return func(ev wire.Event) bool {
			return ev.Type == wire.EventDevice && ev.Device == "pi" && ev.Online != nil && *ev.Online == online
		}
	}

	// pi's daemon: its own connection, consuming its dispatch queue.
	daemon, err := busconnect.Open(e.ctx, url, bus.Options{Name: "pi", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer daemon.Close()
	if _, err := daemon.Consume(e.ctx, e.ws, bus.DeviceQueue("pi"), func(d bus.Delivery) { _ = d.Ack() }); err != nil {
		t.Fatal(err)
	}
	publish(t, e, false, bus.HeartbeatKey("pi"), wire.Heartbeat{Interval: 5 * time.Minute})
	nextEvent(t, events, "pi online", isPi(true))
	e.clock.Add(time.Second) // later sweeps are newer than the heartbeat
	// Still online over several sweeps while its daemon consumes.
	for range 5 {
		e.clock.Add(time.Millisecond)
		if _, ok := in.Presence(e.ws, "pi"); !ok {
			t.Fatal("pi offline while its daemon consumes its queue")
		}
	}
	daemon.Close() // the connection closes, as a killed daemon's does
	nextEvent(t, events, "pi offline once its queue has no consumer", isPi(false))
	if _, ok := in.Presence(e.ws, "pi"); ok {
		t.Error("pi online after its daemon's connection closed")
	}
}
