package rabbitauth

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// TestForBroker: the endpoints answer loopback callers only, or with a
// secret, only the path that carries it; the server's own user and vhost
// are read from its broker URL.
func TestForBroker(t *testing.T) {
	cfg := func(secret string) Config {
		return Config{Secret: secret, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	}
	form := url.Values{"username": {"runlet"}, "password": {"p%ss"}}.Encode()
	ask := func(b *Backend, path, remote, body string) (int, string) {
		mux := http.NewServeMux()
		b.Mount(mux, "/rabbitmq")
		r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.RemoteAddr = remote
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		return w.Code, w.Body.String()
	}
	open, err := ForBroker("amqp://runlet:p%25ss@127.0.0.1:5672/a%2Fb", cfg(""))
	if err != nil {
		t.Fatal(err)
	}
	secret, err := ForBroker("amqp://runlet:p%25ss@127.0.0.1:5672/", cfg("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	wrongPassword := url.Values{"username": {"runlet"}, "password": {"nope"}}.Encode()
	for _, c := range []struct {
		a                  *Backend
		path, remote, body string
		code               int
		answer             string
	}{
		{open, "/rabbitmq/user", "127.0.0.1:5000", form, 200, "allow administrator"},
		{open, "/rabbitmq/user", "[::1]:5000", form, 200, "allow administrator"},
		{open, "/rabbitmq/user", "127.0.0.1:5000", wrongPassword, 200, "deny"},
		{open, "/rabbitmq/user", "192.0.2.1:5000", form, 403, ""},
		{open, "/rabbitmq/vhost", "127.0.0.1:5000", "username=runlet&vhost=a%2Fb", 200, "allow"},
		{open, "/rabbitmq/vhost", "127.0.0.1:5000", "username=runlet&vhost=%2F", 200, "deny"},
		{open, "/rabbitmq/resource", "127.0.0.1:5000", "username=runlet&vhost=a%2Fb&resource=queue&name=x&permission=configure", 200, "allow"},
		{secret, "/rabbitmq/s3cret/user", "192.0.2.1:5000", form, 200, "allow administrator"},
		{secret, "/rabbitmq/s3cret/vhost", "192.0.2.1:5000", "username=runlet&vhost=%2F", 200, "allow"},
		{secret, "/rabbitmq/guess/user", "127.0.0.1:5000", form, 403, ""},
		{secret, "/rabbitmq/user", "127.0.0.1:5000", form, 404, ""},
	} {
		code, body := ask(c.a, c.path, c.remote, c.body)
		if code != c.code || (c.answer != "" && body != c.answer) {
			t.Errorf("%s from %s (%s): %d %q, want %d %q", c.path, c.remote, c.body, code, body, c.code, c.answer)
		}
	}
}

func TestForBrokerBadURL(t *testing.T) {
	_, err := ForBroker("amqp://runlet:s3cret@[::1", Config{})
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("a malformed broker URL: %v; want an error without the password", err)
	}
	for url, want := range map[string]bool{"amqp://h/": true, "AMQPS://h": true, "nats://h": false, "": false} {
		if IsBrokerURL(url) != want {
			t.Errorf("IsBrokerURL(%q) = %v", url, !want)
		}
	}
}
