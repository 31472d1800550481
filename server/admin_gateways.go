package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/auth"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/store"
)

// The seed's gateways (D.14–D.19) are our devices. Creating one makes the
// device record and an enrollment token bound to it, whose secret is the
// seed's "auth" (40 hexadecimal digits): a daemon that signs in with it
// (runlet @signin --token AUTH, or POST /enroll) joins as that device and
// gets its own device token; signing in again with it (a re-flashed
// gateway) replaces the device's earlier tokens. The secret stays valid
// until the device is deleted. The seed's "config" is the device's labels.

// freeEnrollmentSubject is the Subject of the enrollment tokens that let
// a daemon join as a new device; an enrollment token bound to a device
// made here has that device's ID as its Subject.
const freeEnrollmentSubject = "enrollment"

// newGatewaySecret returns 40 hexadecimal digits (160 random bits), in
// capitals as the seed's.
func newGatewaySecret() (string, error) {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make a gateway secret: %w", err)
	}
	return strings.ToUpper(hex.EncodeToString(b)), nil
}

func adminGateway(d runlet.Device) api.AdminGateway {
	g := api.AdminGateway{ID: d.ID, Name: d.Name}
	if len(d.Labels) > 0 {
		g.Config = maps.Clone(d.Labels)
	}
	return g
}

// gatewayOf is the workspace's unrevoked device whose ID is the path's
// {gateway}.
func (s *Server) gatewayOf(r *http.Request) (runlet.Device, error) {
	id := r.PathValue("gateway")
	d, err := s.db.Device(r.Context(), adminOf(r).Workspace.ID, id)
	if runlet.ErrorCode(err) == runlet.ENOTFOUND || err == nil && d.Revoked {
		return d, runlet.Errorf(runlet.ENOTFOUND, "There is no gateway (device) %q in this workspace (it may have been deleted).", runlet.SafeText(id))
	}
	return d, err
}

