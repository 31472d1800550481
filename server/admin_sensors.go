package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	mrand "math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
)

// The seed's devices (D.7–D.13) are our sensors. The seed's "state" is
// whether the sensor is active, its "config" the sensor's thresholds as
// strings ("maxTemperature": "10.54"), its "auth" the sensor's secret, a
// number of 17 digits, answered once at creation as a JSON number whose
// digits stay exact (it is above 2^53). A new sensor is inactive, as the
// seed's (state false); its config may carry "state" to activate it.

// sensorConfigKeys are the keys of a sensor's config: the seed's
// temperature thresholds, our battery thresholds (the seed names none),
// and "state".
var sensorConfigKeys = []struct {
	key   string
	bound func(*runlet.Thresholds) **float64
}{
	{"maxTemperature", func(t *runlet.Thresholds) **float64 { return &t.TempMax }},
	{"minTemperature", func(t *runlet.Thresholds) **float64 { return &t.TempMin }},
	{"maxBattery", func(t *runlet.Thresholds) **float64 { return &t.BattMax }},
	{"minBattery", func(t *runlet.Thresholds) **float64 { return &t.BattMin }},
}

// sensorConfig is a parsed config body: the bounds it sets (nil clears
// one) and the state it sets, if any.
type sensorConfig struct {
	bounds map[string]*float64
	state  runlet.SensorState // "": unchanged
}

// parseSensorConfig reads the body of PUT /admin/devices/{device}/config:
// a JSON object whose keys are those of sensorConfigKeys or "state". A
// bound is a number or a string holding one (the seed's "10.54"); null
// or "" clears it. The state is a boolean (the seed's) or "active" or
// "inactive". A key left out keeps its value.
func parseSensorConfig(b []byte) (sensorConfig, error) {
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil || raw == nil {
		return sensorConfig{}, runlet.Errorf(runlet.EINVALID, "The config must be a JSON object such as {\"maxTemperature\":\"10.54\",\"minTemperature\":\"-10.54\"}.")
	}
	if dec.More() {
		return sensorConfig{}, runlet.Errorf(runlet.EINVALID, "The config must be one JSON object, with nothing after it.")
	}
	c := sensorConfig{bounds: map[string]*float64{}}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys) // the first error is the same at every call
	for _, k := range keys {
		v := bytes.TrimSpace(raw[k])
		if k == "state" {
			st, err := parseSensorState(v)
			if err != nil {
				return sensorConfig{}, err
			}
			c.state = st
			continue
		}
		if !knownSensorKey(k) {
			return sensorConfig{}, runlet.Errorf(runlet.EINVALID, "Unknown config key %q: a sensor's config has maxTemperature, minTemperature, maxBattery, minBattery and state.", runlet.SafeText(k))
		}
		f, err := parseBound(k, v)
		if err != nil {
			return sensorConfig{}, err
		}
		c.bounds[k] = f
	}
	return c, nil
}

func knownSensorKey(k string) bool {
	for _, c := range sensorConfigKeys {
		if c.key == k {
			return true
		}
	}
	return false
}

// parseBound reads a bound: a JSON number, a string holding a number,
// null or "" (no bound).
func parseBound(key string, v []byte) (*float64, error) {
	text := string(v)
	if len(v) > 0 && v[0] == '"' {
		if err := json.Unmarshal(v, &text); err != nil {
			return nil, runlet.Errorf(runlet.EINVALID, "%s is not a valid JSON string.", key)
		}
		text = strings.TrimSpace(text)
	} else if text == "null" {
		text = ""
	}
	if text == "" {
		return nil, nil
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, runlet.Errorf(runlet.EINVALID, "%s must be a number such as \"10.54\", not %.40q.", key, runlet.SafeText(text))
	}
	return &f, nil
}

// parseSensorState reads the config's state: the seed's boolean, or our
// words.
func parseSensorState(v []byte) (runlet.SensorState, error) {
	switch strings.ToLower(strings.Trim(string(v), `"`)) {
	case "true", "active":
		return runlet.SensorActive, nil
	case "false", "inactive":
		return runlet.SensorInactive, nil
	}
	return "", runlet.Errorf(runlet.EINVALID, "state must be true (active) or false (inactive), not %.40s.", runlet.SafeText(string(v)))
}

// apply sets c on the sensor and checks its thresholds.
func (c sensorConfig) apply(sn *runlet.Sensor) error {
	for _, k := range sensorConfigKeys {
		if v, ok := c.bounds[k.key]; ok {
			*k.bound(&sn.Rules.Thresholds) = v
		}
	}
	if c.state != "" {
		sn.State = c.state
	}
	return sn.Rules.Check()
}

