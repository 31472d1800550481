// Package rabbitauth answers RabbitMQ's HTTP auth backend
// (rabbitmq_auth_backend_http) from bus.PolicyFor: who may connect, to which
// vhost, which exchanges and queues, and which routing keys a principal may
// publish and bind. It keeps no rule of its own: the broker asks, the
// Directory says who the user is, and the policy decides.
//
// The broker's configuration names the endpoints, for example:
//
//	auth_backends.1 = http
//	auth_http.http_method = post
//	auth_http.user_path = http://127.0.0.1:8080/rabbitmq/user
//	auth_http.vhost_path = http://127.0.0.1:8080/rabbitmq/vhost
//	auth_http.resource_path = http://127.0.0.1:8080/rabbitmq/resource
//	auth_http.topic_path = http://127.0.0.1:8080/rabbitmq/topic
//
// The endpoints answer RabbitMQ only: without a Secret they refuse every
// caller that is not on loopback; with one they are mounted at
// PREFIX/SECRET/... and the path is the proof.
package rabbitauth

import (
	"context"
	"crypto/subtle"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/runlet/runlet/bus"
	amqpbus "github.com/runlet/runlet/bus/amqp"
)

// Directory says who a broker user is.
type Directory interface {
	// Authenticate checks user's password and returns its principal; an
	// error refuses the connection.
	Authenticate(ctx context.Context, user, password string) (bus.Principal, error)
	// Principal returns user's principal now; an error (revoked, unknown)
	// refuses whatever the user asks for.
	Principal(ctx context.Context, user string) (bus.Principal, error)
}

// Config configures a Backend.
type Config struct {
	// Vhost is the one vhost the backend allows.
	Vhost string
	// ServerUser and ServerPassword are the Runlet server's own broker
	// credentials: a server of every workspace on Vhost.
	ServerUser, ServerPassword string
	// Secret, when set, moves the endpoints under PREFIX/SECRET/ and lets
	// any caller that knows it ask; empty means loopback callers only.
	Secret    string
	Directory Directory
	// CacheTTL bounds how long a principal is answered from memory
	// (default DefaultCacheTTL); CacheSize bounds how many are kept
	// (default DefaultCacheSize).
	CacheTTL  time.Duration
	CacheSize int
	// Logger receives refusals; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Defaults of Config. A revoked device is refused within DefaultCacheTTL
// even by a replica that did not revoke it (the one that did calls Forget).
const (
	DefaultCacheTTL  = 2 * time.Second
	DefaultCacheSize = 10000
)

// Backend is the HTTP auth backend.
type Backend struct {
	cfg   Config
	log   *slog.Logger
	cache *cache
}

// New returns a backend for cfg.
func New(cfg Config) *Backend {
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = DefaultCacheTTL
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = DefaultCacheSize
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Vhost == "" {
		cfg.Vhost = "/"
	}
	b := &Backend{cfg: cfg, log: cfg.Logger, cache: newCache(cfg.CacheSize, cfg.CacheTTL, cfg.Now)}
	if b.log == nil {
		b.log = slog.Default()
	}
	return b
}

// Forget drops what the backend remembers of user: call it on revocation
// so that the next question goes to the Directory.
func (b *Backend) Forget(user string) { b.cache.forget(user) }

// Mount adds the four endpoints under prefix ("/rabbitmq").
func (b *Backend) Mount(mux *http.ServeMux, prefix string) {
	if b.cfg.Secret != "" {
		prefix += "/{secret}"
	}
	for name, h := range map[string]func(*http.Request) bool{
		"user": b.userAllowed, "vhost": b.vhostAllowed, "resource": b.resourceAllowed, "topic": b.topicAllowed,
	} {
		mux.Handle(prefix+"/"+name, b.guard(h))
	}
}

// guard refuses callers that are not RabbitMQ and answers h's verdict as
// the plain text the backend reads.
func (b *Backend) guard(allowed func(*http.Request) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !b.caller(r) {
			http.Error(w, "This endpoint answers the RabbitMQ broker only.", http.StatusForbidden)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "The request is not a form: "+err.Error(), http.StatusBadRequest)
			return
		}
		verdict := "deny"
		if allowed(r) {
			verdict = "allow"
			// The server's own user may use the management API, to close
			// the connections of revoked devices (amqp.Management).
			if strings.HasSuffix(r.URL.Path, "/user") && b.isServer(r.Form.Get("username")) {
				verdict = "allow administrator"
			}
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, verdict)
	})
}

