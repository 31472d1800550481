// Package server is the Runlet server (R-SRV-1, R-SRV-2): the JSON HTTP API
// under /api/v1 with device sign-in (RFC 8628) and enrollment, the jobs of
// each workspace, runs dispatched to devices' durable queues, execution
// status consumed from the bus into the store, and device presence from
// heartbeats. It owns an embedded NATS broker unless told to use another.
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
	amqpbus "github.com/runlet/runlet/bus/amqp"
	busconnect "github.com/runlet/runlet/bus/connect"
	"github.com/runlet/runlet/bus/nats/embedded"
	"github.com/runlet/runlet/dispatch"
	"github.com/runlet/runlet/intake"
	"github.com/runlet/runlet/store"
	storeconnect "github.com/runlet/runlet/store/connect"
)

// Defaults of Config.
const (
	DefaultListen       = "127.0.0.1:8080"
	DefaultBrokerListen = "127.0.0.1:4322"
	DefaultSweep        = 5 * time.Second
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
type Config struct {
	// Listen is the HTTP address; port 0 picks one (see Server.Addr).
	Listen string
	// Listener, when set, is used instead of listening on Listen (a test
	// that must know the port before the server starts, e.g. to configure
	// RabbitMQ's HTTP auth backend). Close closes it.
	Listener net.Listener
	// DataDir holds the SQLite database, the embedded broker's store and
	// the enrollment token. Required.
	DataDir string
	// DB is the database URL; "" means sqlite:DATA/runlet.db.
	DB string
	// Broker is the broker URL with the server's credentials; "" runs the
	// embedded NATS in DATA/nats on BrokerListen.
	Broker string
	// BrokerListen is the embedded broker's address ("" = 127.0.0.1:4322;
	// port 0 picks one).
	BrokerListen string
	// RabbitMQAuthSecret, with an amqp:// Broker, moves the endpoints of
	// RabbitMQ's HTTP auth backend from /rabbitmq/... (loopback callers
	// only) to /rabbitmq/SECRET/... (any caller that knows it); see
	// rabbitmq_auth.go.
	RabbitMQAuthSecret string
	// RabbitMQManagement is the management API of an amqp:// Broker, with
	// credentials of an administrator, used to close the connections of
	// revoked devices; "" derives it from Broker (its host and
	// credentials, port 15672).
	RabbitMQManagement string
	// BrokerPublicURL is the broker URL handed to devices; "" derives it
	// (the embedded broker's port on PublicURL's host, or Broker without
	// its credentials).
	BrokerPublicURL string
	// PublicURL is how devices and browsers reach the API; "" means
	// http://LISTEN (https:// with TLS) with the bound port.
	PublicURL string
	// TLSCert and TLSKey are the PEM files of the certificate (with its
	// chain) and key the API and the embedded broker serve TLS with. ""
	// means a self-signed certificate in DataDir for whichever of them
	// listens beyond loopback, and plaintext for one on loopback (tls.go).
	TLSCert, TLSKey string
	// AdminPassword is the first start's admin password; "" generates one.
	AdminPassword string
	// SweepInterval is how often expired executions and device codes are
	// swept and presence re-checked; 0 means 5 s.
	SweepInterval time.Duration
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
	// Out receives the lines printed once for the operator (admin
	// password, enrollment token); nil means os.Stdout.
	Out io.Writer
	// Now is the clock (also given to the store); nil means time.Now.
	Now func() time.Time
	// TrustedProxies are the reverse proxies (addresses or CIDR prefixes)
	// whose X-Forwarded-For names the client that the limits of sign-in
	// count; none by default, when the peer's address is the client's.
	TrustedProxies []string
}

// Server is a running Runlet server.
type Server struct {
	cfg  Config
	log  *slog.Logger
	now  func() time.Time
	db   store.Store
	nats *embedded.Server
	bus  bus.Bus
	http *http.Server
	ln   net.Listener

	publicURL string
	brokerURL string
	defaultWS runlet.Workspace

	auth     *auth.Service
	intake   *intake.Service
	dispatch *dispatch.Service
	rabbit   *rabbitAuth  // nil unless the broker is RabbitMQ
	cutter   brokerCutter // the auth service's, set by openBus (cutter.go)
	// cert is what the API and the embedded broker serve TLS with, when
	// apiTLS and brokerTLS say they do; fingerprint is its tlspin
	// fingerprint, and pinHint says no authority vouches for it (tls.go).
	cert        *tls.Certificate
	fingerprint string
	pinHint     bool
	apiTLS      bool
	brokerTLS   bool

	ready    atomic.Bool // the API answers once the bus and bootstrap are done
	wsMu     sync.Mutex
	stopping bool           // Close began: no new WebSocket or goroutine
	sockets  sync.WaitGroup // terminal WebSockets; Add under wsMu while !stopping

	ctx    context.Context // ends at Close: the owner of every goroutine
	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed sync.Once
}

// New checks cfg and fills in its defaults; Start does the rest.
func New(cfg Config) (*Server, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("server: no data directory (--data)")
	}
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return nil, errors.New("server: give both the TLS certificate and its key (--tls-cert and --tls-key), or neither")
	}
	if cfg.DB == "" {
		cfg.DB = "sqlite:" + filepath.Join(cfg.DataDir, "runlet.db")
	}
	if cfg.BrokerListen == "" {
		cfg.BrokerListen = DefaultBrokerListen
	}
	if cfg.SweepInterval <= 0 {
		cfg.SweepInterval = DefaultSweep
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
	return &Server{cfg: cfg, log: cfg.Logger, now: cfg.Now}, nil
}

