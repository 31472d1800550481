package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/auth"
)

// The channels that carry alerts to people (R-TEL-5): e-mail addresses,
// webhooks and phone numbers, of the workspace (every alert of their
// routes) or of one member (what is routed to that member). Every member
// sees the workspace's channels and their own, and manages their own;
// admins see and manage all. A channel of another workspace, or another
// member's seen by a member, is not found. A webhook's secret goes in
// and never comes out.

// The longest secret a webhook channel takes, in bytes.
const maxChannelSecret = 256

// channelCaller is who asks about channels: the user (nil for a device)
// and whether they are an admin of the workspace.
type channelCaller struct {
	user  *runlet.User
	admin bool
}

func (s *Server) channelCaller(ctx context.Context, c *auth.Caller) (channelCaller, error) {
	if c.User == nil {
		return channelCaller{}, nil
	}
	m, err := s.member(ctx, c)
	if err != nil {
		return channelCaller{}, err
	}
	return channelCaller{user: c.User, admin: m.Role != runlet.RoleMember}, nil
}

// sees reports whether the caller may see ch.
func (cc channelCaller) sees(ch runlet.Channel) bool {
	return cc.admin || ch.User == "" || cc.user != nil && ch.User == cc.user.ID
}

// mayChange returns nil when the caller may change ch, which they see.
func (cc channelCaller) mayChange(ch runlet.Channel) error {
	switch {
	case cc.user == nil:
		return runlet.Errorf(runlet.EFORBIDDEN, "A device token cannot change channels: sign in as a user.")
	case cc.admin || ch.User == cc.user.ID:
		return nil
	}
	return runlet.Errorf(runlet.EFORBIDDEN, "Only an admin of the workspace may change its channels; you may change your own.")
}

