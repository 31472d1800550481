package server

import (
	"context"
	"html/template"
	"net/http"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
)

// approvalPage is the minimal sign-in approval page of RFC 8628, for
// browsers without JavaScript: the result page of POST /device, whose form
// carries the credentials itself, so there is no session cookie to forge
// requests with. GET /device is the web UI's page, which uses the JSON API
// below with the session cookie.
var approvalPage = template.Must(template.New("device").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Runlet: sign in a device</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}
label{display:block;margin:.6rem 0}input{width:100%;padding:.4rem;box-sizing:border-box}
.code{font-family:monospace;font-size:1.4rem}.err{color:#b00}.ok{color:#070}</style></head>
<body><h1>Sign in a device</h1>
{{if .Error}}<p class="err">{{.Error}}</p>{{end}}
{{if .Done}}<p class="ok">{{.Done}}</p>{{else}}
{{if .Device}}<p>The device <b>{{.Device}}</b> asks to join this Runlet server with the code <span class="code">{{.Code}}</span>.</p>{{end}}
<form method="post" action="/device">
<label>Code shown by the device <input name="code" value="{{.Code}}" autocomplete="off" required></label>
<label>Email <input name="email" type="email" value="{{.Email}}" required></label>
<label>Password <input name="password" type="password" required></label>
<button name="action" value="approve">Approve</button> <button name="action" value="deny">Deny</button>
</form>{{end}}
</body></html>
`))

type approvalData struct {
	Code, Device, Email, Error, Done string
}

func (s *Server) renderApproval(w http.ResponseWriter, status int, d approvalData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	_ = approvalPage.Execute(w, d)
}

func (s *Server) handleApprovalForm(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.renderApproval(w, http.StatusBadRequest, approvalData{Error: "The form could not be read."})
		return
	}
	ctx, source := r.Context(), s.auth.Source(r)
	d := approvalData{Code: normalizeUserCode(r.PostForm.Get("code")), Email: r.PostForm.Get("email")}
	c, err := s.lookUpUserCode(ctx, source, d.Code)
	if err != nil {
		d.Error = runlet.ErrorMessage(err)
		setRetryAfter(w, err)
		s.renderApproval(w, statusOf(err), d)
		return
	}
	d.Device = c.DeviceName
	u, _, err := s.auth.CheckUser(ctx, source, d.Email, r.PostForm.Get("password"))
	if err == nil {
		// Devices sign in to the default workspace this round; the user
		// must belong to it.
		_, err = s.db.Membership(ctx, s.defaultWS.ID, u.ID)
		if runlet.ErrorCode(err) == runlet.ENOTFOUND {
			err = runlet.Errorf(runlet.EFORBIDDEN, "%s is not a member of the workspace %s.", u.Email, s.defaultWS.Name)
		}
	}
	if err != nil {
		d.Error = runlet.ErrorMessage(err)
		setRetryAfter(w, err)
		s.renderApproval(w, statusOf(err), d)
		return
	}
	if r.PostForm.Get("action") == "deny" {
		_, err = s.db.DenyDeviceCode(ctx, d.Code, u.ID)
		d.Done = "The device " + c.DeviceName + " was refused."
	} else {
		if err = s.checkNameFree(ctx, s.defaultWS.ID, c.DeviceName); err == nil {
			_, err = s.db.ApproveDeviceCode(ctx, d.Code, s.defaultWS.ID, u.ID)
		}
		d.Done = "The device " + c.DeviceName + " is signed in. You can close this page."
	}
	if err != nil {
		d.Done, d.Error = "", runlet.ErrorMessage(err)
		if runlet.ErrorCode(err) == runlet.ECONFLICT && d.Error == "" {
			d.Error = "This code was already approved or denied."
		}
		s.renderApproval(w, statusOf(err), d)
		return
	}
	s.log.Info("device code answered", "device", c.DeviceName, "by", u.Email, "action", r.PostForm.Get("action"))
	s.renderApproval(w, http.StatusOK, d)
}

func statusOf(err error) int {
	if st, ok := statuses[runlet.ErrorCode(err)]; ok {
		return st
	}
	return http.StatusInternalServerError
}

// handleGetApproval is GET /device/approval?code=: what the device that
// shows the code asked for. Like the page of RFC 8628, it needs no sign-in:
// knowing the code is what lets one see it.
func (s *Server) handleGetApproval(w http.ResponseWriter, r *http.Request) {
	code := normalizeUserCode(r.URL.Query().Get("code"))
	c, err := s.lookUpUserCode(r.Context(), s.auth.Source(r), code)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.Approval{Code: c.UserCode, Device: c.DeviceName, Expires: c.Expires})
}

var errUnknownCode = runlet.Errorf(runlet.ENOTFOUND, "This code is unknown or expired: start the sign-in on the device again.")

// lookUpUserCode finds the unexpired device code with the user code, a
// guess counted against the source address; errUnknownCode if none.
func (s *Server) lookUpUserCode(ctx context.Context, source, code string) (runlet.DeviceCode, error) {
	var c runlet.DeviceCode
	err := s.auth.Guess(ctx, source, func() (err error) {
		c, err = s.db.DeviceCodeByUserCode(ctx, code)
		return err
	})
	if runlet.ErrorCode(err) == runlet.ENOTFOUND {
		err = errUnknownCode
	}
	return c, err
}

// handlePostApproval is POST /device/approval: the signed-in user approves
// or denies; an approved device joins the user's workspace.
func (s *Server) handlePostApproval(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	if c.User == nil {
		s.error(w, r, runlet.Errorf(runlet.EFORBIDDEN, "A device cannot approve another: sign in as a user."))
		return
	}
	var req api.ApprovalRequest
	if err := decode(r, &req); err != nil {
		s.error(w, r, err)
		return
	}
	ctx := r.Context()
	code := normalizeUserCode(req.Code)
	dc, err := s.lookUpUserCode(ctx, s.auth.Source(r), code)
	if err != nil {
		s.error(w, r, err)
		return
	}
	var status string
	switch req.Action {
	case "approve":
		if err = s.checkNameFree(ctx, c.Workspace.ID, dc.DeviceName); err == nil {
			_, err = s.db.ApproveDeviceCode(ctx, code, c.Workspace.ID, c.User.ID)
		}
		status = "approved"
	case "deny":
		_, err = s.db.DenyDeviceCode(ctx, code, c.User.ID)
		status = "denied"
	default:
		err = runlet.Errorf(runlet.EINVALID, "Unknown action %q: use approve or deny.", req.Action)
	}
	if runlet.ErrorCode(err) == runlet.ECONFLICT && status != "approved" {
		err = runlet.Errorf(runlet.ECONFLICT, "This code was already approved or denied.")
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.log.Info("device code answered", "device", dc.DeviceName, "by", c.User.Email, "action", req.Action)
	writeJSON(w, http.StatusOK, map[string]string{"status": status})
}