// Start opens the store and the bus, bootstraps the first start, listens
// and serves until Close.
func (s *Server) Start(ctx context.Context) (err error) {
	s.ctx, s.cancel = context.WithCancel(context.Background())
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if err := os.MkdirAll(s.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	if s.db, err = storeconnect.Open(ctx, s.cfg.DB); err != nil {
		return fmt.Errorf("open the database: %w", err)
	}
	if c, ok := s.db.(interface{ SetNow(func() time.Time) }); ok {
		c.SetNow(s.cfg.Now)
	}
	s.ln = s.cfg.Listener
	if s.ln == nil {
		if s.ln, err = net.Listen("tcp", s.cfg.Listen); err != nil {
			return fmt.Errorf("listen on %s: %w", s.cfg.Listen, err)
		}
	}
	if err := s.setupTLS(); err != nil {
		return err
	}
	s.publicURL = s.httpsPublicURL(strings.TrimRight(s.cfg.PublicURL, "/"))
	if s.publicURL == "" {
		s.publicURL = s.scheme() + "://" + dialable(s.ln.Addr().String())
	}
	if s.auth, err = s.newAuth(); err != nil {
		return err
	}
	if isAMQP(s.cfg.Broker) {
		if s.rabbit, err = newRabbitAuth(s, s.cfg.Broker, s.cfg.RabbitMQAuthSecret); err != nil {
			return err
		}
	}
	// Serve before connecting to the broker: RabbitMQ asks this server
	// whether the server's own connection may log in. The API answers 503
	// until ready.
	s.http = &http.Server{Handler: s.routes(), ReadHeaderTimeout: min(10*time.Second, s.readTimeout()), ReadTimeout: s.readTimeout(), IdleTimeout: 2 * time.Minute, ErrorLog: httpErrorLog(s.log), TLSConfig: s.tlsConfig(s.apiTLS)}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.serve(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server stopped", "err", err)
		}
	}()
	if err := s.openBus(ctx); err != nil {
		return err
	}
	if s.intake, err = intake.New(intake.Config{Store: s.db, Bus: s.bus, SweepInterval: s.cfg.SweepInterval, Now: s.now, Logger: s.log}); err != nil {
		return err
	}
	if s.dispatch, err = dispatch.New(dispatch.Config{
		Store: s.db, Bus: s.bus, Events: s.intake, Workspaces: s.intake,
		BrokerStore: s.brokerStore(), CheckBroker: s.checkBrokerStore, Now: s.now, Logger: s.log,
	}); err != nil {
		return err
	}
	boot, err := s.auth.Bootstrap(ctx, auth.BootstrapConfig{AdminPassword: s.cfg.AdminPassword, Out: s.cfg.Out})
	if err != nil {
		return err
	}
	s.defaultWS = boot.Workspace
	if err := s.intake.Start(ctx); err != nil {
		return err
	}
	s.ready.Store(true)
	s.log.Info("runlet server started", "api", s.publicURL, "broker", s.brokerURL, "data", s.cfg.DataDir)
	fmt.Fprintf(s.cfg.Out, "Runlet server: API at %s, broker at %s\n", s.publicURL, s.brokerURL)
	return nil
}