// handleListChannels is GET /channels: those the caller may see, by
// creation.
func (s *Server) handleListChannels(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := callerOf(r)
	cc, err := s.channelCaller(ctx, c)
	if err != nil {
		s.error(w, r, err)
		return
	}
	list, err := s.db.Channels(ctx, c.Workspace.ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	out := api.Channels{Channels: []runlet.Channel{}}
	for _, ch := range list {
		if cc.sees(ch) {
			out.Channels = append(out.Channels, ch)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// handleAddChannel is POST /channels: 201 with the channel. A member adds
// their own; an admin any.
func (s *Server) handleAddChannel(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := callerOf(r)
	var req api.NewChannel
	if err := decode(r, &req); err != nil {
		s.error(w, r, err)
		return
	}
	cc, err := s.channelCaller(ctx, c)
	if err != nil {
		s.error(w, r, err)
		return
	}
	ch := runlet.Channel{Workspace: c.Workspace.ID, Kind: req.Kind, Target: strings.TrimSpace(req.Target), Routes: req.Routes, Disabled: req.Disabled}
	if ch.User, err = s.channelUser(ctx, c, cc, strings.TrimSpace(req.User)); err == nil {
		err = cc.mayChange(ch)
	}
	if err == nil {
		ch.Target, err = checkChannel(ch)
	}
	if err == nil {
		err = checkChannelSecret(ch.Kind, req.Secret)
	}
	if err == nil {
		err = s.db.AddChannel(ctx, &ch, req.Secret)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.forgetAlerts(c.Workspace.ID)
	s.log.Info("channel added", "workspace", c.Workspace.Name, "channel", ch.ID, "kind", ch.Kind, "user", ch.User, "by", c.User.Email)
	writeJSON(w, http.StatusCreated, ch)
}

// channelUser is the user a new channel is for: "" the workspace, "me"
// the caller, else a member named by id or e-mail address, whom only an
// admin may name.
func (s *Server) channelUser(ctx context.Context, c *auth.Caller, cc channelCaller, v string) (string, error) {
	switch {
	case cc.user == nil:
		return "", runlet.Errorf(runlet.EFORBIDDEN, "A device token cannot add channels: sign in as a user.")
	case v == api.ChannelOfWorkspace:
		return "", nil
	case v == api.ChannelOfCaller || v == cc.user.ID || strings.EqualFold(v, cc.user.Email):
		return cc.user.ID, nil
	case !cc.admin:
		return "", runlet.Errorf(runlet.EFORBIDDEN, "Only an admin may add a channel for another member; add your own with user \"me\".")
	}
	id := v
	if strings.Contains(v, "@") {
		u, err := s.db.UserByEmail(ctx, v)
		if err != nil && runlet.ErrorCode(err) != runlet.ENOTFOUND {
			return "", err
		}
		id = u.ID
	}
	if id != "" {
		_, err := s.db.Membership(ctx, c.Workspace.ID, id)
		if err == nil {
			return id, nil
		}
		if runlet.ErrorCode(err) != runlet.ENOTFOUND {
			return "", err
		}
	}
	return "", runlet.Errorf(runlet.EINVALID, "user %q is not a member of this workspace: give \"me\", a member's id or e-mail address (see GET /members), or \"\" for a channel of the workspace.", runlet.SafeText(v))
}

// handlePatchChannel is PATCH /channels/{id}: the fields given change.
func (s *Server) handlePatchChannel(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := callerOf(r)
	var req api.ChannelUpdate
	if err := decode(r, &req); err != nil {
		s.error(w, r, err)
		return
	}
	ch, _, err := s.channelToChange(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if req.Target != nil {
		ch.Target = strings.TrimSpace(*req.Target)
	}
	if req.Routes != nil {
		ch.Routes = *req.Routes
	}
	if req.Disabled != nil {
		ch.Disabled = *req.Disabled
	}
	var secret *string
	switch {
	case req.ClearSecret && req.Secret != nil && *req.Secret != "":
		err = runlet.Errorf(runlet.EINVALID, "secret and clearSecret together: give a new secret, or clear it, not both.")
	case req.ClearSecret:
		secret = new(string)
	case req.Secret != nil && *req.Secret != "":
		secret = req.Secret
		err = checkChannelSecret(ch.Kind, *secret)
	}
	if err == nil {
		ch.Target, err = checkChannel(ch)
	}
	if err == nil {
		ch, err = s.db.UpdateChannel(ctx, ch, secret)
	}
	if err != nil {
		s.error(w, r, channelNotFound(err, ch.ID))
		return
	}
	s.forgetAlerts(c.Workspace.ID)
	s.log.Info("channel changed", "workspace", c.Workspace.Name, "channel", ch.ID, "disabled", ch.Disabled, "new_secret", secret != nil, "by", c.User.Email)
	writeJSON(w, http.StatusOK, ch)
}

// handleDeleteChannel is DELETE /channels/{id}: 204. Its notifications
// stay, with their target.
func (s *Server) handleDeleteChannel(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	ch, _, err := s.channelToChange(r)
	if err == nil {
		err = channelNotFound(s.db.DeleteChannel(r.Context(), c.Workspace.ID, ch.ID), ch.ID)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.forgetAlerts(c.Workspace.ID)
	s.log.Info("channel removed", "workspace", c.Workspace.Name, "channel", ch.ID, "by", c.User.Email)
	w.WriteHeader(http.StatusNoContent)
}

// handleTestChannel is POST /channels/{id}/test: a test notification
// through the outbox, as an alert's would go, so that it is sent,
// retried and recorded the same way. 202 with the notification queued.
func (s *Server) handleTestChannel(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	ch, _, err := s.channelToChange(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	n := testNotification(c, ch, s.now())
	if err := s.db.QueueNotification(r.Context(), &n); err != nil {
		s.error(w, r, err)
		return
	}
	if s.notify != nil {
		s.notify.Kick()
	}
	s.log.Info("channel test queued", "workspace", c.Workspace.Name, "channel", ch.ID, "by", c.User.Email)
	writeJSON(w, http.StatusAccepted, api.ChannelTest{Notification: n})
}

// testNotification is the notification of a test of ch that the caller
// asked for at now, with a payload shaped as an alert's.
func testNotification(c *auth.Caller, ch runlet.Channel, now time.Time) runlet.Notification {
	ws := c.Workspace
	summary := fmt.Sprintf("Test of the %s channel %s of workspace %s, asked for by %s at %s UTC.", ch.Kind, ch.ID, ws.Name, c.User.Email, now.UTC().Format("15:04:05"))
	key := runlet.NotificationKey(ws.ID, 0, runlet.EventTest, int(now.UnixMilli()), ch.ID)
	payload, _ := json.Marshal(map[string]any{
		"key": key, "workspace": ws.ID, "event": runlet.EventTest, "kind": "test",
		"at": now.UTC(), "summary": summary,
	})
	return runlet.Notification{
		Workspace: ws.ID, Event: runlet.EventTest, Channel: ch.ID, Kind: ch.Kind, Target: ch.Target, Key: key,
		Subject: "[Runlet] test notification",
		Body:    summary + "\n\nIf you read this, the channel works: alerts routed to it will arrive the same way.\n",
		Payload: string(payload),
	}
}

// channelToChange is the channel of the path's {id} when the caller may
// change it: another workspace's, and another member's channel asked for
// by a member, are not found.
func (s *Server) channelToChange(r *http.Request) (runlet.Channel, channelCaller, error) {
	ctx := r.Context()
	c := callerOf(r)
	id := r.PathValue("id")
	cc, err := s.channelCaller(ctx, c)
	if err != nil {
		return runlet.Channel{}, cc, err
	}
	ch, _, err := s.db.Channel(ctx, c.Workspace.ID, id)
	if err == nil && !cc.sees(ch) {
		err = runlet.Errorf(runlet.ENOTFOUND, "no channel")
	}
	if err == nil {
		err = cc.mayChange(ch)
	}
	return ch, cc, channelNotFound(err, id)
}

// channelNotFound phrases the store's ENOTFOUND for channel id.
func channelNotFound(err error, id string) error {
	if runlet.ErrorCode(err) == runlet.ENOTFOUND {
		return runlet.Errorf(runlet.ENOTFOUND, "There is no channel %q in this workspace (see GET /channels, or runlet channels list).", runlet.SafeText(id))
	}
	return err
}

// checkChannel checks ch's kind, target and routes, and returns the
// target as stored (a phone number without its spaces and dashes).
func checkChannel(ch runlet.Channel) (string, error) {
	t := ch.Target
	if !ch.Kind.Valid() {
		return t, runlet.Errorf(runlet.EINVALID, "kind must be email, webhook or sms, not %q.", runlet.SafeText(string(ch.Kind)))
	}
	if t == "" {
		return t, runlet.Errorf(runlet.EINVALID, "target is missing: give the %s.", targetWords[ch.Kind])
	}
	if len(t) > maxChannelField {
		return t, runlet.Errorf(runlet.EINVALID, "target is too long: at most %d bytes.", maxChannelField)
	}
	var err error
	switch ch.Kind {
	case runlet.ChannelEmail:
		err = checkEmailTarget(t)
	case runlet.ChannelWebhook:
		err = checkWebhookTarget(t)
	case runlet.ChannelSMS:
		t, err = phoneNumber(t)
	}
	if err != nil {
		return t, err
	}
	if len(ch.Routes) > 0 && ch.User != "" {
		return t, runlet.Errorf(runlet.EINVALID, "routes limit a channel of the workspace; a member's channel carries what the workspace's routing sends to that member (GET /alerts/settings).")
	}
	for _, rt := range ch.Routes {
		if _, ok := runlet.DefaultRouting()[rt]; !ok {
			return t, runlet.Errorf(runlet.EINVALID, "There is no route %q; the routes are threshold.temp, threshold.batt, silence, offline, outbox and refused.", runlet.SafeText(string(rt)))
		}
	}
	return t, nil
}

var targetWords = map[runlet.ChannelKind]string{
	runlet.ChannelEmail:   "e-mail address",
	runlet.ChannelWebhook: "webhook's http or https URL",
	runlet.ChannelSMS:     "phone number in international form (+441234567890)",
}

func checkEmailTarget(t string) error {
	a, err := mail.ParseAddress(t)
	if err != nil || a.Address != t {
		return runlet.Errorf(runlet.EINVALID, "%q is not an e-mail address: give the address alone, such as ada@example.com.", runlet.SafeText(t))
	}
	return nil
}

func checkWebhookTarget(t string) error {
	u, err := url.Parse(t)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "":
		return runlet.Errorf(runlet.EINVALID, "%q is not a webhook URL: give an http or https URL with a host, such as https://hooks.example.com/runlet.", runlet.SafeText(t))
	case u.User != nil:
		return runlet.Errorf(runlet.EINVALID, "The webhook URL has credentials in it, which anyone who lists channels would read: give a secret instead, and the receiver checks each request's signature.")
	}
	return nil
}

// phoneNumber is t in E.164 form: a plus and 8 to 15 digits, the first
// not 0; spaces, dots, dashes and parentheses between them are dropped.
func phoneNumber(t string) (string, error) {
	var b strings.Builder
	bad := false
	for i, r := range t {
		switch {
		case r == '+' && i == 0, r >= '0' && r <= '9':
			b.WriteRune(r)
		case strings.ContainsRune(" .-()", r):
		default:
			bad = true
		}
	}
	n := b.String()
	if bad || len(n) < 9 || len(n) > 16 || n[0] != '+' || n[1] == '0' {
		return t, runlet.Errorf(runlet.EINVALID, "%q is not a phone number in international form: give + and the country code, such as +441234567890.", runlet.SafeText(t))
	}
	return n, nil
}

func checkChannelSecret(k runlet.ChannelKind, secret string) error {
	switch {
	case secret == "":
		return nil
	case k != runlet.ChannelWebhook:
		return runlet.Errorf(runlet.EINVALID, "Only a webhook channel takes a secret (to sign its requests); an %s channel does not.", k)
	case len(secret) > maxChannelSecret:
		return runlet.Errorf(runlet.EINVALID, "The secret is too long: at most %d bytes.", maxChannelSecret)
	}
	return nil
}
