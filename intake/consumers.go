package intake

import (
	"context"

	"github.com/runlet/runlet/bus"
)

// queueConnections is Config.Connections for a broker that cannot list
// its connections but can count a queue's consumers (RabbitMQ): a device
// shown online is connected while its dispatch queue has a consumer, its
// daemon. Only the devices shown online are asked about, one passive
// declare each per sweep; a device comes back online by its heartbeat,
// which its daemon sends as soon as it reconnects.
func (s *Service) queueConnections(cc bus.ConsumerCounter) func(context.Context) (map[string]map[string]bool, error) {
	return func(ctx context.Context) (map[string]map[string]bool, error) {
		conns := map[string]map[string]bool{}
		for ws, names := range s.presence.shownOnline() {
			for _, name := range names {
				n, err := cc.Consumers(ctx, ws, bus.DispatchQueue(name))
				if err != nil {
					return nil, err
				}
				if n > 0 {
					if conns[ws] == nil {
						conns[ws] = map[string]bool{}
					}
					conns[ws][name] = true
				}
			}
		}
		return conns, nil
	}
}
