package server

import (
	"context"
	"net/http"

	"github.com/runlet/runlet"
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
	name := r.PathValue("name")
	d, err := s.db.DeviceByName(ctx, c.Workspace.ID, name)
	if runlet.ErrorCode(err) == runlet.ENOTFOUND {
		err = runlet.Errorf(runlet.ENOTFOUND, "There is no device named %q in this workspace (it may have been removed already).", name)
	}
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
