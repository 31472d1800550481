package server

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/store"
)

// The alerts of a workspace and the notifications sent of them (R-TEL-5:
// every notification is recorded, sent, failed with its reason or
// retried, and visible). Every member and device of the workspace reads
// them; another workspace's alert is not found, exactly as one that does
// not exist.

// handleListAlerts is GET /alerts?open&kind&sensor&device&before&limit: a
// page of alerts, newest first, with the cursor of the next.
func (s *Server) handleListAlerts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.AlertFilter{Kind: runlet.AlertKind(q.Get("kind")), Device: q.Get("device")}
	var err error
	if f.Open, err = boolParam(q, "open"); err == nil {
		f.Sensor, err = idParam(q, "sensor")
	}
	if err == nil {
		f.Before, err = idParam(q, "before")
	}
	if err == nil {
		f.Limit, err = limitParam(q)
	}
	if err == nil && f.Kind != "" && !f.Kind.Valid() {
		err = runlet.Errorf(runlet.EINVALID, "kind must be threshold, silence, offline, outbox or refused, not %q.", runlet.SafeText(string(f.Kind)))
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	list, err := s.db.ListAlerts(r.Context(), callerOf(r).Workspace.ID, f)
	if err != nil {
		s.error(w, r, err)
		return
	}
	out := api.Alerts{Alerts: list}
	if out.Alerts == nil {
		out.Alerts = []runlet.Alert{}
	}
	if len(list) >= f.Limit {
		out.Next = list[len(list)-1].ID
	}
	writeJSON(w, http.StatusOK, out)
}

// handleGetAlert is GET /alerts/{id}: the alert and its notifications.
func (s *Server) handleGetAlert(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ws := callerOf(r).Workspace.ID
	v := r.PathValue("id")
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		s.error(w, r, runlet.Errorf(runlet.EINVALID, "The alert id must be a positive integer, not %q.", runlet.SafeText(v)))
		return
	}
	a, err := s.db.Alert(ctx, ws, id)
	if runlet.ErrorCode(err) == runlet.ENOTFOUND {
		err = runlet.Errorf(runlet.ENOTFOUND, "There is no alert %d in this workspace (see GET /alerts, or runlet alerts list).", id)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	ns, err := s.db.ListNotifications(ctx, ws, store.NotificationFilter{Alert: id, Limit: store.MaxLimit})
	if err != nil {
		s.error(w, r, err)
		return
	}
	if ns == nil {
		ns = []runlet.Notification{}
	}
	writeJSON(w, http.StatusOK, api.AlertDetail{Alert: a, Notifications: ns})
}

// handleListNotifications is GET /notifications?state&alert&before&limit:
// a page of notifications, newest first, with the cursor of the next.
func (s *Server) handleListNotifications(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.NotificationFilter{State: runlet.NotificationState(q.Get("state"))}
	var err error
	if f.Alert, err = idParam(q, "alert"); err == nil {
		f.Before, err = idParam(q, "before")
	}
	if err == nil {
		f.Limit, err = limitParam(q)
	}
	switch f.State {
	case "", runlet.NotificationPending, runlet.NotificationSent, runlet.NotificationFailed:
	default:
		if err == nil {
			err = runlet.Errorf(runlet.EINVALID, "state must be pending, sent or failed, not %q.", runlet.SafeText(string(f.State)))
		}
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	list, err := s.db.ListNotifications(r.Context(), callerOf(r).Workspace.ID, f)
	if err != nil {
		s.error(w, r, err)
		return
	}
	out := api.Notifications{Notifications: list}
	if out.Notifications == nil {
		out.Notifications = []runlet.Notification{}
	}
	if len(list) >= f.Limit {
		out.Next = list[len(list)-1].ID
	}
	writeJSON(w, http.StatusOK, out)
}

// boolParam reads a query flag: true, 1, false, 0 or absent.
func boolParam(q url.Values, name string) (bool, error) {
	v := q.Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, runlet.Errorf(runlet.EINVALID, "%s must be true or false, not %q.", name, runlet.SafeText(v))
	}
	return b, nil
}

// idParam reads a query id: a positive integer, 0 when absent.
func idParam(q url.Values, name string) (int64, error) {
	v := q.Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0, runlet.Errorf(runlet.EINVALID, "%s must be a positive integer, not %q.", name, runlet.SafeText(v))
	}
	return n, nil
}

// limitParam reads limit: store.DefaultLimit when absent, at most
// store.MaxLimit.
func limitParam(q url.Values) (int, error) {
	n, err := intParam(q.Get("limit"), "limit")
	if n == 0 {
		n = store.DefaultLimit
	}
	return min(n, store.MaxLimit), err
}