// describe says what c changes, for the audit log.
func (c sensorConfig) describe() string {
	var parts []string
	for _, k := range sensorConfigKeys {
		if v, ok := c.bounds[k.key]; ok {
			if v == nil {
				parts = append(parts, k.key+" cleared")
			} else {
				parts = append(parts, k.key+" "+formatBound(*v))
			}
		}
	}
	if c.state != "" {
		parts = append(parts, "state "+string(c.state))
	}
	if len(parts) == 0 {
		return "config unchanged"
	}
	return "config: " + strings.Join(parts, ", ")
}

func formatBound(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// adminSensor is a sensor as the seed lists a device.
func adminSensor(sn runlet.Sensor) api.AdminSensor {
	out := api.AdminSensor{ID: sn.ID, State: sn.State == runlet.SensorActive}
	for _, k := range sensorConfigKeys {
		if v := *k.bound(&sn.Rules.Thresholds); v != nil {
			if out.Config == nil {
				out.Config = map[string]string{}
			}
			out.Config[k.key] = formatBound(*v)
		}
	}
	return out
}

// newSensorSecret returns a secret of 17 digits, the first not 0, like
// the seed's (64089519511846157).
func newSensorSecret() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(9e16))
	if err != nil {
		return "", fmt.Errorf("make a sensor secret: %w", err)
	}
	return n.Add(n, big.NewInt(1e16)).String(), nil
}

// addFreshSensor registers sn under a new id, the workspace's largest
// plus one (the seed's counters), or, when another workspace has that id
// (ids are unique on the server), a random one; it returns the new
// secret.
func (s *Server) addFreshSensor(ctx context.Context, sn *runlet.Sensor) (string, error) {
	list, err := s.db.ListSensors(ctx, sn.Workspace)
	if err != nil {
		return "", err
	}
	next := int64(1)
	for _, o := range list {
		next = max(next, o.ID+1)
	}
	for range 8 {
		secret, err := newSensorSecret()
		if err != nil {
			return "", err
		}
		sn.ID = next
		err = s.db.AddSensor(ctx, sn, secret)
		if runlet.ErrorCode(err) != runlet.ECONFLICT {
			return secret, err
		}
		next = 1_000_000 + mrand.Int64N(1_000_000_000_000)
	}
	return "", runlet.Errorf(runlet.ECONFLICT, "No free sensor id was found; try again.")
}

// adminSensorOf is the workspace's sensor named by the path's {device}.
func (s *Server) adminSensorOf(r *http.Request) (runlet.Sensor, error) {
	id, err := adminSensorID(r)
	if err != nil {
		return runlet.Sensor{}, err
	}
	sn, err := s.db.Sensor(r.Context(), adminOf(r).Workspace.ID, id)
	return sn, s.sensorNotFound(err, id)
}

// adminSensorID reads the path's {device}: a sensor's id.
func adminSensorID(r *http.Request) (int64, error) {
	v := r.PathValue("device")
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, runlet.Errorf(runlet.EINVALID, "The device (our sensor) id must be a positive integer, not %q.", runlet.SafeText(v))
	}
	return id, nil
}

// handleAdminCreateSensor is POST /admin/devices (D.7): a new sensor,
// inactive, with a fresh id and secret. 201 {"id","auth","state":false}.
func (s *Server) handleAdminCreateSensor(w http.ResponseWriter, r *http.Request) {
	a := adminOf(r)
	sn := runlet.Sensor{Workspace: a.Workspace.ID, State: runlet.SensorInactive}
	secret, err := s.addFreshSensor(r.Context(), &sn)
	if err != nil {
		s.adminError(w, r, err)
		return
	}
	s.audit(r, fmt.Sprintf("sensor %d", sn.ID), "created the sensor (inactive) with a new secret")
	writeJSON(w, http.StatusCreated, api.AdminSensorCreated{ID: sn.ID, Auth: json.Number(secret), State: false})
}

// handleAdminListSensors is GET /admin/devices (D.8), without secrets.
func (s *Server) handleAdminListSensors(w http.ResponseWriter, r *http.Request) {
	list, err := s.db.ListSensors(r.Context(), adminOf(r).Workspace.ID)
	if err != nil {
		s.adminError(w, r, err)
		return
	}
	out := []api.AdminSensor{}
	for _, sn := range list {
		out = append(out, adminSensor(sn))
	}
	writeJSON(w, http.StatusOK, out)
}

// handleAdminGetSensor is GET /admin/devices/{device} (D.9).
func (s *Server) handleAdminGetSensor(w http.ResponseWriter, r *http.Request) {
	sn, err := s.adminSensorOf(r)
	if err != nil {
		s.adminError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, adminSensor(sn))
}

