package alert

import (
	"context"
	"slices"
	"strings"

	"github.com/runlet/runlet"
)

// recipients returns the enabled channels that carry an alert of kind k
// about metric m (of sensor sn, nil when about a device): the channels
// of the users the route's audience names, and the workspace's channels
// whose routes include it. The owner is the member whose e-mail (any
// case) or user ID is the sensor's owner; when the audience is the owner
// and there is none, the admins are told instead, so that nobody misses
// the alert.
func (s *Service) recipients(ctx context.Context, ws string, r *rules, k runlet.AlertKind, m runlet.Metric, sn *runlet.Sensor) ([]runlet.Channel, error) {
	a, err := s.cache.audience(ctx, ws)
	if err != nil {
		return nil, err
	}
	route := runlet.RouteOf(k, m)
	return a.route(route, r.settings.AudienceOf(route), sn), nil
}

// route is the routing table: who of a gets route with audience aud.
func (a *audience) route(route runlet.Route, aud runlet.Audience, sn *runlet.Sensor) []runlet.Channel {
	users := map[string]bool{}
	owner := ""
	if sn != nil && sn.Owner != "" {
		for _, m := range a.members {
			if strings.EqualFold(m.user.Email, sn.Owner) || m.user.ID == sn.Owner {
				owner = m.user.ID
				break
			}
		}
	}
	admins := aud == runlet.AudienceAdmins || aud == runlet.AudienceBoth
	if aud == runlet.AudienceOwner || aud == runlet.AudienceBoth {
		if owner != "" {
			users[owner] = true
		} else {
			admins = true // R-TEL-5: nobody misses an alert
		}
	}
	if admins {
		for _, m := range a.members {
			if m.admin {
				users[m.user.ID] = true
			}
		}
	}
	var out []runlet.Channel
	for _, c := range a.channels {
		switch {
		case c.Disabled:
		case c.User != "":
			if users[c.User] {
				out = append(out, c)
			}
		case len(c.Routes) == 0 || slices.Contains(c.Routes, route):
			out = append(out, c)
		}
	}
	return out
}
