package amqp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/runlet/runlet/internal/redact"
)

// Management speaks to RabbitMQ's management HTTP API, for what AMQP
// cannot do: closing another user's connections when its credentials are
// revoked (RabbitMQ checks credentials only at connect and per operation,
// so a revoked device's live consumer would go on receiving).
type Management struct {
	// URL is the management API's base with credentials of a user tagged
	// administrator: "http://user:password@host:15672".
	URL string
	// HTTP is the client; nil means one with a 10 s timeout.
	HTTP *http.Client
}

// ManagementURL derives the management API's address from a broker URL:
// the same host and credentials on port 15672 (https when amqps).
func ManagementURL(broker string) (string, error) {
	u, err := url.Parse(broker)
	if err != nil {
		// Not err: url.Parse quotes the URL, password and all.
		return "", fmt.Errorf("the broker URL %s is not a valid URL", redact.URL(broker))
	}
	m := url.URL{Scheme: "http", Host: u.Hostname() + ":15672", User: u.User}
	if u.Scheme == "amqps" {
		m.Scheme = "https"
	}
	return m.String(), nil
}

// CloseUser closes every connection of user. The broker finds them by
// its connection tracking, at once (the connection list of the management
// database lags by its statistics interval).
func (m Management) CloseUser(ctx context.Context, user, reason string) error {
	return m.do(ctx, http.MethodDelete, "/api/connections/username/"+url.PathEscape(user), reason, nil)
}

// Cut closes a revoked device's connections, as the server's auth
// service asks for it; RabbitMQ does not say how many (-1).
func (m Management) Cut(ctx context.Context, user string) (int, error) {
	return -1, m.CloseUser(ctx, user, "runlet: the device was signed out or removed")
}

func (m Management) do(ctx context.Context, method, path, reason string, out any) error {
	base, err := url.Parse(m.URL)
	if err != nil {
		return fmt.Errorf("the RabbitMQ management URL %s is not a valid URL", redact.URL(m.URL))
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(base.Scheme+"://"+base.Host+base.Path, "/")+path, nil)
	if err != nil {
		return err
	}
	if base.User != nil {
		pw, _ := base.User.Password()
		req.SetBasicAuth(base.User.Username(), pw)
	}
	if reason != "" {
		req.Header.Set("X-Reason", reason)
	}
	client := m.HTTP
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("RabbitMQ management API at %s: %w", base.Host, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound && method == http.MethodDelete:
		return nil // gone already
	case resp.StatusCode >= 300:
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("RabbitMQ management API at %s: %s %s: %s %s", base.Host, method, path, resp.Status, strings.TrimSpace(string(body)))
	case out != nil:
		return json.NewDecoder(resp.Body).Decode(out)
	}
	return nil
}