// openBus starts the embedded broker (or connects the external one) and
// the server's own connection.
func (s *Server) openBus(ctx context.Context) error {
	opts := bus.Options{Name: "runlet-server", Logger: s.log}
	if s.cfg.Broker != "" {
		b, err := busconnect.Open(ctx, s.cfg.Broker, opts)
		if err != nil {
			return fmt.Errorf("connect to the broker: %w", err)
		}
		s.bus = b
		s.brokerURL = s.cfg.BrokerPublicURL
		if s.brokerURL == "" {
			// Devices get the address, never the server's credentials.
			if s.brokerURL, err = bus.WithoutCredentials(s.cfg.Broker); err != nil {
				return fmt.Errorf("the broker URL for devices: %w", err)
			}
		}
		if s.rabbit != nil {
			m := s.cfg.RabbitMQManagement
			if m == "" {
				if m, err = amqpbus.ManagementURL(s.cfg.Broker); err != nil {
					return err
				}
			}
			s.cutter.set(rabbitCutter{m: amqpbus.Management{URL: m}})
		}
		return nil
	}
	ns, err := embedded.Start(embedded.Config{
		Dir:           filepath.Join(s.cfg.DataDir, "nats"),
		Addr:          s.cfg.BrokerListen,
		TLS:           s.tlsConfig(s.brokerTLS),
		Authenticator: s.auth.BrokerUser,
		Logger:        s.log,
	})
	if err != nil {
		return fmt.Errorf("start the embedded broker: %w", err)
	}
	s.nats = ns
	s.cutter.set(natsCutter{ns})
	b, err := ns.Bus(ctx, opts)
	if err != nil {
		return fmt.Errorf("connect to the embedded broker: %w", err)
	}
	s.bus = b
	s.brokerURL = s.cfg.BrokerPublicURL
	if s.brokerURL == "" {
		_, port, _ := net.SplitHostPort(ns.Addr())
		u, _ := url.Parse(s.publicURL)
		scheme := "nats"
		if s.brokerTLS {
			scheme = "tls"
		}
		s.brokerURL = scheme + "://" + net.JoinHostPort(u.Hostname(), port)
	}
	return nil
}

// Run starts the server and serves until ctx is done, then shuts down.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	return s.Close()
}

// Close stops serving (letting requests in flight finish for a few
// seconds), stops every consumer, and closes the bus, broker and store.
func (s *Server) Close() error {
	s.closed.Do(func() {
		stopHTTP := func() {
			if s.http != nil {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_ = s.http.Shutdown(ctx)
				cancel()
			} else if s.ln != nil {
				s.ln.Close()
			}
		}
		// RabbitMQ asks this server whether the server's own operations
		// are allowed: keep answering until they have stopped.
		if s.rabbit == nil {
			stopHTTP()
		}
		// Consumers first, while their handlers can still commit what
		// they hold; then the goroutines that s.ctx owns.
		s.wsMu.Lock()
		s.stopping = true
		s.wsMu.Unlock()
		if s.intake != nil {
			s.intake.Close()
		}
		if s.cancel != nil {
			s.cancel() // ends the terminal WebSockets too
		}
		if s.auth != nil {
			s.auth.Close() // its cuts of broker connections
		}
		s.sockets.Wait()
		if s.rabbit != nil {
			stopHTTP()
		}
		s.wg.Wait()
		if s.bus != nil {
			s.bus.Close()
		}
		if s.nats != nil {
			s.nats.Shutdown()
		}
		if s.db != nil {
			s.db.Close()
		}
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

// Store is the server's database, for tests and tools in-process.
func (s *Server) Store() store.Store { return s.db }

// Bus is the server's own bus connection.
func (s *Server) Bus() bus.Bus { return s.bus }

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
