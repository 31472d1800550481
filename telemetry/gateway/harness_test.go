package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runlet/runlet/bus"
	natsbus "github.com/runlet/runlet/bus/nats"
	"github.com/runlet/runlet/bus/nats/embedded"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/telemetry/batch"
	"github.com/runlet/runlet/telemetry/gateway"
	"github.com/runlet/runlet/telemetry/spool"
)

// patience bounds every wait for an event: the machine may be loaded.
const patience = 60 * time.Second

const (
	serverPassword = "pw-server"
	device         = "pi-1"
)

func quiet() *slog.Logger {
	if testing.Verbose() && os.Getenv("RUNLET_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// broker is an embedded NATS server that knows a server principal and
// the devices of one workspace ("dev-NAME", "pw-NAME"), with the
// workspace's telemetry queue declared.
type broker struct {
	t  testing.TB
	ws string

	mu  sync.Mutex
	s   *embedded.Server
	cfg embedded.Config
}

func startBroker(t testing.TB) *broker {
	t.Helper()
	b := &broker{t: t, ws: testenv.RandomName("ws")}
	s, err := embedded.Start(embedded.Config{Dir: t.TempDir(), Addr: "127.0.0.1:0", Logger: quiet(), Authenticator: b.authenticate})
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

// open connects as user (with password pw) and closes the bus at the
// end of the test.
func (b *broker) open(user, pw string) bus.Bus {
	b.t.Helper()
	b.mu.Lock()
	raw := b.s.URL()
	b.mu.Unlock()
	u, err := bus.WithCredentials(raw, user, pw)
	if err != nil {
		b.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	nb, err := natsbus.Open(ctx, u, bus.Options{Name: user, Logger: quiet(), ReconnectWait: 50 * time.Millisecond, MaxReconnectWait: 500 * time.Millisecond})
	if err != nil {
		b.t.Fatal(err)
	}
	b.t.Cleanup(func() { _ = nb.Close() })
	return nb
}

func (b *broker) device(name string) bus.Bus { return b.open("dev-"+name, "pw-"+name) }

// server is the test's stand-in for the server's telemetry consumer: it
// collects every batch of the workspace's telemetry queue.
type server struct {
	t   testing.TB
	mu  sync.Mutex
	got []received
	ids map[string]int // batch message ids seen, and how often
}

// received is one reading as the server got it.
type received struct {
	Device string
	Seq    uint64
	Sensor int64
	Temp   float64
	Secret string
	Key    bus.Key
}

func (b *broker) server() *server {
	b.t.Helper()
	nb := b.open("server", serverPassword)
	s := &server{t: b.t, ids: map[string]int{}}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	q := bus.Queue{Name: bus.TelemetryQueue, Pattern: bus.AllTelemetry}
	if err := nb.DeclareQueue(ctx, b.ws, q); err != nil {
		b.t.Fatal(err)
	}
	sub, err := nb.Consume(context.Background(), b.ws, q, s.onBatch)
	if err != nil {
		b.t.Fatal(err)
	}
	b.t.Cleanup(func() { _ = sub.Close() })
	return s
}

func (s *server) onBatch(d bus.Delivery) {
	bt, err := batch.Decode(d.Body)
	if err != nil {
		s.t.Errorf("a telemetry message that is no batch: %v", err)
		_ = d.Ack()
		return
	}
	dev, _ := bus.ParseTelemetryKey(d.Key)
	s.mu.Lock()
	s.ids[d.ID]++
	for _, r := range bt.Readings {
		temp, _ := r.Value("temp")
		s.got = append(s.got, received{Device: dev, Seq: r.Seq, Sensor: r.Sensor, Temp: temp, Secret: bt.Secrets[r.Sensor], Key: d.Key})
	}
	s.mu.Unlock()
	_ = d.Ack()
}

func (s *server) readings() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.got...)
}

// waitFor waits until the server holds n readings.
func (s *server) waitFor(n int) []received {
	s.t.Helper()
	testenv.Eventually(s.t, fmt.Sprintf("%d readings at the server", n), patience, func() bool { return len(s.readings()) >= n })
	return s.readings()
}

// openSpool opens the spool in dir and closes it at the end of the test
// (closing twice is harmless).
func openSpool(t testing.TB, dir string) *spool.Spool {
	t.Helper()
	sp, err := spool.Open(dir, spool.Options{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sp.Close() })
	return sp
}

// newGateway is a gateway on sp, sending as device over b (nil: no
// sender).
func newGateway(t testing.TB, sp *spool.Spool, b bus.Bus, ws string) *gateway.Gateway {
	t.Helper()
	g, err := gateway.New(gateway.Config{Spool: sp, Bus: b, Workspace: ws, Device: device, Logger: quiet(),
		BatchTime: 20 * time.Millisecond, RetryFirst: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// run starts g's sender; stop ends it and waits.
func run(t testing.TB, g *gateway.Gateway) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("the sender: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// post sends body to the gateway's endpoint and returns the status and
// the answer.
func post(t testing.TB, h http.Handler, body string) (int, gateway.Answer, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/readings", strings.NewReader(body)))
	var a gateway.Answer
	raw := rec.Body.String()
	_ = json.NewDecoder(bytes.NewReader(rec.Body.Bytes())).Decode(&a)
	return rec.Code, a, raw
}

// msg is a seed message of sensor id with temperature temp.
func msg(id int64, secret string, temp float64) string {
	return fmt.Sprintf(`{"device":{"id":%d,"auth":%q},"reading":{"temp":%g,"batt":80,"time":%d}}`, id, secret, temp, time.Now().Unix())
}

// ndjson is n messages of sensor id, temperatures from first on.
func ndjson(id int64, first, n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(msg(id, "s3cret", float64(first+i)))
		b.WriteByte('\n')
	}
	return b.String()
}
