package server

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/auth"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/store"
	"github.com/runlet/runlet/wire"
)

// userCodeAlphabet has no vowels (no words) and no look-alikes.
const userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

func newUserCode() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = userCodeAlphabet[int(b[i])%len(userCodeAlphabet)]
	}
	return string(b[:4]) + "-" + string(b[4:])
}

// normalizeUserCode makes what a person typed match the stored form.
func normalizeUserCode(s string) string {
	var b strings.Builder
	for _, c := range strings.ToUpper(s) {
		if c >= 'A' && c <= 'Z' {
			b.WriteRune(c)
		}
	}
	u := b.String()
	if len(u) == 8 {
		return u[:4] + "-" + u[4:]
	}
	return u
}

// checkDeviceName refuses names that would be hard to type or show.
func checkDeviceName(name string) error {
	if name == "" {
		return runlet.Errorf(runlet.EINVALID, "A device needs a name (--name).")
	}
	if len(name) > 64 {
		return runlet.Errorf(runlet.EINVALID, "The device name %q is longer than 64 characters.", name)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return runlet.Errorf(runlet.EINVALID, "The device name %q may only have letters, digits, '-', '_' and '.'.", name)
		}
	}
	return nil
}

// checkDeviceInfo refuses the OS, arch or version of an enrolling device
// when its heartbeats would be refused for them.
func checkDeviceInfo(req api.EnrollRequest) error {
	return wire.Heartbeat{OS: req.OS, Arch: req.Arch, Version: req.Version}.Check()
}

func nameTaken(name string) error {
	return runlet.Errorf(runlet.ECONFLICT, "A device named %q is already signed in to this workspace: choose another name, or remove that device first.", name)
}

// checkNameFree reports a taken name before the user approves anything.
func (s *Server) checkNameFree(ctx context.Context, ws, name string) error {
	if err := checkDeviceName(name); err != nil {
		return err
	}
	_, err := s.db.DeviceByName(ctx, ws, name)
	switch runlet.ErrorCode(err) {
	case "":
		return nameTaken(name)
	case runlet.ENOTFOUND:
		return nil
	}
	return err
}

func (s *Server) handleDeviceCode(w http.ResponseWriter, r *http.Request) {
	var req api.DeviceCodeRequest
	if err := decode(r, &req); err != nil {
		s.error(w, r, err)
		return
	}
	ctx := r.Context()
	if err := s.checkNameFree(ctx, s.defaultWS.ID, req.Name); err != nil {
		s.error(w, r, err)
		return
	}
	secret := auth.NewSecret("rld_")
	c := runlet.DeviceCode{Hash: store.HashSecret(secret), DeviceName: req.Name,
		Expires: s.now().Add(s.cfg.CodeTTL), Interval: s.cfg.PollInterval}
	var err error
	for range 5 { // a user code collision is rare: make another
		c.UserCode = newUserCode()
		if err = s.db.CreateDeviceCode(ctx, &c); runlet.ErrorCode(err) != runlet.ECONFLICT {
			break
		}
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	verify := s.publicURL + "/device"
	writeJSON(w, http.StatusOK, api.DeviceCodeResponse{
		DeviceCode: secret, UserCode: c.UserCode,
		VerificationURI: verify, VerificationURIComplete: verify + "?code=" + url.QueryEscape(c.UserCode),
		ExpiresIn: int(s.cfg.CodeTTL.Seconds()), Interval: max(1, int(s.cfg.PollInterval.Seconds())),
	})
}

// oauthError answers RFC 8628 3.5.
func oauthError(w http.ResponseWriter, code, desc string) {
	writeJSON(w, http.StatusBadRequest, api.OAuthErrorBody{Error: code, Description: desc})
}

func (s *Server) handleDeviceToken(w http.ResponseWriter, r *http.Request) {
	var req api.DeviceTokenRequest
	if err := decode(r, &req); err != nil {
		s.error(w, r, err)
		return
	}
	// Bad labels are refused before the code is consumed, so that the
	// device can poll again with good ones.
	if _, err := runlet.ParseLabels(req.Labels); err != nil {
		s.error(w, r, err)
		return
	}
	ctx := r.Context()
	hash := store.HashSecret(req.DeviceCode)
	var c runlet.DeviceCode
	err := s.auth.Guess(ctx, s.auth.Source(r), func() (err error) {
		c, err = s.db.PollDeviceCode(ctx, hash)
		return err
	})
	if setRetryAfter(w, err) > 0 {
		// A guess of device codes is answered 429, as slow_down: a client
		// that knows RFC 8628 waits, and keeps polling.
		writeJSON(w, http.StatusTooManyRequests, api.OAuthErrorBody{Error: api.SlowDown, Description: runlet.ErrorMessage(err)})
		return
	}
	if runlet.ErrorCode(err) == runlet.ENOTFOUND {
		oauthError(w, "invalid_grant", "Unknown device code: start the sign-in again.")
		return
	} else if err != nil {
		s.error(w, r, err)
		return
	}
	now := s.now()
	switch {
	case c.Expired(now):
		oauthError(w, api.ExpiredToken, "The sign-in code expired before it was approved: start the sign-in again.")
		return
	case c.Status == runlet.DeviceCodeDenied:
		oauthError(w, api.AccessDenied, "The sign-in of this device was denied.")
		return
	case c.Status == runlet.DeviceCodeConsumed:
		oauthError(w, "invalid_grant", "This sign-in code was already used.")
		return
	case c.Status == runlet.DeviceCodePending && !c.LastPoll.IsZero() && now.Sub(c.LastPoll) < c.Interval:
		oauthError(w, api.SlowDown, fmt.Sprintf("Polling too fast: wait %s between polls.", c.Interval))
		return
	case c.Status == runlet.DeviceCodePending:
		oauthError(w, api.AuthorizationPending, "Waiting for approval at "+s.publicURL+"/device.")
		return
	}
	c, err = s.db.ConsumeDeviceCode(ctx, hash)
	if err != nil {
		oauthError(w, "invalid_grant", "This sign-in code can no longer be used: start the sign-in again.")
		return
	}
	cred, err := s.createDevice(ctx, c.Workspace, api.EnrollRequest{Name: c.DeviceName, Labels: req.Labels})
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"credentials": cred})
}