// handleAdminDeleteSensor is DELETE /admin/devices/{device} (D.10): the
// sensor goes with its series and archive. 204.
func (s *Server) handleAdminDeleteSensor(w http.ResponseWriter, r *http.Request) {
	a := adminOf(r)
	id, err := adminSensorID(r)
	if err == nil {
		err = s.sensorNotFound(s.db.DeleteSensor(r.Context(), a.Workspace.ID, id), id)
	}
	if err != nil {
		s.adminError(w, r, err)
		return
	}
	s.forgetSensor(id)
	s.forgetAlerts(a.Workspace.ID)
	s.audit(r, fmt.Sprintf("sensor %d", id), "deleted the sensor, its series and its archive")
	w.WriteHeader(http.StatusNoContent)
}

// handleAdminSensorConfig is PUT /admin/devices/{device}/config (D.11):
// the thresholds (and state) the body gives change; this process's alert
// service applies them at once.
func (s *Server) handleAdminSensorConfig(w http.ResponseWriter, r *http.Request) {
	a := adminOf(r)
	b, err := readBody(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	c, err := parseSensorConfig(b)
	if err != nil {
		s.error(w, r, err)
		return
	}
	sn, err := s.adminSensorOf(r)
	if err != nil {
		s.adminError(w, r, err)
		return
	}
	if err := c.apply(&sn); err != nil {
		s.error(w, r, err)
		return
	}
	sn, err = s.db.UpdateSensor(r.Context(), sn, "")
	if err != nil {
		s.adminError(w, r, s.sensorNotFound(err, sn.ID))
		return
	}
	s.forgetSensor(sn.ID)
	s.forgetAlerts(a.Workspace.ID)
	s.audit(r, fmt.Sprintf("sensor %d", sn.ID), c.describe())
	writeJSON(w, http.StatusOK, adminSensor(sn))
}

var errSensorLogin = runlet.Errorf(runlet.EUNAUTHORIZED, "The sensor's id and secret do not match a sensor of this workspace.")

// handleAdminSensorLogin is POST /admin/devices/{device}/login (D.12):
// 200 when auth (a number or a string) is the secret of the workspace's
// sensor, 401 otherwise, another workspace's sensor included. Wrong
// secrets count as guesses against the caller's address.
func (s *Server) handleAdminSensorLogin(w http.ResponseWriter, r *http.Request) {
	a := adminOf(r)
	var req api.AdminLogin
	if err := decode(r, &req); err != nil {
		s.error(w, r, err)
		return
	}
	id, err := adminSensorID(r)
	if err == nil && req.Auth == "" {
		err = runlet.Errorf(runlet.EINVALID, "auth is missing: give the sensor's secret, a number or a string.")
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	ctx := r.Context()
	err = s.auth.Guess(ctx, s.auth.Source(r), func() error {
		sn, err := s.db.CheckSensor(ctx, id, string(req.Auth))
		switch code := runlet.ErrorCode(err); {
		case err == nil && sn.Workspace != a.Workspace.ID, code == runlet.ENOTFOUND, code == runlet.EUNAUTHORIZED:
			return runlet.Errorf(runlet.ENOTFOUND, "no such sensor and secret")
		}
		return err
	})
	if runlet.ErrorCode(err) == runlet.ENOTFOUND {
		err = errSensorLogin
	}
	if err != nil {
		s.adminError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "valid": true})
}

// handleAdminLegacySensor is PUT /admin/devices (D.13), the seed's legacy
// create: name, group (our location), user's name and phone (our owner
// and contact) and comfort_interval (the temperature thresholds). 200
// with the seed's capitalised keys.
func (s *Server) handleAdminLegacySensor(w http.ResponseWriter, r *http.Request) {
	a := adminOf(r)
	var req api.LegacySensor
	if err := decode(r, &req); err != nil {
		s.error(w, r, err)
		return
	}
	sn := runlet.Sensor{Workspace: a.Workspace.ID, State: runlet.SensorInactive, Name: strings.TrimSpace(req.Name),
		Location: req.Group, Owner: req.User.Name, Contact: req.User.Phone}
	if ci := req.ComfortInterval; ci != nil {
		sn.Rules.TempMin, sn.Rules.TempMax = ci.Min, ci.Max
	}
	err := checkSensor(sn)
	if err == nil {
		err = sn.Rules.Check()
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	secret, err := s.addFreshSensor(r.Context(), &sn)
	if err != nil {
		s.adminError(w, r, err)
		return
	}
	out := api.LegacySensorCreated{ID: sn.ID, Auth: json.Number(secret), State: false, Config: map[string]float64{}}
	if sn.Rules.TempMax != nil {
		out.Config["maxTemp"] = *sn.Rules.TempMax
	}
	if sn.Rules.TempMin != nil {
		out.Config["minTemp"] = *sn.Rules.TempMin
	}
	s.forgetAlerts(a.Workspace.ID)
	s.audit(r, fmt.Sprintf("sensor %d", sn.ID), fmt.Sprintf("created the sensor %q (inactive, legacy API) with a new secret", sn.Name))
	writeJSON(w, http.StatusOK, out)
}
