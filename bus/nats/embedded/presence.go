package embedded

import (
	"context"
	"fmt"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/runlet/runlet/bus"
)

func (s *Server) remember(user string, p bus.Principal) {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	if s.users == nil {
		s.users = map[string]bus.Principal{}
	}
	s.users[user] = p
}

func (s *Server) principal(user string) (bus.Principal, bool) {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	p, ok := s.users[user]
	return p, ok
}

// Daemons lists the devices connected to the broker now, per workspace id
// and device name: the broker's own word on presence. Any connection of
// the device counts (its daemon's, or a CLI's on it: connections do not
// prove who opened them). A daemon killed is gone from the list as soon
// as its socket closes; one cut off without a word, once the server's
// PINGs go unanswered (two missed, at nats-server's 2-minute interval).
func (s *Server) Daemons(context.Context) (map[string]map[string]bool, error) {
	cz, err := s.ns.Connz(&server.ConnzOptions{Username: true, Limit: 1 << 20})
	if err != nil {
		return nil, fmt.Errorf("bus: embedded nats: list the connections: %w", err)
	}
	out := map[string]map[string]bool{}
	for _, c := range cz.Conns {
		p, ok := s.principal(c.AuthorizedUser)
		if !ok || p.Role != bus.RoleDevice {
			continue
		}
		if out[p.Workspace] == nil {
			out[p.Workspace] = map[string]bool{}
		}
		out[p.Workspace][p.Device] = true
	}
	return out, nil
}
