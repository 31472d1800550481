package intake_test

import (
	"context"
	"errors"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/intake"
	"github.com/runlet/runlet/wire"
)

// brokerList is what Config.Connections answers, as the test sets it.
type brokerList struct {
	mu    sync.Mutex
	conns map[string]map[string]bool
	err   error
}

func (l *brokerList) set(conns map[string]map[string]bool, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.conns, l.err = conns, err
}

func (l *brokerList) Connections(context.Context) (map[string]map[string]bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]map[string]bool{}
	for ws, m := range l.conns {
		out[ws] = maps.Clone(m)
	}
	return out, l.err
}

// TestPresenceFromTheBroker: where the broker lists its connections, a
// device whose daemon is no longer connected is offline at the next sweep,
// however fresh its last heartbeat (a daemon killed); it is online again
// when its connection comes back while that heartbeat is still fresh (a
// broker restart), and heartbeats alone decide while the broker cannot
// answer. The clock never moves past the heartbeat's interval: only the
// broker's word makes the device offline.
func TestPresenceFromTheBroker(t *testing.T) {
	e := newEnv(t)
	var list brokerList
	list.set(map[string]map[string]bool{e.ws: {"pi": true}}, nil)
	in, err := intake.New(intake.Config{Store: e.db, Bus: e.bus, SweepInterval: 5 * time.Millisecond, Now: e.clock.Now, Logger: quiet,
		Connections: list.Connections})
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
	online := func() bool { _, ok := in.Presence(e.ws, "pi"); return ok }

	publish(t, e, false, bus.HeartbeatKey("pi"), wire.Heartbeat{Interval: 5 * time.Minute})
	nextEvent(t, events, "pi online", isPi(true))
	e.clock.Add(time.Second) // the next lists are newer than the heartbeat

	list.set(map[string]map[string]bool{e.ws: {"mac": true}}, nil)
	nextEvent(t, events, "pi offline once the broker no longer lists it", isPi(false))
	if online() {
		t.Error("pi online after the broker dropped its connection")
	}

	list.set(map[string]map[string]bool{e.ws: {"pi": true}}, nil)
	nextEvent(t, events, "pi online again when its connection is back", isPi(true))
	if !online() {
		t.Error("pi offline while connected, its last heartbeat a second old")
	}

	list.set(nil, errors.New("the broker is busy"))
	e.clock.Add(time.Second)
	list.set(map[string]map[string]bool{}, errors.New("the broker is busy"))
	// No list: the heartbeat, 2 s old of its 15 minutes, keeps pi online.
	e.clock.Add(3*5*time.Minute - 2*time.Second - time.Millisecond)
	if !online() {
		t.Error("pi offline while the broker cannot tell and its heartbeat is fresh")
	}
	e.clock.Add(time.Millisecond)
	nextEvent(t, events, "pi offline three intervals after its heartbeat", isPi(false))
}

// TestPresenceAfterARestart: a server that starts takes the devices the
// store saw within three of the daemon's heartbeat intervals (5 minutes)
// as online, as a heartbeat would have; where the broker lists its
// connections, one it does not list goes offline at the first sweep.
func TestPresenceAfterARestart(t *testing.T) {
	e := newEnv(t)
	now := e.clock.Now()
	for name, ago := range map[string]time.Duration{"pi": time.Minute, "mac": 15 * time.Minute} {
		d, err := e.db.DeviceByName(e.ctx, e.ws, name)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.db.TouchDevice(e.ctx, e.ws, d.ID, now.Add(-ago)); err != nil {
			t.Fatal(err)
		}
	}
	in := e.intake(t, time.Hour) // no sweep
	if err := in.Start(e.ctx); err != nil {
		t.Fatal(err)
	}
	if _, online := in.Presence(e.ws, "pi"); !online {
		t.Error("pi, seen a minute ago, offline after a restart")
	}
	if _, online := in.Presence(e.ws, "mac"); online {
		t.Error("mac, seen 15 minutes ago, online after a restart")
	}

	var list brokerList
	list.set(map[string]map[string]bool{e.ws: {"mac": true}}, nil)
	in2, err := intake.New(intake.Config{Store: e.db, Bus: e.bus, SweepInterval: 5 * time.Millisecond, Now: e.clock.Now, Logger: quiet,
		Connections: list.Connections})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(in2.Close)
	events := e.events(t, e.ws)
	if err := in2.Start(e.ctx); err != nil {
		t.Fatal(err)
	}
	nextEvent(t, events, "pi offline: the broker does not list it", func(ev wire.Event) bool {
		return ev.Type == wire.EventDevice && ev.Device == "pi" && ev.Online != nil && !*ev.Online
	})
	if _, online := in2.Presence(e.ws, "pi"); online {
		t.Error("pi online while the broker does not list it")
	}
}
