// Package server is the HTTP side of the Runlet server (R-SRV-1): the JSON
// API under /api/v1 with device sign-in (RFC 8628) and enrollment, the jobs
// of each workspace, runs, devices, browser sessions and settings, the
// terminal WebSocket, TLS and the web UI. It is HTTP only: the work is the
// services' it is handed (auth, dispatch, intake), over the store and the
// bus it is handed; cmd/assemble opens those and builds them.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/auth"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/dispatch"
	"github.com/runlet/runlet/intake"
	"github.com/runlet/runlet/scheduler"
	"github.com/runlet/runlet/store"
	"github.com/runlet/runlet/telemetry/ingest"
	"github.com/runlet/runlet/vault"
)

// Defaults of Config.
const (
	DefaultListen       = "127.0.0.1:8080"
	DefaultCodeTTL      = 15 * time.Minute
	DefaultPollInterval = 5 * time.Second
	// DefaultTerminalQueue is Config.TerminalQueue when zero.
	DefaultTerminalQueue = 1024
	// SessionTTL is how long a session (CLI login or browser cookie) lasts.
	SessionTTL = auth.SessionTTL
	// MaxBody bounds every request body.
	MaxBody = 1 << 20
	// AdminEmail is the user made on first start.
	AdminEmail = auth.AdminEmail
	// DefaultWorkspace is the workspace made on first start.
	DefaultWorkspace = auth.DefaultWorkspace
	// EnrollTokenFile is the file under DataDir holding the enrollment token.
	EnrollTokenFile = auth.EnrollTokenFile
)

