package rabbitauth

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/runlet/runlet/internal/redact"
)

// IsBrokerURL reports whether a broker URL is RabbitMQ's (amqp://,
// amqps://): the server then answers its HTTP auth backend.
func IsBrokerURL(broker string) bool {
	scheme, _, _ := strings.Cut(broker, "://")
	scheme = strings.ToLower(scheme)
	return scheme == "amqp" || scheme == "amqps"
}

// ForBroker makes the backend for the server whose broker URL (with its
// credentials) is broker: cfg's Vhost, ServerUser and ServerPassword come
// from the URL.
func ForBroker(broker string, cfg Config) (*Backend, error) {
	u, err := url.Parse(broker)
	if err != nil {
		// Not err: url.Parse quotes the URL, password and all.
		return nil, fmt.Errorf("the broker URL %s is not a valid URL", redact.URL(broker))
	}
	cfg.Vhost, cfg.ServerUser, cfg.ServerPassword = "/", "", ""
	if u.User != nil {
		cfg.ServerUser = u.User.Username()
		cfg.ServerPassword, _ = u.User.Password()
	}
	if p := strings.TrimPrefix(u.Path, "/"); p != "" {
		cfg.Vhost = p // url.Parse has decoded %2F already
	}
	return New(cfg), nil
}
