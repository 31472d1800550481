// Package connect opens a bus.Bus from a broker URL, choosing the adapter by
// the URL's scheme: nats:// (and tls://) for NATS, amqp:// and amqps:// for
// RabbitMQ. It is the one place that knows every adapter.
package connect

import (
	"context"
	"fmt"
	"strings"

	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/bus/amqp"
	"github.com/runlet/runlet/bus/nats"
	"github.com/runlet/runlet/internal/redact"
)

// Open connects to the broker at url.
func Open(ctx context.Context, url string, opts bus.Options) (bus.Bus, error) {
	scheme, _, ok := strings.Cut(url, "://")
	if !ok {
		return nil, fmt.Errorf("%w: %q has no scheme", bus.ErrScheme, redact.URL(url))
	}
	switch strings.ToLower(scheme) {
	case "nats", "tls":
		return opened(nats.Open(ctx, url, opts))
	case "amqp", "amqps":
		return opened(amqp.Open(ctx, url, opts))
	}
	return nil, fmt.Errorf("%w: %q in %q", bus.ErrScheme, scheme, redact.URL(url))
}

// opened returns an adapter's Open as a Bus, nil when it failed: a nil
// *Bus in a Bus interface is not nil, and the caller would Close it.
func opened[B bus.Bus](b B, err error) (bus.Bus, error) {
	if err != nil {
		return nil, err
	}
	return b, nil
}
