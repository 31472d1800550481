// Package embedded runs a NATS server with JetStream inside the runlet
// server process: on its own default port (4322, so as not to collide with
// a standalone NATS on 4222), JetStream on disk synced on every write, TLS
// when given a certificate, and every client authenticated through a Go
// callback that decides which workspace and device it is.
package embedded

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	natsgo "github.com/nats-io/nats.go"

	"github.com/runlet/runlet/bus"
	natsbus "github.com/runlet/runlet/bus/nats"
)

// DefaultPort is where the embedded server listens unless told otherwise.
const DefaultPort = 4322

// DefaultMaxPayload is the largest message the server takes: room for a
// 1 MiB body plus headers (a stock nats-server takes 1 MB in all).
const DefaultMaxPayload = 8 << 20

// Config configures Start.
type Config struct {
	// Dir holds the JetStream store. Required.
	Dir string
	// Addr is host:port to listen on; empty means ":4322". Port 0 picks a
	// free port (see Server.Addr).
	Addr string
	// TLS, when set, makes clients connect with TLS (nats:// URLs then
	// need a client configured for TLS, or tls://).
	TLS *tls.Config
	// Authenticator decides who a client is from the user and password
	// of its URL. Nil lets every client in with all permissions: only for
	// a server bound to a loopback address.
	Authenticator Authenticator
	// MaxPayload is the largest message in bytes; zero means
	// DefaultMaxPayload.
	MaxPayload int32
	// Logger receives the server's log; nil means slog.Default().
	Logger *slog.Logger
}

// Server is a running embedded NATS server.
type Server struct {
	ns     *server.Server
	cfg    Config
	secret string // the password of the in-process server principal
	log    *slog.Logger
	store  *storeGuard // nil when the disk's free space is unknown

	pmu   sync.Mutex
	users map[string]bus.Principal // who each user is, for Daemons (presence.go)
}

// Start starts the server and waits until it accepts connections.
func Start(cfg Config) (*Server, error) {
	if cfg.Dir == "" {
		return nil, errors.New("bus: embedded nats: no JetStream store directory")
	}
	host, port, err := hostPort(cfg.Addr)
	if err != nil {
		return nil, err
	}
	if cfg.Authenticator == nil && !loopback(host) {
		return nil, fmt.Errorf("bus: embedded nats: refusing to listen on %s without an Authenticator", host)
	}
	s := &Server{cfg: cfg, secret: randomHex(24), log: cfg.Logger}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("component", "embedded-nats")
	opts := &server.Options{
		ServerName: "runlet",
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   cfg.Dir,
		// Sync every write: an acked message survives a crash (the default
		// two-minute sync lost acknowledged messages in Jepsen's 2025 tests).
		SyncAlways: true,
		// The disk's size: the limit that counts is the account's, which
		// follows the free space (storage.go).
		JetStreamMaxStore:          diskLimit(cfg.Dir, s.log),
		MaxPayload:                 cfg.MaxPayload,
		NoSigs:                     true,
		CustomClientAuthentication: &authenticator{s: s},
	}
	if opts.MaxPayload == 0 {
		opts.MaxPayload = DefaultMaxPayload
	}
	if cfg.TLS != nil {
		opts.TLSConfig = cfg.TLS
		opts.TLS = true
		opts.TLSTimeout = 5
	}
	if err := canListen(host, port); err != nil {
		return nil, err
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("bus: embedded nats: %w", err)
	}
	ns.SetLoggerV2(&logger{s.log}, false, false, false)
	ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("bus: embedded nats: not ready to accept connections on %s after 30s", cfg.Addr)
	}
	s.ns = ns
	if opts.JetStreamMaxStore > 0 {
		if s.store, err = startStoreGuard(ns, cfg.Dir, s.log); err != nil {
			ns.Shutdown()
			return nil, err
		}
	}
	return s, nil
}

func hostPort(addr string) (string, int, error) {
	if addr == "" {
		return "0.0.0.0", DefaultPort, nil
	}
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("bus: embedded nats: listen address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, fmt.Errorf("bus: embedded nats: listen port %q: %w", p, err)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	if h == "" {
		h = "0.0.0.0"
	}
	return h, port, nil
}

// canListen checks that the address is free: nats-server would only log
// that it cannot listen, then never be ready. The error wraps the
// system's, so that the caller can tell an address in use.
func canListen(host string, port int) error {
	if port == server.RANDOM_PORT {
		return nil
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("bus: embedded nats: cannot listen on %s: %w", addr, err)
	}
	return l.Close()
}

func loopback(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Addr is the address the server listens on, with the port it got.
func (s *Server) Addr() string { return s.ns.Addr().String() }

// URL is a nats:// URL of the server for clients on this machine (without
// credentials).
func (s *Server) URL() string {
	_, port, _ := net.SplitHostPort(s.Addr())
	return "nats://127.0.0.1:" + port
}

// Config returns the configuration the server started with, the address
// fixed to the port it got: Start(s.Config()) restarts it on the same
// store and port.
func (s *Server) Config() Config {
	c := s.cfg
	c.Addr = s.Addr()
	return c
}

// Bus opens the runlet server's own connection, in-process and with every
// permission.
func (s *Server) Bus(ctx context.Context, opts bus.Options) (*natsbus.Bus, error) {
	return natsbus.Open(ctx, "nats://127.0.0.1", opts,
		natsgo.InProcessServer(s.ns), natsgo.UserInfo(serverUser, s.secret))
}

// Shutdown stops the server and waits until it has.
func (s *Server) Shutdown() {
	if s.store != nil {
		s.store.close()
	}
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
}

// Disconnect closes every client connection of user (a revoked device) and
// returns how many it closed. A client that reconnects is authenticated
// again, and refused if its credentials are gone.
func (s *Server) Disconnect(user string) (int, error) {
	cz, err := s.ns.Connz(&server.ConnzOptions{User: user, Limit: 1 << 16})
	if err != nil {
		return 0, fmt.Errorf("bus: embedded nats: list the connections of %s: %w", user, err)
	}
	n := 0
	for _, c := range cz.Conns {
		if err := s.ns.DisconnectClientByID(c.Cid); err == nil {
			n++
		}
	}
	return n, nil
}

// Cut is Disconnect as the server's auth service asks for it: it closes
// the connections of a revoked device.
func (s *Server) Cut(_ context.Context, user string) (int, error) { return s.Disconnect(user) }
