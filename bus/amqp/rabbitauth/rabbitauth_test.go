package rabbitauth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runlet/runlet/bus"
	amqpbus "github.com/runlet/runlet/bus/amqp"
)

// directory is a fixed table of users, counting the lookups.
type directory struct {
	mu      sync.Mutex
	users   map[string]bus.Principal
	lookups int
}

func (d *directory) Authenticate(ctx context.Context, user, password string) (bus.Principal, error) {
	if password != "pw" {
		return bus.Principal{}, errors.New("wrong password")
	}
	return d.Principal(ctx, user)
}

func (d *directory) Principal(_ context.Context, user string) (bus.Principal, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lookups++
	p, ok := d.users[user]
	if !ok {
		return bus.Principal{}, errors.New("revoked")
	}
	return p, nil
}

func (d *directory) revoke(user string) {
	d.mu.Lock()
	delete(d.users, user)
	d.mu.Unlock()
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newBackend(t *testing.T) (*Backend, *directory, *clock, func(path string, form url.Values) string) {
	dir := &directory{users: map[string]bus.Principal{
		"dev-b":  {Role: bus.RoleDevice, Workspace: "w1", Device: "pi-b"},
		"viewer": {Role: bus.RoleViewer, Workspace: "w1"},
	}}
	clk := &clock{t: time.Unix(1e9, 0)}
	b := New(Config{Vhost: "v", ServerUser: "srv", ServerPassword: "spw", Directory: dir, Now: clk.now, CacheSize: 4})
	mux := http.NewServeMux()
	b.Mount(mux, "/rabbitmq")
	ask := func(path string, form url.Values) string {
		r := httptest.NewRequest(http.MethodPost, "/rabbitmq/"+path, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.RemoteAddr = "127.0.0.1:5000"
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		return w.Body.String()
	}
	return b, dir, clk, ask
}

// TestTopicFromPolicy: the holes of issue 11 as the broker asks about them.
func TestTopicFromPolicy(t *testing.T) {
	_, _, _, ask := newBackend(t)
	ex := amqpbus.ExchangeName("w1")
	topic := func(user, perm, key, exchange string) string {
		return ask("topic", url.Values{"username": {user}, "vhost": {"v"}, "resource": {"topic"}, "name": {exchange}, "permission": {perm}, "routing_key": {key}})
	}
	for _, c := range []struct {
		user, perm string
		key        bus.Key
		exchange   string
		want       string
	}{
		{"dev-b", "write", bus.DispatchKey("pi-a"), ex, "deny"},
		{"dev-b", "write", bus.StatusKey("e", "pi-a"), ex, "deny"},
		{"dev-b", "write", bus.StatusKey("e", "pi-b"), ex, "allow"},
		{"dev-b", "write", bus.OutputKey("e", "pi-a"), ex, "deny"},
		{"dev-b", "write", bus.HeartbeatKey("pi-a"), ex, "deny"},
		{"dev-b", "write", bus.HeartbeatKey("pi-b"), ex, "allow"},
		{"dev-b", "write", bus.InputKey("e", "pi-a"), ex, "allow"},
		{"dev-b", "read", bus.InputKey("e", "pi-a"), ex, "deny"},
		{"dev-b", "read", "job.*.pi-b.io.input.v1", ex, "allow"},
		{"dev-b", "read", "#", ex, "deny"},
		{"dev-b", "read", "job.e.#", ex, "deny"},
		{"dev-b", "read", bus.DispatchKey("pi-a"), ex, "deny"},
		{"dev-b", "read", bus.DispatchKey("pi-b"), ex, "allow"}, // its own queue's binding
		{"dev-b", "read", bus.OutputKey("e", "pi-a"), ex, "allow"},
		{"dev-b", "write", bus.StatusKey("e", "pi-b"), amqpbus.ExchangeName("w2"), "deny"},
		{"viewer", "write", bus.InputKey("e", "pi-a"), ex, "allow"},
		{"viewer", "write", bus.StatusKey("e", "pi-a"), ex, "deny"},
		{"srv", "write", bus.DispatchKey("pi-a"), ex, "allow"},
		{"nobody", "write", bus.InputKey("e", "pi-a"), ex, "deny"},
	} {
		if got := topic(c.user, c.perm, string(c.key), c.exchange); got != c.want {
			t.Errorf("%s %s %s on %s: %s, want %s", c.user, c.perm, c.key, c.exchange, got, c.want)
		}
	}
}

func TestResourceFromPolicy(t *testing.T) {
	_, _, _, ask := newBackend(t)
	res := func(user, kind, name, perm string) string {
		return ask("resource", url.Values{"username": {user}, "vhost": {"v"}, "resource": {kind}, "name": {name}, "permission": {perm}})
	}
	for _, c := range []struct{ user, kind, name, perm, want string }{
		{"dev-b", "queue", amqpbus.QueueName("w1", bus.DispatchQueue("pi-b")), "read", "allow"},
		{"dev-b", "queue", amqpbus.QueueName("w1", bus.DispatchQueue("pi-a")), "read", "deny"},
		{"dev-b", "queue", amqpbus.QueueName("w1", bus.StatusQueue), "read", "deny"},
		{"dev-b", "queue", amqpbus.ExchangeName("w1") + ".sub.x1", "configure", "allow"},
		{"dev-b", "queue", amqpbus.ExchangeName("w2") + ".sub.x1", "configure", "deny"},
		{"dev-b", "exchange", amqpbus.ExchangeName("w1"), "write", "allow"},
		{"dev-b", "exchange", amqpbus.ExchangeName("w2"), "write", "deny"},
		{"srv", "queue", "anything", "configure", "allow"},
	} {
		if got := res(c.user, c.kind, c.name, c.perm); got != c.want {
			t.Errorf("%s %s %s %s: %s, want %s", c.user, c.kind, c.name, c.perm, got, c.want)
		}
	}
	if got := ask("vhost", url.Values{"username": {"dev-b"}, "vhost": {"other"}}); got != "deny" {
		t.Errorf("another vhost: %s", got)
	}
}

// TestCache: answers come from memory within the TTL, a revocation is seen
// after it (or at once with Forget), and the cache stays bounded.
func TestCache(t *testing.T) {
	b, dir, clk, ask := newBackend(t)
	vhost := func(user string) string { return ask("vhost", url.Values{"username": {user}, "vhost": {"v"}}) }
	if got := ask("user", url.Values{"username": {"dev-b"}, "password": {"pw"}}); got != "allow" {
		t.Fatalf("user: %s", got)
	}
	before := dir.lookups
	for range 100 {
		if vhost("dev-b") != "allow" {
			t.Fatal("vhost denied")
		}
	}
	if dir.lookups != before {
		t.Errorf("100 checks within the TTL looked the user up %d times, want 0", dir.lookups-before)
	}
	dir.revoke("dev-b")
	if vhost("dev-b") != "allow" {
		t.Fatal("the cached answer is gone before its TTL")
	}
	clk.add(DefaultCacheTTL)
	if got := vhost("dev-b"); got != "deny" {
		t.Errorf("a revoked device is still allowed after the TTL: %s", got)
	}
	dir.users["dev-c"] = bus.Principal{Role: bus.RoleDevice, Workspace: "w1", Device: "pi-c"}
	_ = vhost("dev-c")
	dir.revoke("dev-c")
	b.Forget("dev-c")
	if got := vhost("dev-c"); got != "deny" {
		t.Errorf("Forget did not take effect at once: %s", got)
	}
	for i := range 50 {
		b.cache.put(string(rune('a'+i)), bus.Principal{})
	}
	if n := len(b.cache.m); n > 4 {
		t.Errorf("the cache holds %d entries, want at most 4", n)
	}
}
