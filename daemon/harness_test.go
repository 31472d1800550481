//go:build !windows

// The jobs of these tests are POSIX shell scripts (stty, read -p, trap).

package daemon_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/bus/connect"
	natsbus "github.com/runlet/runlet/bus/nats"
	"github.com/runlet/runlet/bus/nats/embedded"
	"github.com/runlet/runlet/daemon"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/wire"
)

// patience bounds every wait for an event (testenv.Eventually): the
// machine may be loaded.
const patience = 30 * time.Second

// shortWait bounds the wait for the answer to a request that a test
// repeats until it is answered (testenv.Poll).
const shortWait = time.Second

func quiet() *slog.Logger {
	if testing.Verbose() && os.Getenv("RUNLET_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// broker is an embedded NATS server whose Authenticator knows a server
// principal and the devices of one workspace ("dev-NAME", "pw-NAME").
type broker struct {
	t   testing.TB
	ws  string
	api *apiStub // the server's HTTP API, which the daemons ask (api_test.go)

	mu  sync.Mutex
	s   *embedded.Server
	cfg embedded.Config // of the stopped server
}

const serverPassword = "pw-server"

func startBroker(t testing.TB) *broker {
	t.Helper()
	b := &broker{t: t, ws: testenv.RandomName("ws"), api: startAPI(t)}
	s, err := embedded.Start(embedded.Config{
		Dir:           t.TempDir(),
		Addr:          "127.0.0.1:0",
		Logger:        quiet(),
		Authenticator: b.authenticate,
	})
	if err != nil {
		t.Fatal(err)
	}
	b.s = s
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.s != nil {
			b.s.Shutdown()
		}
	})
	return b
}

func (b *broker) authenticate(user, password string) (bus.Principal, error) {
	if user == "server" && password == serverPassword {
		return bus.Principal{Role: bus.RoleServer}, nil
	}
	if name, ok := strings.CutPrefix(user, "dev-"); ok && password == "pw-"+name {
		return bus.Principal{Role: bus.RoleDevice, Workspace: b.ws, Device: name}, nil
	}
	return bus.Principal{}, errors.New("unknown user or wrong password")
}

func (b *broker) url() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.s == nil {
		return "nats://" + b.cfg.Addr
	}
	return b.s.URL()
}

// restart stops the server and starts it again on the same store and port.
func (b *broker) restart() {
	b.t.Helper()
	b.stop()
	b.start()
}

// stop shuts the server down; start brings it back.
func (b *broker) stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cfg = b.s.Config()
	b.s.Shutdown()
	b.s = nil
}

func (b *broker) start() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	s, err := embedded.Start(b.cfg)
	if err != nil {
		b.t.Fatalf("start the broker again on the same store: %v", err)
	}
	b.s = s
}

// credentials of device name, as sign-in would have saved them.
func (b *broker) credentials(name string) *home.Credentials {
	return &home.Credentials{
		Server:         b.api.srv.URL,
		Workspace:      b.ws,
		WorkspaceName:  "default",
		Device:         name,
		DeviceID:       "dev-" + name,
		Broker:         b.url(),
		BrokerUser:     "dev-" + name,
		BrokerPassword: "pw-" + name,
	}
}

// server is the test's stand-in for the runlet server: it declares the
// queues, dispatches, and collects statuses.
type server struct {
	t   testing.TB
	ws  string
	bus bus.Bus

	mu       sync.Mutex
	statuses map[string][]wire.Status
	arrived  chan struct{} // closed and replaced when a status arrives
}

func newServer(t testing.TB, b *broker, devices ...string) *server {
	t.Helper()
	u, err := bus.WithCredentials(b.url(), "server", serverPassword)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	nb, err := natsbus.Open(ctx, u, bus.Options{Name: "test-server", Logger: quiet(),
		ReconnectWait: 50 * time.Millisecond, MaxReconnectWait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nb.Close() })
	return newServerOn(t, nb, b.ws, devices...)
}

// newServerOn is the test server on any bus, in workspace ws.
func newServerOn(t testing.TB, b bus.Bus, ws string, devices ...string) *server {
	t.Helper()
	s := &server{t: t, ws: ws, bus: b, statuses: map[string][]wire.Status{}, arrived: make(chan struct{})}
	for _, d := range devices {
		s.declareDevice(d)
	}
	// The subscriptions live until the cleanup closes them, not as long
	// as the context of the call.
	sub, err := b.Consume(context.Background(), ws, bus.Queue{Name: bus.StatusQueue, Pattern: bus.AllStatus}, s.onStatus)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Close() })
	return s
}

func (s *server) declareDevice(device string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	q := bus.Queue{Name: bus.DispatchQueue(device), Pattern: bus.DispatchKey(device)}
	if err := s.bus.DeclareQueue(ctx, s.ws, q); err != nil {
		s.t.Fatal(err)
	}
}

func (s *server) onStatus(d bus.Delivery) {
	var st wire.Status
	if err := wire.Decode(d.Body, &st); err != nil {
		s.t.Errorf("malformed status on %s: %v", d.Key, err)
	} else if want := bus.StatusKey(st.ID, st.Device); d.Key != want || d.ID != st.ID+"/"+st.Device+"/"+string(st.Status) {
		s.t.Errorf("status %s of %s came with key %s and id %s", st.Status, st.ID, d.Key, d.ID)
	}
	s.mu.Lock()
	s.statuses[st.ID] = append(s.statuses[st.ID], st)
	close(s.arrived)
	s.arrived = make(chan struct{})
	s.mu.Unlock()
	_ = d.Ack()
}

