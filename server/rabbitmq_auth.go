package server

// RabbitMQ's HTTP auth backend (rabbitmq_auth_backend_http) asks the
// server who may connect and what each user may touch; package rabbitauth
// answers from bus.PolicyFor, and the auth service's Directory tells it
// who a device is (user = device ID, password = its API token,
// unrevoked). The server's own user is the one of its --broker URL.
// Without a shared secret the endpoints are mounted at /rabbitmq/{user,
// vhost,resource,topic} and refuse every caller that is not on loopback;
// with one (--rabbitmq-auth-secret) at /rabbitmq/SECRET/....

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/runlet/runlet/auth"
	"github.com/runlet/runlet/bus/amqp/rabbitauth"
	"github.com/runlet/runlet/internal/redact"
)

// RabbitMQAuthPrefix is where the RabbitMQ auth endpoints live.
const RabbitMQAuthPrefix = "/rabbitmq"

var _ rabbitauth.Directory = (*auth.Directory)(nil)

// rabbitAuth is the server's HTTP auth backend for RabbitMQ.
type rabbitAuth struct {
	backend  *rabbitauth.Backend
	user     string // the server's own broker user
	password string
	vhost    string
}

// isAMQP reports whether the broker URL is RabbitMQ's.
func isAMQP(broker string) bool {
	scheme, _, _ := strings.Cut(broker, "://")
	scheme = strings.ToLower(scheme)
	return scheme == "amqp" || scheme == "amqps"
}

// newRabbitAuth makes the backend over the auth service's Directory, which
// forgets a revoked device at once.
func newRabbitAuth(s *Server, broker, secret string) (*rabbitAuth, error) {
	a, err := newRabbitBackend(broker, rabbitauth.Config{Secret: secret, Directory: s.auth.Directory(), Logger: s.log, Now: s.now})
	if err != nil {
		return nil, err
	}
	s.auth.OnRevoke(a.backend.Forget)
	return a, nil
}

// newRabbitBackend reads the server's user and vhost from its broker URL
// into cfg and makes the backend.
func newRabbitBackend(broker string, cfg rabbitauth.Config) (*rabbitAuth, error) {
	u, err := url.Parse(broker)
	if err != nil {
		// Not err: url.Parse quotes the URL, password and all.
		return nil, fmt.Errorf("the broker URL %s is not a valid URL", redact.URL(broker))
	}
	a := &rabbitAuth{vhost: "/"}
	if u.User != nil {
		a.user = u.User.Username()
		a.password, _ = u.User.Password()
	}
	if p := strings.TrimPrefix(u.Path, "/"); p != "" {
		a.vhost = p // url.Parse has decoded %2F already
	}
	cfg.Vhost, cfg.ServerUser, cfg.ServerPassword = a.vhost, a.user, a.password
	a.backend = rabbitauth.New(cfg)
	return a, nil
}

// mount adds the endpoints to mux.
func (a *rabbitAuth) mount(mux *http.ServeMux) { a.backend.Mount(mux, RabbitMQAuthPrefix) }