// Config configures a Server. Zero fields take the defaults documented.
// The server is HTTP only: it is handed the store here, and the auth
// service and the bus-side services when it serves (cmd/assemble opens
// and builds them).
type Config struct {
	// Store is the database. Required; the server does not close it.
	Store store.Store
	// Listen is the HTTP address; port 0 picks one (see Server.Addr).
	Listen string
	// Listener, when set, is used instead of listening on Listen (a test
	// that must know the port before the server starts, e.g. to configure
	// RabbitMQ's HTTP auth backend). Close closes it.
	Listener net.Listener
	// DataDir holds the server's files: the self-signed certificate and
	// the enrollment token. Required.
	DataDir string
	// EmbeddedBroker is the listen address of the embedded broker, ""
	// with an external one: the broker serves TLS when it listens beyond
	// loopback, as the API does, and devices are sent to its port on the
	// public URL's host.
	EmbeddedBroker string
	// BrokerPublicURL is the broker URL handed to devices when the
	// operator sets it; its host is named in a self-signed certificate.
	BrokerPublicURL string
	// PublicURL is how devices and browsers reach the API; "" means
	// http://LISTEN (https:// with TLS) with the bound port.
	PublicURL string
	// TLSCert and TLSKey are the PEM files of the certificate (with its
	// chain) and key the API and the embedded broker serve TLS with. ""
	// means a self-signed certificate in DataDir for whichever of them
	// listens beyond loopback, and plaintext for one on loopback (tls.go).
	TLSCert, TLSKey string
	// CodeTTL and PollInterval shape device codes (RFC 8628); 0 means 15
	// min and 5 s.
	CodeTTL      time.Duration
	PollInterval time.Duration
	// TerminalQueue is how many frames may wait for one browser's terminal
	// WebSocket. A browser that falls this far behind is dropped (it
	// reconnects with from=), so that it holds up neither the bus nor the
	// other viewers. 0 means 1024.
	TerminalQueue int
	// ReadTimeout bounds how long a client may take to send a request,
	// headers and body, so that slow clients cannot hold sockets forever
	// (the headers get at most 10 s of it); an open terminal WebSocket is
	// not bound by it. 0 means 30 s.
	ReadTimeout time.Duration
	// Logger receives the log; nil means slog.Default().
	Logger *slog.Logger
	// Out receives the lines printed once for the operator (a new
	// self-signed certificate's fingerprint); nil means os.Stdout.
	Out io.Writer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Services are what the API serves once the broker is up: given to Ready.
type Services struct {
	Bus      bus.Bus
	Intake   *intake.Service
	Dispatch *dispatch.Service
	// Scheduler answers GET /schedules: each scheduled job's next and last
	// run. Nil answers 503.
	Scheduler *scheduler.Service
	// Telemetry is the telemetry pipeline: its counts, replay.
	Telemetry *ingest.Service
	// Alerts is the alert service: the API tells it when a workspace's
	// rules change, so that this process applies them at once (others
	// within their cache's few seconds). Nil: no alerting.
	Alerts interface{ Forget(ws string) }
	// Notify wakes the notification sender after the API queues a test
	// notification. Nil: it is sent at the sender's next poll.
	Notify interface{ Kick() }
	// Logs is the run log service (issue 15): keys, uploads, downloads,
	// settings. Nil: the log routes answer 503.
	Logs *vault.Service
	// Workspace is the default workspace, where approved devices go.
	Workspace runlet.Workspace
	// BrokerURL is the broker URL handed to devices, without credentials;
	// "" derives it from BrokerAddr, the embedded broker's bound address.
	BrokerURL  string
	BrokerAddr string
	// BrokerStore names where the broker keeps its messages, for the
	// error of a full disk.
	BrokerStore string
}

// BrokerAuth is RabbitMQ's HTTP auth backend (package rabbitauth), which
// the server mounts under RabbitMQAuthPrefix before the broker connects.
type BrokerAuth interface {
	Mount(mux *http.ServeMux, prefix string)
}

// Server is a running Runlet server.
type Server struct {
	cfg  Config
	log  *slog.Logger
	now  func() time.Time
	db   store.Store
	http *http.Server
	ln   net.Listener

	publicURL string
	// cert is what the API and the embedded broker serve TLS with, when
	// apiTLS and brokerTLS say they do; fingerprint is its tlspin
	// fingerprint, and pinHint says no authority vouches for it (tls.go).
	cert        *tls.Certificate
	fingerprint string
	pinHint     bool
	apiTLS      bool
	brokerTLS   bool

	auth       *auth.Service
	brokerAuth BrokerAuth // nil unless the broker is RabbitMQ

	// Set by Ready, before ready is: read only once ready.
	bus         bus.Bus
	intake      *intake.Service
	dispatch    *dispatch.Service
	scheduler   *scheduler.Service
	telemetry   *ingest.Service                // nil: stats and replay answer 503
	alerts      interface{ Forget(ws string) } // nil: no alerting
	notify      interface{ Kick() }            // nil: no sender to wake
	logs        *vault.Service                 // nil: the log routes answer 503
	defaultWS   runlet.Workspace
	brokerURL   string
	brokerStore string

	ready    atomic.Bool // the API answers once Ready ran
	wsMu     sync.Mutex
	stopping bool           // Close began: no new WebSocket
	sockets  sync.WaitGroup // terminal WebSockets; Add under wsMu while !stopping

	ctx    context.Context // ends at Close: the owner of every goroutine
	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed sync.Once
}

// New checks cfg, fills in its defaults, listens and sets up TLS; the
// API's public URL is known from then on. Serve serves.
func New(cfg Config) (_ *Server, err error) {
	if cfg.DataDir == "" {
		return nil, errors.New("server: no data directory (--data)")
	}
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return nil, errors.New("server: give both the TLS certificate and its key (--tls-cert and --tls-key), or neither")
	}
	if cfg.Store == nil {
		return nil, errors.New("server: no store")
	}
	if cfg.CodeTTL <= 0 {
		cfg.CodeTTL = DefaultCodeTTL
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.TerminalQueue <= 0 {
		cfg.TerminalQueue = DefaultTerminalQueue
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Out == nil {
		cfg.Out = os.Stdout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, log: cfg.Logger, now: cfg.Now, db: cfg.Store}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.ln = cfg.Listener
	if s.ln == nil {
		if s.ln, err = net.Listen("tcp", cfg.Listen); err != nil {
			return nil, fmt.Errorf("listen on %s: %w", cfg.Listen, err)
		}
	}
	if err := s.setupTLS(); err != nil {
		s.ln.Close()
		return nil, err
	}
	s.publicURL = s.httpsPublicURL(strings.TrimRight(cfg.PublicURL, "/"))
	if s.publicURL == "" {
		s.publicURL = s.scheme() + "://" + dialable(s.ln.Addr().String())
	}
	return s, nil
}

// Serve starts serving with the auth service a, and RabbitMQ's auth
// backend when ba is not nil. The API answers 503 until Ready; the
// backend answers at once, as the broker asks it whether the server's own
// connection may log in.
func (s *Server) Serve(a *auth.Service, ba BrokerAuth) {
	s.auth, s.brokerAuth = a, ba
	s.http = &http.Server{Handler: s.routes(), ReadHeaderTimeout: min(10*time.Second, s.readTimeout()), ReadTimeout: s.readTimeout(), IdleTimeout: 2 * time.Minute, ErrorLog: httpErrorLog(s.log), TLSConfig: s.tlsConfig(s.apiTLS)}
	s.wg.Go(func() {
		if err := s.serve(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server stopped", "err", err)
		}
	})
}

// Ready hands the server the bus-side services and opens the API.
func (s *Server) Ready(svc Services) {
	s.bus, s.intake, s.dispatch, s.defaultWS = svc.Bus, svc.Intake, svc.Dispatch, svc.Workspace
	s.scheduler = svc.Scheduler
	s.telemetry = svc.Telemetry
	s.alerts, s.notify = svc.Alerts, svc.Notify
	s.logs = svc.Logs
	s.brokerURL, s.brokerStore = svc.BrokerURL, svc.BrokerStore
	if s.brokerURL == "" && svc.BrokerAddr != "" {
		_, port, _ := net.SplitHostPort(svc.BrokerAddr)
		u, _ := url.Parse(s.publicURL)
		scheme := "nats"
		if s.brokerTLS {
			scheme = "tls"
		}
		s.brokerURL = scheme + "://" + net.JoinHostPort(u.Hostname(), port)
	}
	s.ready.Store(true)
	s.log.Info("runlet server started", "api", s.publicURL, "broker", s.brokerURL, "data", s.cfg.DataDir)
	fmt.Fprintf(s.cfg.Out, "Runlet server: API at %s, broker at %s\n", s.publicURL, s.brokerURL)
}

// BrokerTLS is the TLS the embedded broker serves, nil for none.
func (s *Server) BrokerTLS() *tls.Config { return s.tlsConfig(s.brokerTLS) }

// Close ends the terminal WebSockets and stops serving, letting requests
// in flight finish for a few seconds. It closes nothing it was handed.
func (s *Server) Close() error {
	s.closed.Do(func() {
		s.wsMu.Lock()
		s.stopping = true
		s.wsMu.Unlock()
		s.cancel() // ends the terminal WebSockets
		s.sockets.Wait()
		if s.http != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = s.http.Shutdown(ctx)
			cancel()
		} else {
			s.ln.Close()
		}
		s.wg.Wait()
	})
	return nil
}

// Addr is the address the API listens on, with its bound port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the API's public base URL.
func (s *Server) URL() string { return s.publicURL }

// BrokerURL is the broker URL handed to devices (without credentials).
func (s *Server) BrokerURL() string { return s.brokerURL }

// EnrollToken returns the enrollment token from DATA/enroll-token, for a
// process that signs its own device in (runlet up).
func (s *Server) EnrollToken() (string, error) {
	b, err := os.ReadFile(filepath.Join(s.cfg.DataDir, EnrollTokenFile))
	if err != nil {
		return "", fmt.Errorf("read the enrollment token: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// dialable turns a listen address into one a client can dial: an
// unspecified host becomes 127.0.0.1.
func dialable(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
