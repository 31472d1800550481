//go:build !windows

package server_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/bus"
	busconnect "github.com/runlet/runlet/bus/connect"
	"github.com/runlet/runlet/cmd/assemble"
	"github.com/runlet/runlet/daemon"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/server"
	"github.com/runlet/runlet/store"
	"github.com/runlet/runlet/viewer"
	"github.com/runlet/runlet/wire"
)

const rabbitServerPassword = "server-secret-0123"

// startRabbitServer runs a server on PostgreSQL with a RabbitMQ node of
// the test's own whose only auth backend is the server's endpoints. The
// node is stopped after the server (cleanups run last first).
func startRabbitServer(t testing.TB) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	node := testenv.StartRabbitMQNode(t, "http://"+ln.Addr().String()+server.RabbitMQAuthPrefix)
	u, err := url.Parse(node.URL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword("runlet", rabbitServerPassword)
	db := testenv.Postgres(t)
	m, err := url.Parse(node.Management)
	if err != nil {
		t.Fatal(err)
	}
	m.User = u.User
	return startServer(t, func(c *assemble.Config) {
		c.Listener, c.DB, c.Broker, c.AdminPassword = ln, db, u.String(), "admin-password"
		c.RabbitMQManagement = m.String()
	})
}

// amqpBus connects as the device, like its daemon does.
func amqpBus(ctx context.Context, cred *home.Credentials) (bus.Bus, error) {
	u, err := bus.WithCredentials(cred.Broker, cred.BrokerUser, cred.BrokerPassword)
	if err != nil {
		return nil, err
	}
	return busconnect.Open(ctx, u, bus.Options{Name: "test " + cred.Device, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

func mustAMQPBus(t *testing.T, cred *home.Credentials) bus.Bus {
	t.Helper()
	b, err := amqpBus(ctxT(t), cred)
	if err != nil {
		t.Fatalf("connect as %s: %v", cred.Device, err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// runDaemon runs a real daemon with cred until the test ends.
func runDaemon(t *testing.T, cred *home.Credentials) {
	t.Helper()
	d, err := daemon.New(daemon.Config{Home: home.Dir(t.TempDir()), Credentials: cred, Parallel: 2, HeartbeatInterval: 200 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Version: "test", Dial: assemble.Dial})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("daemon: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("the daemon did not stop within 30 s")
		}
	})
}

// TestRabbitMQMainFlow: a real daemon signed in through the API gets its
// own broker credentials, which RabbitMQ checks with the server; a job
// runs, a viewer on another device sees its output, and the store ends
// with its final status.
func TestRabbitMQMainFlow(t *testing.T) {
	s := startRabbitServer(t)
	ctx := ctxT(t)
	pi := s.enroll(t, "pi-1")
	if strings.Contains(pi.Broker, "@") || !strings.HasPrefix(pi.Broker, "amqp://") {
		t.Errorf("broker URL for devices %q: want amqp:// without credentials", pi.Broker)
	}
	runDaemon(t, pi)
	mac := s.enroll(t, "mac")
	macBus := mustAMQPBus(t, mac)
	client := apiclient.New(s.URL(), mac.Token)
	if _, err := client.PutJobs(ctx, []byte("greet:\n  script: echo hello-from-$((40+2))\n"), 0); err != nil {
		t.Fatal(err)
	}
	run, err := client.Run(ctx, api.RunRequest{Job: "greet", Where: "custom", On: []string{"pi-1"}})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	_, err = viewer.Follow(ctx, macBus, mac.Workspace, run.Execution, "pi-1", viewer.RandomID("mac"), func(f wire.Frame) error {
		out.Write(f.Data)
		return nil
	})
	if err != nil {
		t.Fatalf("follow: %v", err)
	}
	if !strings.Contains(out.String(), "hello-from-42") {
		t.Errorf("output at the viewer:\n%s", out.String())
	}
	waitStatus(t, client, run.Execution, "pi-1", runlet.StatusFinished)
	e, err := s.Store.Execution(ctx, pi.Workspace, run.Execution, "pi-1")
	if err != nil || e.Status != runlet.StatusFinished || e.ExitCode != 0 {
		t.Errorf("execution in the store: %+v, %v", e, err)
	}
}

// TestRabbitMQIsolation: what RabbitMQ refuses a device, asking the server.
func TestRabbitMQIsolation(t *testing.T) {
	s := startRabbitServer(t)
	ctx := ctxT(t)
	pi := s.enroll(t, "pi-1")
	mac := s.enroll(t, "mac")
	piBus, macBus := mustAMQPBus(t, pi), mustAMQPBus(t, mac)
	ws := pi.Workspace
	dispatch := bus.Queue{Name: bus.DispatchQueue("pi-1"), Pattern: bus.DispatchKey("pi-1")}
	noop := func(bus.Delivery) {}

	// Within a workspace: pi-1's own queue is its own, not mac's.
	sub, err := piBus.Consume(ctx, ws, dispatch, noop)
	if err != nil {
		t.Fatalf("pi-1 consumes its dispatch queue: %v", err)
	}
	sub.Close()
	if sub, err := piBus.Subscribe(ctx, ws, "job.x.*.io.output.v1", func(bus.Message) {}); err != nil {
		t.Errorf("pi-1 follows output in its workspace: %v", err)
	} else {
		sub.Close()
	}
	if err := piBus.PublishDurable(ctx, ws, bus.Message{Key: bus.StatusKey("x", "pi-1"), Body: []byte("{}")}); err != nil {
		t.Errorf("pi-1 publishes its own status: %v", err)
	}
	forbidden(t, "mac consumes pi-1's dispatch queue", consumeErr(macBus.Consume(ctx, ws, dispatch, noop)))
	forbidden(t, "mac binds to pi-1's dispatch key", consumeErr(macBus.Subscribe(ctx, ws, bus.DispatchKey("pi-1"), func(bus.Message) {})))
	forbidden(t, "mac binds to every key", consumeErr(macBus.Subscribe(ctx, ws, "#", func(bus.Message) {})))
	forbidden(t, "mac publishes a dispatch", macBus.PublishDurable(ctx, ws, bus.Message{Key: bus.DispatchKey("pi-1"), Body: []byte("{}")}))
	forbidden(t, "mac publishes pi-1's status", macBus.PublishDurable(ctx, ws, bus.Message{Key: bus.StatusKey("x", "pi-1"), Body: []byte("{}")}))

	// Workspace B's device may not touch A.
	credB := deviceInNewWorkspace(t, s, pi.Broker)
	busB := mustAMQPBus(t, credB)
	forbidden(t, "B publishes into A", busB.Publish(ctx, ws, bus.Message{Key: bus.ControlKey("x", "pi-1"), Body: []byte(`{"op":"kill"}`)}))
	forbidden(t, "B declares a queue in A", busB.DeclareQueue(ctx, ws, bus.Queue{Name: bus.StatusQueue, Pattern: bus.AllStatus}))
	forbidden(t, "B subscribes to A", consumeErr(busB.Subscribe(ctx, ws, bus.AllHeartbeats, func(bus.Message) {})))
	forbidden(t, "B consumes A's dispatch queue", consumeErr(busB.Consume(ctx, ws, dispatch, noop)))
	if err := busB.Publish(ctx, credB.Workspace, bus.Message{Key: bus.HeartbeatKey(credB.Device), Body: []byte("{}")}); err != nil {
		t.Errorf("B publishes in its own workspace: %v", err)
	}
}

// TestRabbitMQCredentialsRefused: a revoked device, a wrong password and a
// wrong server password are refused at connect.
func TestRabbitMQCredentialsRefused(t *testing.T) {
	s := startRabbitServer(t)
	ctx := ctxT(t)
	old := s.enroll(t, "old")
	oldBus := mustAMQPBus(t, old)
	if err := apiclient.New(s.URL(), old.Token).Signout(ctx); err != nil {
		t.Fatal(err)
	}
	// Connected before the revocation: the server closed the connection
	// (auth.Service.RevokedDevice), its reconnection is refused, and what it asks for
	// fails.
	short, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := oldBus.DeclareQueue(short, old.Workspace, bus.Queue{Name: bus.DispatchQueue("old"), Pattern: bus.DispatchKey("old")}); err == nil {
		t.Errorf("a revoked device declared its queue on the connection it had")
	}
	pi := s.enroll(t, "pi-1")
	wrong := *pi
	wrong.BrokerPassword = "rlt_not-the-token"
	other := *pi
	other.BrokerUser = old.BrokerUser // pi-1's token under another device's ID
	srv := *pi
	srv.BrokerUser, srv.BrokerPassword = "runlet", "not-the-server-password"
	for what, cred := range map[string]*home.Credentials{"revoked device": old, "wrong password": &wrong, "another device's ID": &other, "wrong server password": &srv} {
		b, err := amqpBus(ctx, cred)
		if err == nil {
			b.Close()
		}
		if !errors.Is(err, bus.ErrAuth) {
			t.Errorf("%s: connect gives %v, want %v", what, err, bus.ErrAuth)
		}
	}
	mustAMQPBus(t, pi) // and the right ones still work
}

// deviceInNewWorkspace makes a workspace with one device, in the store
// directly, and returns the device's credentials.
func deviceInNewWorkspace(t *testing.T, s *testServer, broker string) *home.Credentials {
	t.Helper()
	ctx, db := ctxT(t), s.Store
	ws := runlet.Workspace{Name: "other"}
	if err := db.CreateWorkspace(ctx, &ws); err != nil {
		t.Fatal(err)
	}
	d := runlet.Device{Workspace: ws.ID, Name: "pi-1"}
	if err := db.CreateDevice(ctx, &d); err != nil {
		t.Fatal(err)
	}
	secret := "rlt_" + testenv.RandomName("workspace-b-")
	if err := db.CreateToken(ctx, &runlet.Token{Workspace: ws.ID, Kind: runlet.TokenDevice, Hash: store.HashSecret(secret), Subject: d.ID}); err != nil {
		t.Fatal(err)
	}
	return &home.Credentials{Workspace: ws.ID, Device: d.Name, Token: secret, Broker: broker, BrokerUser: d.ID, BrokerPassword: secret}
}

// consumeErr closes a subscription that should not have been made and
// returns err.
func consumeErr(sub bus.Subscription, err error) error {
	if sub != nil {
		sub.Close()
	}
	return err
}

func forbidden(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, bus.ErrForbidden) {
		t.Errorf("%s: got %v, want %v", what, err, bus.ErrForbidden)
	}
}
