package server

// RabbitMQ's HTTP auth backend (rabbitmq_auth_backend_http) asks these
// endpoints who may connect and what each user may touch: the server's own
// user (the credentials of its --broker URL) may do anything on its vhost;
// a device (user = device ID, password = its API token) may use the names
// of its own workspace only, its own dispatch queue but no other device's,
// and may not speak for another device on the workspace's exchange.
//
// The endpoints answer RabbitMQ only: without a shared secret they are
// mounted at /rabbitmq/{user,vhost,resource,topic} and refuse every caller
// that is not on loopback; with one (--rabbitmq-auth-secret) they are
// mounted at /rabbitmq/SECRET/... and the path is the proof. The broker's
// configuration names them, for example:
//
//	auth_backends.1 = http
//	auth_http.http_method = post
//	auth_http.user_path = http://127.0.0.1:8080/rabbitmq/user
//	auth_http.vhost_path = http://127.0.0.1:8080/rabbitmq/vhost
//	auth_http.resource_path = http://127.0.0.1:8080/rabbitmq/resource
//	auth_http.topic_path = http://127.0.0.1:8080/rabbitmq/topic

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/runlet/runlet/bus"
	amqpbus "github.com/runlet/runlet/bus/amqp"
	"github.com/runlet/runlet/store"
)

// RabbitMQAuthPrefix is where the RabbitMQ auth endpoints live.
const RabbitMQAuthPrefix = "/rabbitmq"

// rabbitAuth answers the HTTP auth backend for one broker URL.
type rabbitAuth struct {
	s        *Server
	user     string // the server's own broker user
	password string
	vhost    string
	secret   string // "" = loopback callers only

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
	a := &rabbitAuth{s: s, vhost: "/", secret: secret, devices: map[string]string{}}
	if u.User != nil {
		a.user = u.User.Username()
		a.password, _ = u.User.Password()
	}
	if p := strings.TrimPrefix(u.Path, "/"); p != "" {
		a.vhost = p // url.Parse has decoded %2F already
	}
	return a, nil
}

// mount adds the endpoints to mux.
func (a *rabbitAuth) mount(mux *http.ServeMux) {
	prefix := RabbitMQAuthPrefix
	if a.secret != "" {
		prefix += "/{secret}"
	}
	for name, h := range map[string]func(*http.Request) bool{
		"user": a.userAllowed, "vhost": a.vhostAllowed, "resource": a.resourceAllowed, "topic": a.topicAllowed,
	} {
		mux.Handle(prefix+"/"+name, a.guard(h))
	}
}

// guard refuses callers that are not RabbitMQ and answers h's verdict as
// the plain text the backend reads.
func (a *rabbitAuth) guard(allowed func(*http.Request) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.caller(r) {
			http.Error(w, "This endpoint answers the RabbitMQ broker only.", http.StatusForbidden)
			return
		}
		if err := r.ParseForm(); err != nil {
			http.Error(w, "The request is not a form: "+err.Error(), http.StatusBadRequest)
			return
		}
		verdict := "deny"
		if allowed(r) {
			verdict = "allow"
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, verdict)
	})
}

