package server

import (
	"context"
	"net/http"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/store"
)

// removeDevice takes a device out of its workspace, whoever asks (the
// device signing itself out, or an admin removing it): it revokes the
// device and its tokens in the store, cuts its broker connections and
// wakes the WebSockets that check their callers (auth), and deletes its
// dispatch queue and forgets its presence (intake). Its next API call gets
// 401 and its broker refuses it; its name is free for a new sign-in.
func (s *Server) removeDevice(ctx context.Context, ws runlet.Workspace, d runlet.Device) error {
	if err := s.db.RevokeDevice(ctx, ws.ID, d.ID); err != nil {
		return err
	}
	s.auth.RevokedDevice(d)
	s.intake.DeviceRemoved(ctx, ws.ID, d.Name)
	return nil
}

// handleRemoveDevice is DELETE /devices/{name}, for admins: a lost or
// retired device loses its access at once, without its cooperation. A
// device of another workspace, or one already removed, is not found.
func (s *Server) handleRemoveDevice(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	ctx := r.Context()
	d, err := s.deviceNamed(ctx, c.Workspace.ID, r.PathValue("name"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	if err := s.removeDevice(ctx, c.Workspace, d); err != nil {
		s.error(w, r, err)
		return
	}
	s.log.Info("device removed", "workspace", c.Workspace.Name, "device", d.Name, "by", c.User.Email)
	w.WriteHeader(http.StatusNoContent)
}

// deviceNamed is the workspace's device of that name, or a sentence saying
// there is none.
func (s *Server) deviceNamed(ctx context.Context, ws, name string) (runlet.Device, error) {
	d, err := s.db.DeviceByName(ctx, ws, name)
	if runlet.ErrorCode(err) == runlet.ENOTFOUND {
		err = runlet.Errorf(runlet.ENOTFOUND, "There is no device named %q in this workspace (it may have been removed already).", name)
	}
	return d, err
}

// handleSetDeviceLabels is PUT /devices/{name}/labels, for admins: the
// device's labels become the body's (runlet.CheckLabels), for targeting
// with --on label:KEY[=VALUE].
func (s *Server) handleSetDeviceLabels(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	ctx := r.Context()
	var req api.DeviceLabels
	if err := decode(r, &req); err != nil {
		s.error(w, r, err)
		return
	}
	if err := runlet.CheckLabels(req.Labels); err != nil {
		s.error(w, r, err)
		return
	}
	d, err := s.deviceNamed(ctx, c.Workspace.ID, r.PathValue("name"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	labels := req.Labels
	if labels == nil {
		labels = map[string]string{} // clears them: nil would leave them
	}
	d, err = s.db.UpdateDevice(ctx, c.Workspace.ID, d.ID, store.DeviceUpdate{Labels: labels})
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.log.Info("device labels set", "workspace", c.Workspace.Name, "device", d.Name, "labels", runlet.FormatLabels(d.Labels), "by", c.User.Email)
	writeJSON(w, http.StatusOK, api.DeviceLabels{Labels: d.Labels})
}
