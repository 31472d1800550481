package server

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
)

// The sensors of a workspace (issue 13): members list and read them,
// admins register, change and remove them. A sensor of another workspace
// is not found, exactly as one that does not exist; a sensor's secret is
// taken, never given back.

// The longest texts of a sensor, in characters.
const (
	maxSensorName  = 100
	maxSensorField = 200 // owner, location, contact
)

// handleListSensors is GET /sensors: every sensor of the workspace by id,
// with when it last reported and its latest values.
func (s *Server) handleListSensors(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ws := callerOf(r).Workspace.ID
	list, err := s.db.ListSensors(ctx, ws)
	if err == nil {
		err = s.setStatus(ctx, ws, list)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	if list == nil {
		list = []runlet.Sensor{}
	}
	writeJSON(w, http.StatusOK, api.Sensors{Sensors: list})
}

// handleAddSensor is POST /sensors, for admins: 201 with the sensor.
func (s *Server) handleAddSensor(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	var req api.NewSensor
	if err := decode(r, &req); err != nil {
		s.error(w, r, err)
		return
	}
	sn := runlet.Sensor{ID: req.ID, Workspace: c.Workspace.ID, Name: req.Name, Owner: req.Owner, Location: req.Location, Contact: req.Contact, State: req.State}
	if sn.State == "" {
		sn.State = runlet.SensorActive
	}
	if req.Rules != nil {
		sn.Rules = *req.Rules
	}
	err := checkSensorID(req.ID)
	if err == nil {
		err = checkSensor(sn)
	}
	if err == nil {
		err = checkSensorSecret(string(req.Secret))
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	ctx := r.Context()
	if err := s.db.AddSensor(ctx, &sn, string(req.Secret)); err != nil {
		s.error(w, r, s.sensorTaken(ctx, c.Workspace.ID, req.ID, err))
		return
	}
	s.forgetAlerts(c.Workspace.ID)
	s.log.Info("sensor added", "workspace", c.Workspace.Name, "sensor", sn.ID, "by", c.User.Email)
	sn.Status = runlet.StatusOf(sn, nil)
	writeJSON(w, http.StatusCreated, sn)
}

// sensorTaken phrases the store's conflict on a sensor id. Ids are unique
// across the server, so the sentence must not say whose the sensor is when
// another workspace has it.
func (s *Server) sensorTaken(ctx context.Context, ws string, id int64, err error) error {
	if runlet.ErrorCode(err) != runlet.ECONFLICT {
		return err
	}
	if _, err := s.db.Sensor(ctx, ws, id); err == nil {
		return runlet.Errorf(runlet.ECONFLICT, "Sensor %d is registered in this workspace already: change it with PATCH (runlet sensors set), or remove it first.", id)
	}
	return runlet.Errorf(runlet.ECONFLICT, "Sensor id %d is taken: a sensor's id is unique on this server. Use another id.", id)
}

// handleGetSensor is GET /sensors/{id}: the sensor, its state, when it
// last reported and its latest values.
func (s *Server) handleGetSensor(w http.ResponseWriter, r *http.Request) {
	sn, err := s.sensorOf(r)
	if err == nil {
		err = s.setOneStatus(r.Context(), &sn)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, sn)
}

// handlePatchSensor is PATCH /sensors/{id}, for admins: the fields given
// change, the others stay.
func (s *Server) handlePatchSensor(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	var req api.SensorUpdate
	if err := decode(r, &req); err != nil {
		s.error(w, r, err)
		return
	}
	sn, err := s.sensorOf(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	for _, f := range []struct {
		from *string
		to   *string
	}{{req.Name, &sn.Name}, {req.Owner, &sn.Owner}, {req.Location, &sn.Location}, {req.Contact, &sn.Contact}} {
		if f.from != nil {
			*f.to = *f.from
		}
	}
	if req.State != nil {
		sn.State = *req.State
	}
	if req.Rules != nil {
		sn.Rules = *req.Rules
	}
	secret := ""
	if req.Secret != nil {
		secret = string(*req.Secret)
		err = checkSensorSecret(secret)
	}
	if err == nil {
		err = checkSensor(sn)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	ctx := r.Context()
	sn, err = s.db.UpdateSensor(ctx, sn, secret)
	if err != nil {
		s.error(w, r, s.sensorNotFound(err, sn.ID))
		return
	}
	s.forgetSensor(sn.ID)
	s.forgetAlerts(c.Workspace.ID)
	s.log.Info("sensor changed", "workspace", c.Workspace.Name, "sensor", sn.ID, "state", sn.State, "new_secret", secret != "", "rules", req.Rules != nil, "by", c.User.Email)
	if err := s.setOneStatus(ctx, &sn); err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, sn)
}

// handleDeleteSensor is DELETE /sensors/{id}, for admins: the sensor goes
// with its series and raw archive; its later readings are refused as an
// unknown sensor's.
func (s *Server) handleDeleteSensor(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	id, err := sensorID(r)
	if err == nil {
		err = s.sensorNotFound(s.db.DeleteSensor(r.Context(), c.Workspace.ID, id), id)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.forgetSensor(id)
	s.forgetAlerts(c.Workspace.ID)
	s.log.Info("sensor removed", "workspace", c.Workspace.Name, "sensor", id, "by", c.User.Email)
	w.WriteHeader(http.StatusNoContent)
}

// sensorOf is the caller's workspace's sensor named by the path's {id}.
func (s *Server) sensorOf(r *http.Request) (runlet.Sensor, error) {
	id, err := sensorID(r)
	if err != nil {
		return runlet.Sensor{}, err
	}
	sn, err := s.db.Sensor(r.Context(), callerOf(r).Workspace.ID, id)
	return sn, s.sensorNotFound(err, id)
}

// sensorNotFound phrases the store's ENOTFOUND for sensor id; another
// workspace's sensor reads the same.
func (s *Server) sensorNotFound(err error, id int64) error {
	if runlet.ErrorCode(err) == runlet.ENOTFOUND {
		return runlet.Errorf(runlet.ENOTFOUND, "There is no sensor %d in this workspace (see GET /sensors, or runlet sensors list).", id)
	}
	return err
}

// sensorID reads the path's {id}: a positive integer.
func sensorID(r *http.Request) (int64, error) {
	v := r.PathValue("id")
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, runlet.Errorf(runlet.EINVALID, "The sensor id must be a positive integer, not %q.", runlet.SafeText(v))
	}
	return id, nil
}

func checkSensorID(id int64) error {
	if id <= 0 {
		return runlet.Errorf(runlet.EINVALID, "id must be the sensor's id, a positive integer (the \"id\" of its messages), not %d.", id)
	}
	return nil
}

// setStatus sets each sensor's Status from the workspace's open alerts
// (runlet.StatusOf).
func (s *Server) setStatus(ctx context.Context, ws string, sensors []runlet.Sensor) error {
	open, err := s.db.OpenAlerts(ctx, ws)
	if err != nil {
		return err
	}
	for i := range sensors {
		sensors[i].Status = runlet.StatusOf(sensors[i], open)
	}
	return nil
}

// setOneStatus is setStatus of one sensor.
func (s *Server) setOneStatus(ctx context.Context, sn *runlet.Sensor) error {
	one := []runlet.Sensor{*sn}
	err := s.setStatus(ctx, sn.Workspace, one)
	*sn = one[0]
	return err
}

// checkSensor checks what people may set of a sensor: its texts, its
// state, and its rules (R-TEL-3, R-TEL-4).
func checkSensor(sn runlet.Sensor) error {
	if err := sn.Rules.Check(); err != nil {
		return err
	}
	if d := time.Duration(sn.Rules.Silence); d != 0 && d < runlet.MinAlertPeriod {
		return runlet.Errorf(runlet.EINVALID, "The silence period must be at least %v, not %v.", runlet.MinAlertPeriod, d)
	}
	if !sn.State.Valid() {
		return runlet.Errorf(runlet.EINVALID, "state must be active or inactive, not %q.", runlet.SafeText(string(sn.State)))
	}
	if err := runlet.CheckText("The name", strings.TrimSpace(sn.Name), maxSensorName); err != nil {
		return err
	}
	for _, f := range []struct{ name, v string }{{"The owner", sn.Owner}, {"The location", sn.Location}, {"The contact", sn.Contact}} {
		if err := runlet.CheckText(f.name, f.v, maxSensorField); err != nil {
			return err
		}
	}
	return nil
}

func checkSensorSecret(secret string) error {
	switch {
	case secret == "":
		return runlet.Errorf(runlet.EINVALID, "secret is missing: give the sensor's secret (the \"auth\" of its messages), a number or a string.")
	case len(secret) > runlet.MaxSensorSecret:
		return runlet.Errorf(runlet.EINVALID, "secret is too long: at most %d bytes.", runlet.MaxSensorSecret)
	}
	return nil
}

// forgetSensor has this server's pipeline drop what it cached about the
// sensor, so that a change takes effect at its next reading.
func (s *Server) forgetSensor(id int64) {
	if s.telemetry != nil {
		s.telemetry.Forget(id)
	}
}