// caller reports whether r comes from the broker: it carries the secret,
// or, without one configured, it comes from loopback.
func (b *Backend) caller(r *http.Request) bool {
	if b.cfg.Secret != "" {
		return subtle.ConstantTimeCompare([]byte(r.PathValue("secret")), []byte(b.cfg.Secret)) == 1
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	ip := net.ParseIP(host)
	return err == nil && ip != nil && ip.IsLoopback()
}

func (b *Backend) isServer(user string) bool {
	return b.cfg.ServerUser != "" && subtle.ConstantTimeCompare([]byte(user), []byte(b.cfg.ServerUser)) == 1
}

// principal is who user is now: the server, or what the Directory says
// (from the cache while fresh).
func (b *Backend) principal(r *http.Request, user string) (bus.Principal, bool) {
	if b.isServer(user) {
		return bus.Principal{Role: bus.RoleServer}, true
	}
	if p, ok := b.cache.get(user); ok {
		return p, true
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	p, err := b.cfg.Directory.Principal(ctx, user)
	if err != nil {
		return bus.Principal{}, false
	}
	b.cache.put(user, p)
	return p, true
}

func (b *Backend) userAllowed(r *http.Request) bool {
	user, password := r.Form.Get("username"), r.Form.Get("password")
	if b.isServer(user) {
		return b.cfg.ServerPassword != "" && subtle.ConstantTimeCompare([]byte(password), []byte(b.cfg.ServerPassword)) == 1
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	p, err := b.cfg.Directory.Authenticate(ctx, user, password)
	if err != nil {
		b.log.Info("broker refused a client", "user", user, "ip", r.Form.Get("ip"), "reason", err)
		return false
	}
	b.cache.put(user, p)
	return true
}

func (b *Backend) vhostAllowed(r *http.Request) bool {
	if r.Form.Get("vhost") != b.cfg.Vhost {
		return false
	}
	_, ok := b.principal(r, r.Form.Get("username"))
	return ok
}

// asked is who asks about a resource or topic of the backend's vhost, and
// the policy that answers; ok is false for another vhost or a user that
// may no longer connect.
func (b *Backend) asked(r *http.Request) (bus.Principal, bus.Policy, bool) {
	if r.Form.Get("vhost") != b.cfg.Vhost {
		return bus.Principal{}, bus.Policy{}, false
	}
	p, ok := b.principal(r, r.Form.Get("username"))
	if !ok {
		return bus.Principal{}, bus.Policy{}, false
	}
	return p, bus.PolicyFor(p), true
}

// resourceAllowed lets a principal use its workspace's exchanges, the
// durable queues the policy gives it, and the transient queues of its
// subscriptions (exclusive to their connection, so no one else's).
func (b *Backend) resourceAllowed(r *http.Request) bool {
	f := r.Form
	p, pol, ok := b.asked(r)
	if !ok || pol.All && p.Workspace == "" {
		return ok
	}
	name, ex := f.Get("name"), amqpbus.ExchangeName(p.Workspace)
	switch f.Get("resource") {
	case "exchange":
		return isExchangeOf(p.Workspace, name)
	case "queue":
		if strings.HasPrefix(name, ex+".sub.") {
			return true
		}
		q, ok := strings.CutPrefix(name, ex+".q.")
		if !ok {
			return false
		}
		// Declaring (configure), binding (write) and consuming (read) a
		// durable queue: its consumers and those who manage it.
		return pol.MayConsume(q) || pol.MayManage(q)
	}
	return false
}

// topicAllowed checks routing keys against the policy: "write" is a
// publish, "read" a binding (a subscription, or a durable queue consumed).
func (b *Backend) topicAllowed(r *http.Request) bool {
	f := r.Form
	p, pol, ok := b.asked(r)
	if !ok || pol.All && p.Workspace == "" {
		return ok
	}
	if !isExchangeOf(p.Workspace, f.Get("name")) {
		return false
	}
	key := bus.Key(f.Get("routing_key"))
	switch f.Get("permission") {
	case "write":
		return pol.All || pol.MayPublish(key)
	case "read":
		return pol.All || pol.MayBind(key)
	}
	return false
}

// isExchangeOf reports whether name is one of the workspace's exchanges.
func isExchangeOf(ws, name string) bool {
	for _, x := range amqpbus.Exchanges(ws) {
		if name == x {
			return true
		}
	}
	return false
}
