package alert

import (
	"slices"
	"testing"
	"time"

	"github.com/runlet/runlet"
)

// TestRoute is the routing table: who gets each route, from the
// sensor's owner, the admins and the workspace's channels.
func TestRoute(t *testing.T) {
	ann := runlet.User{ID: "u-ann", Email: "Ann@Example.com"}
	bob := runlet.User{ID: "u-bob", Email: "bob@example.com"}
	cat := runlet.User{ID: "u-cat", Email: "cat@example.com"}
	a := &audience{
		members: []member{{user: ann}, {user: bob, admin: true}, {user: cat, admin: true}},
		channels: []runlet.Channel{
			{ID: "ann-mail", User: ann.ID},
			{ID: "ann-sms", User: ann.ID},
			{ID: "bob-mail", User: bob.ID},
			{ID: "cat-off", User: cat.ID, Disabled: true},
			{ID: "team-all"},
			{ID: "team-temp", Routes: []runlet.Route{"threshold.temp", "silence"}},
			{ID: "team-off", Disabled: true},
		},
	}
	owned := &runlet.Sensor{ID: 1, Owner: "ann@example.com"}
	byID := &runlet.Sensor{ID: 2, Owner: "u-ann"}
	stranger := &runlet.Sensor{ID: 3, Owner: "zed@example.com"}
	ownerless := &runlet.Sensor{ID: 4}
	tests := []struct {
		name  string
		route runlet.Route
		aud   runlet.Audience
		sn    *runlet.Sensor
		want  []string
	}{
		{"owner by e-mail, any case", "threshold.temp", runlet.AudienceOwner, owned, []string{"ann-mail", "ann-sms", "team-all", "team-temp"}},
		{"owner by user ID", "silence", runlet.AudienceOwner, byID, []string{"ann-mail", "ann-sms", "team-all", "team-temp"}},
		{"admins", "threshold.batt", runlet.AudienceAdmins, owned, []string{"bob-mail", "team-all"}},
		{"both", "threshold.batt", runlet.AudienceBoth, owned, []string{"ann-mail", "ann-sms", "bob-mail", "team-all"}},
		{"owner not a member: the admins", "threshold.temp", runlet.AudienceOwner, stranger, []string{"bob-mail", "team-all", "team-temp"}},
		{"no owner: the admins", "silence", runlet.AudienceOwner, ownerless, []string{"bob-mail", "team-all", "team-temp"}},
		{"a device alert: the admins", "offline", runlet.AudienceAdmins, nil, []string{"bob-mail", "team-all"}},
		{"a device alert routed to the owner: the admins", "offline", runlet.AudienceOwner, nil, []string{"bob-mail", "team-all"}},
		{"both without an owner", "refused", runlet.AudienceBoth, nil, []string{"bob-mail", "team-all"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, c := range a.route(tt.route, tt.aud, tt.sn) {
				got = append(got, c.ID)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestAudienceOf: the routing a workspace sets overrides the defaults
// (temperature and silence to the owner; battery, device and system to
// the admins).
func TestAudienceOf(t *testing.T) {
	var s runlet.AlertSettings
	for r, want := range map[runlet.Route]runlet.Audience{
		"threshold.temp": runlet.AudienceOwner, "threshold.batt": runlet.AudienceAdmins, "silence": runlet.AudienceOwner,
		"offline": runlet.AudienceAdmins, "outbox": runlet.AudienceAdmins, "refused": runlet.AudienceAdmins,
	} {
		if got := s.AudienceOf(r); got != want {
			t.Errorf("default %s: %s, want %s", r, got, want)
		}
	}
	s.Routing = map[runlet.Route]runlet.Audience{"threshold.batt": runlet.AudienceBoth}
	if got := s.AudienceOf("threshold.batt"); got != runlet.AudienceBoth {
		t.Errorf("configured threshold.batt: %s, want both", got)
	}
}

func TestSpan(t *testing.T) {
	for d, want := range map[string]string{"1h0m0s": "1h", "1h10m0s": "1h10m", "15m0s": "15m", "2s": "2s", "1h0m5s": "1h0m5s"} {
		dd, _ := parseDur(d)
		if got := span(dd); got != want {
			t.Errorf("span(%s) = %s, want %s", d, got, want)
		}
	}
}

func parseDur(s string) (time.Duration, error) { return time.ParseDuration(s) }
