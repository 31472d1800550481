package viewer_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/bus/connect"
	"github.com/runlet/runlet/bus/nats/embedded"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/wire"
)

const workspace = "ws0123456789"

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// startNATS runs an embedded NATS server for one test and returns its URL.
func startNATS(t *testing.T) string {
	t.Helper()
	srv, err := embedded.Start(embedded.Config{Dir: t.TempDir(), Addr: "127.0.0.1:0", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	return srv.URL()
}

// brokers are the bus adapters a viewer must work on.
var brokers = []struct {
	name  string
	start func(*testing.T) string
}{
	{"nats", startNATS},
	{"rabbitmq", func(t *testing.T) string { return testenv.RabbitMQ(t) }},
}

// eachBroker runs test once per broker, as a subtest.
func eachBroker(t *testing.T, test func(t *testing.T, url string)) {
	for _, b := range brokers {
		t.Run(b.name, func(t *testing.T) { test(t, b.start(t)) })
	}
}

// openBus connects one participant (device or viewer) to the broker.
func openBus(t *testing.T, url string) bus.Bus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := connect.Open(ctx, url, bus.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// device plays the daemon's part for one execution: it keeps every frame it
// produced (its log), publishes live frames as the test says (losing and
// reordering some on purpose), and answers replay requests from its log.
type device struct {
	t             *testing.T
	b             bus.Bus
	exec, name    string
	ignoreReplays atomic.Int32 // replay requests to leave unanswered: the device is away
	replaysAsked  chan wire.Control
	controls      chan wire.Control // every control but replay
	inputs        chan bus.Message
	mu            sync.Mutex
	frames        []wire.Frame
	finished      bool
	// encrypted: the device kept only the encrypted log of the ended
	// execution, so its replays send no frame and the encrypted end marker.
	encrypted bool
}

func startDevice(t *testing.T, url, exec, name string) *device {
	t.Helper()
	d := &device{
		t: t, b: openBus(t, url), exec: exec, name: name,
		replaysAsked: make(chan wire.Control, 100),
		controls:     make(chan wire.Control, 100),
		inputs:       make(chan bus.Message, 100),
	}
	ctx := context.Background()
	if _, err := d.b.Subscribe(ctx, workspace, bus.ControlKey(exec, name), d.onControl); err != nil {
		t.Fatal(err)
	}
	if _, err := d.b.Subscribe(ctx, workspace, bus.InputKey(exec, name), func(m bus.Message) { d.inputs <- m }); err != nil {
		t.Fatal(err)
	}
	return d
}

func (d *device) onControl(m bus.Message) {
	var c wire.Control
	if err := wire.Decode(m.Body, &c); err != nil {
		d.t.Errorf("device got a malformed control: %v", err)
		return
	}
	if c.Op != wire.OpReplay {
		d.controls <- c
		return
	}
	if d.ignoreReplays.Add(-1) >= 0 {
		d.replaysAsked <- c
		return
	}
	d.replay(c)
	d.replaysAsked <- c
}

// replay sends the frames from c.From to the viewer, then the marker that
// says whether the execution is over.
func (d *device) replay(c wire.Control) {
	d.mu.Lock()
	frames := append([]wire.Frame(nil), d.frames...)
	finished, encrypted := d.finished, d.encrypted
	d.mu.Unlock()
	key := bus.ReplayKey(d.exec, d.name, c.Viewer)
	if finished && encrypted {
		d.publish(wire.EncryptedEndMessage(key, uint64(len(frames))))
		return
	}
	for _, f := range frames {
		if f.Seq >= c.From {
			d.publish(wire.FrameMessage(key, f))
		}
	}
	if finished {
		d.publish(wire.EndMessage(key, uint64(len(frames))))
	} else {
		d.publish(wire.ReplayedMessage(key, uint64(len(frames))))
	}
}

// produce adds n frames to the log without publishing them.
func (d *device) produce(n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for range n {
		seq := uint64(len(d.frames) + 1)
		d.frames = append(d.frames, wire.Frame{Seq: seq, Time: time.Now(), Data: fmt.Appendf(nil, "%s frame %03d\n", d.name, seq)})
	}
}

// publishLive publishes the frames of the given sequence numbers, in that
// order, on the live output key.
func (d *device) publishLive(seqs []uint64) {
	d.mu.Lock()
	frames := d.frames
	d.mu.Unlock()
	for _, seq := range seqs {
		d.publish(wire.FrameMessage(bus.OutputKey(d.exec, d.name), frames[seq-1]))
	}
}

// finish ends the execution; the live end marker is published when liveEnd.
func (d *device) finish(liveEnd bool) {
	d.mu.Lock()
	d.finished = true
	last := uint64(len(d.frames))
	d.mu.Unlock()
	if liveEnd {
		d.publish(wire.EndMessage(bus.OutputKey(d.exec, d.name), last))
	}
}

// output is every byte the device produced, in order.
func (d *device) output() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var s []byte
	for _, f := range d.frames {
		s = append(s, f.Data...)
	}
	return string(s)
}

func (d *device) publish(m bus.Message) {
	if err := d.b.Publish(context.Background(), workspace, m); err != nil {
		d.t.Errorf("device publish %s: %v", m.Key, err)
	}
}

// waitReplays waits until n replay requests have reached the device.
func (d *device) waitReplays(t *testing.T, n int) []wire.Control {
	t.Helper()
	var got []wire.Control
	for len(got) < n {
		select {
		case c := <-d.replaysAsked:
			got = append(got, c)
		case <-time.After(30 * time.Second):
			t.Fatalf("the device got %d replay requests, want %d", len(got), n)
		}
	}
	return got
}