// caller reports whether r comes from the broker: it carries the secret,
// or, without one configured, it comes from loopback.
func (a *rabbitAuth) caller(r *http.Request) bool {
	if a.secret != "" {
		return subtle.ConstantTimeCompare([]byte(r.PathValue("secret")), []byte(a.secret)) == 1
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	ip := net.ParseIP(host)
	return err == nil && ip != nil && ip.IsLoopback()
}

// isServer reports whether username is the server's own broker user.
func (a *rabbitAuth) isServer(username string) bool {
	return a.user != "" && subtle.ConstantTimeCompare([]byte(username), []byte(a.user)) == 1
}

func (a *rabbitAuth) userAllowed(r *http.Request) bool {
	user, password := r.Form.Get("username"), r.Form.Get("password")
	if a.isServer(user) {
		return a.password != "" && subtle.ConstantTimeCompare([]byte(password), []byte(a.password)) == 1
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	p, err := a.s.brokerAuth(user, password)
	if err != nil {
		a.s.log.Info("broker refused a device", "user", user, "ip", r.Form.Get("ip"), "reason", err)
		return false
	}
	a.mu.Lock()
	a.devices[user] = p.Workspace
	a.mu.Unlock()
	_, err = a.device(ctx, user)
	return err == nil
}

func (a *rabbitAuth) vhostAllowed(r *http.Request) bool {
	if r.Form.Get("vhost") != a.vhost {
		return false
	}
	user := r.Form.Get("username")
	if a.isServer(user) {
		return true
	}
	_, err := a.device(r.Context(), user)
	return err == nil
}

// resourceAllowed lets a device use its workspace's exchange, its own
// dispatch queue and the transient queues of its subscriptions.
func (a *rabbitAuth) resourceAllowed(r *http.Request) bool {
	f := r.Form
	if f.Get("vhost") != a.vhost {
		return false
	}
	if a.isServer(f.Get("username")) {
		return true
	}
	d, err := a.device(r.Context(), f.Get("username"))
	if err != nil {
		return false
	}
	name := f.Get("name")
	switch f.Get("resource") {
	case "exchange":
		return name == amqpbus.ExchangeName(d.Workspace)
	case "queue":
		return name == amqpbus.QueueName(d.Workspace, bus.DispatchQueue(d.Name)) ||
			strings.HasPrefix(name, amqpbus.ExchangeName(d.Workspace)+".sub.")
	}
	return false
}

// topicAllowed lets a device publish on and bind to its workspace's
// exchange, but not bind to another device's dispatch key nor publish
// dispatches or what another device reports (status, output, replays).
func (a *rabbitAuth) topicAllowed(r *http.Request) bool {
	f := r.Form
	if f.Get("vhost") != a.vhost {
		return false
	}
	if a.isServer(f.Get("username")) {
		return true
	}
	d, err := a.device(r.Context(), f.Get("username"))
	if err != nil || f.Get("name") != amqpbus.ExchangeName(d.Workspace) {
		return false
	}
	words := strings.Split(f.Get("routing_key"), ".")
	own := bus.Word(d.Name)
	switch f.Get("permission") {
	case "write":
		return words[0] != "device" && !(words[0] == "job" && len(words) > 3 && deviceReports(words) && words[2] != own)
	case "read":
		return !bindsOtherDispatch(words, own)
	}
	return false
}

// deviceReports reports whether the job key's words are what only the
// device running the job sends.
func deviceReports(words []string) bool {
	rest := strings.Join(words[3:], ".")
	return rest == "status.v1" || rest == "io.output.v1" || strings.HasPrefix(rest, "io.replay.")
}

// bindsOtherDispatch reports whether a binding pattern may match the
// dispatch key of a device other than own.
func bindsOtherDispatch(words []string, own string) bool {
	switch words[0] {
	case "#":
		return true
	case "*", "device":
		return len(words) > 1 && words[1] != own
	}
	return false
}

var errNoDevice = errors.New("no such device, or revoked")

// device returns the unrevoked device with the ID, finding its workspace
// once (RabbitMQ names users, not workspaces).
func (a *rabbitAuth) device(ctx context.Context, id string) (store.Device, error) {
	a.mu.Lock()
	ws, ok := a.devices[id]
	a.mu.Unlock()
	if ok {
		d, err := a.s.db.Device(ctx, ws, id)
		if err != nil || d.Revoked {
			return store.Device{}, errNoDevice
		}
		return d, nil
	}
	wss, err := a.s.db.ListWorkspaces(ctx)
	if err != nil {
		return store.Device{}, fmt.Errorf("list workspaces: %w", err)
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
			return store.Device{}, errNoDevice
		}
		return d, nil
	}
	return store.Device{}, errNoDevice
}