// handleAdminCreateGateway is POST /admin/gateways (D.14): a device that
// has not joined yet, and the enrollment secret with which its daemon
// joins. The seed sends no body; ours may name the device. 201.
func (s *Server) handleAdminCreateGateway(w http.ResponseWriter, r *http.Request) {
	a := adminOf(r)
	var req api.AdminGatewayNew
	b, err := readBody(r)
	if err == nil && len(bytes.TrimSpace(b)) > 0 {
		if jerr := json.Unmarshal(b, &req); jerr != nil {
			err = runlet.Errorf(runlet.EINVALID, "The request body is not the JSON expected: %v.", jerr)
		}
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	ctx := r.Context()
	name := strings.TrimSpace(req.Name)
	if name == "" {
		name = "gateway-" + store.NewID()[:8]
	}
	if err := s.checkNameFree(ctx, a.Workspace.ID, name); err != nil {
		s.error(w, r, err)
		return
	}
	secret, err := newGatewaySecret()
	if err != nil {
		s.adminError(w, r, err)
		return
	}
	d := runlet.Device{Workspace: a.Workspace.ID, Name: name}
	if err := s.db.CreateDevice(ctx, &d); runlet.ErrorCode(err) == runlet.ECONFLICT {
		s.error(w, r, nameTaken(name))
		return
	} else if err != nil {
		s.adminError(w, r, err)
		return
	}
	// The token's ID starts with the secret's first four digits, so that
	// the list of enrollment tokens can hint at it (settings.go).
	t := runlet.Token{ID: strings.ToLower(secret[:4]) + store.NewID()[4:], Workspace: a.Workspace.ID, Kind: runlet.TokenEnrollment, Hash: store.HashSecret(secret), Subject: d.ID}
	if err := s.db.CreateToken(ctx, &t); err != nil {
		// Without its secret the device could never join: take it back.
		_ = s.db.RevokeDevice(context.WithoutCancel(ctx), a.Workspace.ID, d.ID)
		s.adminError(w, r, err)
		return
	}
	s.audit(r, "device "+d.Name, fmt.Sprintf("created the gateway (device %s) with an enrollment secret", d.ID))
	writeJSON(w, http.StatusCreated, api.AdminGatewayCreated{ID: d.ID, Auth: secret, Name: d.Name})
}

// handleAdminListGateways is GET /admin/gateways (D.15): the workspace's
// devices that are not deleted, with their labels, never a secret.
func (s *Server) handleAdminListGateways(w http.ResponseWriter, r *http.Request) {
	ds, err := s.db.ListDevices(r.Context(), adminOf(r).Workspace.ID)
	if err != nil {
		s.adminError(w, r, err)
		return
	}
	out := []api.AdminGateway{}
	for _, d := range ds {
		if !d.Revoked {
			out = append(out, adminGateway(d))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// handleAdminGetGateway is GET /admin/gateways/{gateway} (D.16).
func (s *Server) handleAdminGetGateway(w http.ResponseWriter, r *http.Request) {
	d, err := s.gatewayOf(r)
	if err != nil {
		s.adminError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, adminGateway(d))
}

// handleAdminDeleteGateway is DELETE /admin/gateways/{gateway} (D.17):
// the device is revoked with every token of it (its enrollment secret
// too), its broker connections are cut. 204.
func (s *Server) handleAdminDeleteGateway(w http.ResponseWriter, r *http.Request) {
	a := adminOf(r)
	d, err := s.gatewayOf(r)
	if err == nil {
		err = s.removeDevice(r.Context(), a.Workspace, d)
	}
	if err != nil {
		s.adminError(w, r, err)
		return
	}
	s.audit(r, "device "+d.Name, fmt.Sprintf("deleted the gateway (device %s): its tokens are revoked", d.ID))
	w.WriteHeader(http.StatusNoContent)
}

// handleAdminGatewayConfig is PUT /admin/gateways/{gateway}/config
// (D.18): the body's keys and values (strings, numbers or booleans)
// become the device's labels, replacing them all, as the seed's
// {"State":"Active","connectivity":"4G"}. 200.
func (s *Server) handleAdminGatewayConfig(w http.ResponseWriter, r *http.Request) {
	a := adminOf(r)
	b, err := readBody(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	labels, err := parseGatewayConfig(b)
	if err != nil {
		s.error(w, r, err)
		return
	}
	d, err := s.gatewayOf(r)
	if err != nil {
		s.adminError(w, r, err)
		return
	}
	d, err = s.db.UpdateDevice(r.Context(), a.Workspace.ID, d.ID, store.DeviceUpdate{Labels: labels})
	if err != nil {
		s.adminError(w, r, err)
		return
	}
	keys := slices.Sorted(maps.Keys(labels))
	s.audit(r, "device "+d.Name, "config (labels): "+strings.Join(keys, ", "))
	writeJSON(w, http.StatusOK, adminGateway(d))
}

// handleAdminGatewayLogin is POST /admin/gateways/{gateway}/login (D.19):
// 200 when auth is the device's enrollment secret, 401 otherwise. Wrong
// secrets count as guesses against the caller's address.
func (s *Server) handleAdminGatewayLogin(w http.ResponseWriter, r *http.Request) {
	a := adminOf(r)
	var req api.AdminLogin
	if err := decode(r, &req); err != nil {
		s.error(w, r, err)
		return
	}
	if req.Auth == "" {
		s.error(w, r, runlet.Errorf(runlet.EINVALID, "auth is missing: give the gateway's secret (40 hexadecimal digits)."))
		return
	}
	ctx := r.Context()
	id := r.PathValue("gateway")
	t, err := s.auth.GuessToken(ctx, s.auth.Source(r), strings.ToUpper(strings.TrimSpace(string(req.Auth))), runlet.TokenEnrollment)
	if err == nil && (t.Workspace != a.Workspace.ID || t.Subject != id) {
		err = runlet.Errorf(runlet.ENOTFOUND, "not this device's")
	}
	if runlet.ErrorCode(err) == runlet.ENOTFOUND {
		err = runlet.Errorf(runlet.EUNAUTHORIZED, "The gateway's id and secret do not match a gateway of this workspace.")
	}
	if err != nil {
		s.adminError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "valid": true})
}

// joinGateway signs a daemon in as the device an admin made for it (POST
// /admin/gateways), with the enrollment token bound to it: a new device
// token, the device's earlier ones revoked. The name the daemon asked for
// is not taken: the device keeps its own.
func (s *Server) joinGateway(ctx context.Context, t runlet.Token, req api.EnrollRequest) (*home.Credentials, error) {
	d, err := s.db.Device(ctx, t.Workspace, t.Subject)
	if err != nil || d.Revoked {
		return nil, runlet.Errorf(runlet.EUNAUTHORIZED, "This gateway's enrollment secret belongs to a deleted device: ask an admin for a new one (POST %s/admin/gateways).", api.Prefix)
	}
	if err := checkDeviceInfo(req); err != nil {
		return nil, err
	}
	ws, err := s.db.Workspace(ctx, t.Workspace)
	if err != nil {
		return nil, err
	}
	upd := store.DeviceUpdate{OS: &req.OS, Arch: &req.Arch, Version: &req.Version}
	if d, err = s.db.UpdateDevice(ctx, ws.ID, d.ID, upd); err != nil {
		return nil, err
	}
	ts, err := s.db.ListTokens(ctx, ws.ID)
	if err != nil {
		return nil, err
	}
	revoked := 0
	for _, o := range ts {
		if o.Kind == runlet.TokenDevice && o.Subject == d.ID && o.Active(s.now()) {
			if err := s.db.RevokeToken(ctx, ws.ID, o.ID); err != nil {
				return nil, err
			}
			revoked++
		}
	}
	if revoked > 0 {
		s.auth.RevokedDevice(d) // the earlier daemon's connections go
	}
	if err := s.intake.DeviceAdded(ctx, ws.ID, d.Name); err != nil {
		return nil, err
	}
	secret := auth.NewSecret("rlt_")
	dt := runlet.Token{Workspace: ws.ID, Kind: runlet.TokenDevice, Hash: store.HashSecret(secret), Subject: d.ID}
	if err := s.db.CreateToken(ctx, &dt); err != nil {
		return nil, err
	}
	s.log.Info("gateway joined", "workspace", ws.Name, "device", d.Name, "replaced_tokens", revoked)
	return &home.Credentials{
		Server: s.publicURL, Workspace: ws.ID, WorkspaceName: ws.Name,
		Device: d.Name, DeviceID: d.ID, Token: secret,
		Broker: s.brokerURL, BrokerUser: d.ID, BrokerPassword: secret,
	}, nil
}

// parseGatewayConfig reads the body of PUT /admin/gateways/{gateway}/config:
// a JSON object whose values are strings, numbers or booleans (null is an
// empty value), each key and value a label (runlet.CheckLabels).
func parseGatewayConfig(b []byte) (map[string]string, error) {
	var raw map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil || raw == nil {
		return nil, runlet.Errorf(runlet.EINVALID, "The config must be a JSON object such as {\"State\":\"Active\",\"connectivity\":\"4G\"}.")
	}
	if dec.More() {
		return nil, runlet.Errorf(runlet.EINVALID, "The config must be one JSON object, with nothing after it.")
	}
	labels := make(map[string]string, len(raw))
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		switch v := raw[k].(type) {
		case string:
			labels[k] = v
		case json.Number:
			labels[k] = v.String()
		case bool:
			labels[k] = fmt.Sprint(v)
		case nil:
			labels[k] = ""
		default:
			return nil, runlet.Errorf(runlet.EINVALID, "The config's %q must be a string, a number or a boolean, not an object or a list.", runlet.SafeText(k))
		}
	}
	if err := runlet.CheckLabels(labels); err != nil {
		return nil, err
	}
	return labels, nil
}
