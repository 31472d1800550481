package server

// RabbitMQ's HTTP auth backend (rabbitmq_auth_backend_http) asks the
// server who may connect and what each user may touch; package rabbitauth
// answers from bus.PolicyFor, and this file tells it who a user is: the
// server's own user (the credentials of its --broker URL), or a device
// (user = device ID, password = its API token, unrevoked). Without a
// shared secret the endpoints are mounted at /rabbitmq/{user,vhost,
// resource,topic} and refuse every caller that is not on loopback; with
// one (--rabbitmq-auth-secret) at /rabbitmq/SECRET/....

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/bus/amqp/rabbitauth"
)

// RabbitMQAuthPrefix is where the RabbitMQ auth endpoints live.
const RabbitMQAuthPrefix = "/rabbitmq"

// rabbitAuth is the server's side of the HTTP auth backend: the
// directory of devices in the store, behind rabbitauth's policy answers.
type rabbitAuth struct {
	s        *Server
	backend  *rabbitauth.Backend
	user     string // the server's own broker user
	password string
	vhost    string

	mu      sync.Mutex
	devices map[string]string // device ID → workspace ID, learnt on the way
}

// isAMQP reports whether the broker URL is RabbitMQ's.
func isAMQP(broker string) bool {
	scheme, _, _ := strings.Cut(broker, "://")
	scheme = strings.ToLower(scheme)
	return scheme == "amqp" || scheme == "amqps"
}

// newRabbitAuth reads the server's user and vhost from its broker URL.
func newRabbitAuth(s *Server, broker, secret string) (*rabbitAuth, error) {
	u, err := url.Parse(broker)
	if err != nil {
		return nil, fmt.Errorf("read the broker URL: %w", err)
	}
	a := &rabbitAuth{s: s, vhost: "/", devices: map[string]string{}}
	if u.User != nil {
		a.user = u.User.Username()
		a.password, _ = u.User.Password()
	}
	if p := strings.TrimPrefix(u.Path, "/"); p != "" {
		a.vhost = p // url.Parse has decoded %2F already
	}
	a.backend = rabbitauth.New(rabbitauth.Config{
		Vhost: a.vhost, ServerUser: a.user, ServerPassword: a.password, Secret: secret,
		Directory: a, Logger: s.log, Now: s.now,
	})
	return a, nil
}

// mount adds the endpoints to mux.
func (a *rabbitAuth) mount(mux *http.ServeMux) { a.backend.Mount(mux, RabbitMQAuthPrefix) }

// Authenticate is rabbitauth.Directory's: user = device ID, password =
// its token.
func (a *rabbitAuth) Authenticate(ctx context.Context, user, password string) (bus.Principal, error) {
	p, err := a.s.brokerAuth(user, password)
	if err != nil {
		return bus.Principal{}, err
	}
	a.mu.Lock()
	a.devices[user] = p.Workspace
	a.mu.Unlock()
	return p, nil
}

// Principal is rabbitauth.Directory's: the device, while not revoked.
func (a *rabbitAuth) Principal(ctx context.Context, user string) (bus.Principal, error) {
	d, err := a.device(ctx, user)
	if err != nil {
		return bus.Principal{}, err
	}
	return bus.Principal{Role: bus.RoleDevice, Workspace: d.Workspace, Device: d.Name}, nil
}

var errNoDevice = errors.New("no such device, or revoked")

// device returns the unrevoked device with the ID, finding its workspace
// once (RabbitMQ names users, not workspaces).
func (a *rabbitAuth) device(ctx context.Context, id string) (runlet.Device, error) {
	a.mu.Lock()
	ws, ok := a.devices[id]
	a.mu.Unlock()
	if ok {
		d, err := a.s.db.Device(ctx, ws, id)
		if err != nil || d.Revoked {
			return runlet.Device{}, errNoDevice
		}
		return d, nil
	}
	wss, err := a.s.db.ListWorkspaces(ctx)
	if err != nil {
		return runlet.Device{}, fmt.Errorf("list workspaces: %w", err)
	}
	for _, w := range wss {
		d, err := a.s.db.Device(ctx, w.ID, id)
		if err != nil {
			continue
		}
		a.mu.Lock()
		a.devices[id] = w.ID
		a.mu.Unlock()
		if d.Revoked {
			return runlet.Device{}, errNoDevice
		}
		return d, nil
	}
	return runlet.Device{}, errNoDevice
}