// dispatch publishes an execution of script to device and returns its id.
func (s *server) dispatch(device, script string, edit ...func(*wire.Dispatch, *bus.Message)) string {
	s.t.Helper()
	d := wire.Dispatch{
		Execution: testenv.RandomName("x"),
		Job:       "test",
		Client:    "tester",
		Script:    script,
		Created:   time.Now(),
		Expires:   time.Now().Add(time.Hour),
	}
	m := bus.Message{Key: bus.DispatchKey(device), ExpiresAt: d.Expires}
	for _, f := range edit {
		f(&d, &m)
	}
	if m.Body == nil {
		body, err := wire.Encode(d)
		if err != nil {
			s.t.Fatal(err)
		}
		m.Body = body
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := s.bus.PublishDurable(ctx, s.ws, m); err != nil {
		s.t.Fatal(err)
	}
	return d.Execution
}

// history is every status of exec received so far, in order.
func (s *server) history(exec string) []wire.Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]wire.Status(nil), s.statuses[exec]...)
}

// waitStatus waits for a status of exec that is want, and returns it.
func (s *server) waitStatus(exec string, want runlet.Status) wire.Status {
	s.t.Helper()
	deadline := time.After(patience)
	for {
		s.mu.Lock()
		arrived := s.arrived
		for _, st := range s.statuses[exec] {
			if st.Status == want {
				s.mu.Unlock()
				return st
			}
		}
		s.mu.Unlock()
		select {
		case <-arrived:
		case <-deadline:
			s.t.Fatalf("waited %s for status %s of %s; got %s", patience, want, exec, statusSeq(s.history(exec)))
		}
	}
}

// control sends a control request for exec on device.
func (s *server) control(exec, device string, c wire.Control) {
	s.t.Helper()
	m, err := wire.ControlMessage(bus.ControlKey(exec, device), c)
	if err != nil {
		s.t.Fatal(err)
	}
	s.publish(m)
}

func (s *server) publish(m bus.Message) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := s.bus.Publish(ctx, s.ws, m); err != nil {
		s.t.Fatal(err)
	}
}

// output collects the frames and the end marker arriving on one key pattern.
type output struct {
	t      testing.TB
	mu     sync.Mutex
	frames []wire.Frame
	end    bool
	last   uint64
	marker *uint64 // the replayed marker's last seq
}

func (s *server) watch(pattern bus.Key) *output {
	s.t.Helper()
	o := &output{t: s.t}
	sub, err := s.bus.Subscribe(context.Background(), s.ws, pattern, o.add)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { _ = sub.Close() })
	return o
}

func (o *output) add(m bus.Message) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if last, ok := wire.ParseReplayed(m); ok {
		o.marker = &last
		return
	}
	f, end, last, err := wire.ParseOutput(m)
	switch {
	case err != nil:
		o.t.Errorf("malformed output on %s: %v", m.Key, err)
	case end:
		o.end, o.last = true, last
	default:
		o.frames = append(o.frames, f)
	}
}

// text is the output so far, frames deduplicated by seq in order.
func (o *output) text() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var b bytes.Buffer
	seen := map[uint64]bool{}
	for _, f := range o.frames {
		if !seen[f.Seq] {
			seen[f.Seq] = true
			b.Write(f.Data)
		}
	}
	return b.String()
}

func (o *output) waitText(sub string) {
	o.t.Helper()
	testenv.Eventually(o.t, fmt.Sprintf("output %q", sub), patience, func() bool { return strings.Contains(o.text(), sub) })
}

// waitEnd waits for the end marker and returns the frames received, which
// must be 1..last in order.
func (o *output) waitEnd() []wire.Frame {
	o.t.Helper()
	testenv.Eventually(o.t, "the end of the output", patience, func() bool {
		o.mu.Lock()
		defer o.mu.Unlock()
		return o.end
	})
	o.mu.Lock()
	defer o.mu.Unlock()
	for i, f := range o.frames {
		if f.Seq != uint64(i+1) {
			o.t.Fatalf("frame %d has seq %d; frames must come in order without gaps", i+1, f.Seq)
		}
	}
	if uint64(len(o.frames)) != o.last {
		o.t.Fatalf("the end marker says %d frames; %d arrived", o.last, len(o.frames))
	}
	return append([]wire.Frame(nil), o.frames...)
}

func joined(fs []wire.Frame) string {
	var b bytes.Buffer
	for _, f := range fs {
		b.Write(f.Data)
	}
	return b.String()
}

// runDaemon runs a daemon for device in dir until the test ends (or stop
// is called) and returns its stop function.
func runDaemon(t testing.TB, b *broker, dir home.Dir, device string, edit ...func(*daemon.Config)) (stop func()) {
	t.Helper()
	return runDaemonWith(t, b.credentials(device), dir, edit...)
}

// runDaemonWith is runDaemon for any credentials.
func runDaemonWith(t testing.TB, creds *home.Credentials, dir home.Dir, edit ...func(*daemon.Config)) (stop func()) {
	t.Helper()
	cfg := daemon.Config{
		Home:              dir,
		Credentials:       creds,
		Parallel:          4,
		HeartbeatInterval: 200 * time.Millisecond,
		StopGrace:         time.Second,
		Logger:            quiet(),
		Version:           "test",
		Dial:              connect.Open,
	}
	for _, f := range edit {
		f(&cfg)
	}
	d, err := daemon.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("daemon Run: %v", err)
				}
			case <-time.After(patience):
				t.Errorf("the daemon has not stopped %s after its context ended", patience)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// statusSeq is the statuses of h in order, for messages.
func statusSeq(h []wire.Status) string {
	var s []string
	for _, st := range h {
		s = append(s, string(st.Status))
	}
	return strings.Join(s, ",")
}