func (s *Server) handleEnroll(w http.ResponseWriter, r *http.Request) {
	var req api.EnrollRequest
	if err := decode(r, &req); err != nil {
		s.error(w, r, err)
		return
	}
	ctx := r.Context()
	t, err := s.auth.GuessToken(ctx, s.auth.Source(r), req.Token, runlet.TokenEnrollment)
	if err != nil {
		if runlet.ErrorCode(err) == runlet.ENOTFOUND {
			// One answer for the three, as the store gives them: the
			// holder of a token learns what to do, not which it was.
			err = runlet.Errorf(runlet.EUNAUTHORIZED, "The enrollment token is unknown, revoked or expired: ask an admin for a new one (Settings → Enrollment tokens in the web UI, or POST %s/enrollment-tokens); the server's first one is in DATA/%s.", api.Prefix, EnrollTokenFile)
		}
		s.error(w, r, err)
		return
	}
	var cred *home.Credentials
	if t.Subject != freeEnrollmentSubject && t.Subject != "" {
		cred, err = s.joinGateway(ctx, t, req) // a device made by the admin API (admin_gateways.go)
	} else {
		cred, err = s.createDevice(ctx, t.Workspace, req)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"credentials": cred})
}

// createDevice signs a device in to the workspace: the device, its API
// token (also its broker password) and its dispatch queue.
func (s *Server) createDevice(ctx context.Context, wsID string, req api.EnrollRequest) (*home.Credentials, error) {
	if err := s.checkNameFree(ctx, wsID, req.Name); err != nil {
		return nil, err
	}
	if err := checkDeviceInfo(req); err != nil {
		return nil, err
	}
	labels, err := runlet.ParseLabels(req.Labels)
	if err != nil {
		return nil, err
	}
	if len(labels) == 0 {
		labels = nil
	}
	ws, err := s.db.Workspace(ctx, wsID)
	if err != nil {
		return nil, err
	}
	d := runlet.Device{Workspace: ws.ID, Name: req.Name, OS: req.OS, Arch: req.Arch, Version: req.Version, Labels: labels}
	if err := s.db.CreateDevice(ctx, &d); runlet.ErrorCode(err) == runlet.ECONFLICT {
		return nil, nameTaken(req.Name)
	} else if err != nil {
		return nil, err
	}
	if err := s.intake.DeviceAdded(ctx, ws.ID, d.Name); err != nil {
		return nil, err
	}
	secret := auth.NewSecret("rlt_")
	t := runlet.Token{Workspace: ws.ID, Kind: runlet.TokenDevice, Hash: store.HashSecret(secret), Subject: d.ID}
	if err := s.db.CreateToken(ctx, &t); err != nil {
		return nil, err
	}
	s.log.Info("device signed in", "workspace", ws.Name, "device", d.Name)
	return &home.Credentials{
		Server: s.publicURL, Workspace: ws.ID, WorkspaceName: ws.Name,
		Device: d.Name, DeviceID: d.ID, Token: secret,
		Broker: s.brokerURL, BrokerUser: d.ID, BrokerPassword: secret,
	}, nil
}

func (s *Server) handleSignout(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	if c.Device == nil {
		s.error(w, r, runlet.Errorf(runlet.EINVALID, "Only a device signs out; this is a user token."))
		return
	}
	if err := s.removeDevice(r.Context(), c.Workspace, *c.Device); err != nil {
		s.error(w, r, err)
		return
	}
	s.log.Info("device signed out", "workspace", c.Workspace.Name, "device", c.Device.Name)
	w.WriteHeader(http.StatusNoContent)
}
