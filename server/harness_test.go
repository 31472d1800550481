package server_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/bus"
	natsbus "github.com/runlet/runlet/bus/nats"
	"github.com/runlet/runlet/cmd/assemble"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/server"
	"golang.org/x/crypto/bcrypt"
)

// clock is time.Now moved forward by what a test adds.
type clock struct{ off atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *clock) Advance(d time.Duration) { c.off.Add(int64(d)) }

type testServer struct {
	*assemble.Server
	cfg   assemble.Config
	clock *clock
	out   *testenv.Buffer // the operator output of the server
}

// testWriter sends log lines to t.Log while the test runs.
type testWriter struct {
	t    testing.TB
	done atomic.Bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	if !w.done.Load() {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

// startServer runs a server on OS-assigned ports with its data in a
// temporary directory; change the config with edit.
func startServer(t testing.TB, edit func(*assemble.Config)) *testServer {
	t.Helper()
	c := &clock{}
	tw := &testWriter{t: t}
	t.Cleanup(func() { tw.done.Store(true) })
	cfg := assemble.Config{
		Config: server.Config{
			Listen:  "127.0.0.1:0",
			DataDir: t.TempDir(),
			Logger:  slog.New(slog.NewTextHandler(tw, &slog.HandlerOptions{Level: slog.LevelWarn})),
			Now:     c.Now,
		},
		BrokerListen:  "127.0.0.1:0",
		SweepInterval: 50 * time.Millisecond,
		// The lowest bcrypt cost: under -race one of the default cost
		// takes a second, and a lockout takes ten.
		PasswordCost: bcrypt.MinCost,
	}
	if edit != nil {
		edit(&cfg)
	}
	return restart(t, cfg, c)
}

// restart starts a server with cfg (the same data directory again).
func restart(t testing.TB, cfg assemble.Config, c *clock) *testServer {
	t.Helper()
	out := &testenv.Buffer{}
	cfg.Out = out
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := assemble.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &testServer{Server: s, cfg: cfg, clock: c, out: out}
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// client is an unauthenticated API client of s.
func (s *testServer) client() *apiclient.Client { return apiclient.New(s.URL(), "") }

// enroll signs a device in with the enrollment token.
func (s *testServer) enroll(t testing.TB, name string) *home.Credentials {
	t.Helper()
	tok, err := s.EnrollToken()
	if err != nil {
		t.Fatal(err)
	}
	cred, err := s.client().Enroll(ctxT(t), api.EnrollRequest{Token: tok, Name: name, OS: "linux", Arch: "arm64"})
	if err != nil {
		t.Fatalf("enroll %s: %v", name, err)
	}
	return cred
}

// adminClient logs the admin in (the test servers set its password).
func (s *testServer) adminClient(t testing.TB) *apiclient.Client {
	t.Helper()
	resp, err := s.client().Login(ctxT(t), server.AdminEmail, s.cfg.AdminPassword)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	return apiclient.New(s.URL(), resp.Token)
}

// deviceBus connects to the broker as the device, like its daemon would.
func deviceBus(ctx context.Context, cred *home.Credentials) (bus.Bus, error) {
	u, err := bus.WithCredentials(cred.Broker, cred.BrokerUser, cred.BrokerPassword)
	if err != nil {
		return nil, err
	}
	return natsbus.Open(ctx, u, bus.Options{Name: cred.Device, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

// patience bounds every wait for an event (testenv.Eventually).
const patience = 30 * time.Second
