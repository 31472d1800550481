package server

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/auth"
	"github.com/runlet/runlet/store"
)

// The admin API (R-TEL-7, the seed's appendix D) under /api/v1/admin: the
// seed's endpoints and shapes, over our records. Its "device" is our
// sensor (admin_sensors.go), its "gateway" our device
// (admin_gateways.go), its "user" our user with a membership of the
// workspace (admin_users.go). Every endpoint but POST /admin/token takes
// an admin token (auth/jwt.go) or an admin's ordinary credentials, and
// checks at each request that the user is an owner or admin of the
// workspace. Every change goes into the audit log, which GET /admin/audit
// reads.

type adminKey struct{}

// adminOf is the admin a request of the admin API acts as.
func adminOf(r *http.Request) auth.Admin { return r.Context().Value(adminKey{}).(auth.Admin) }

// adminAPI runs h for an owner or admin of the workspace, authenticated
// by an admin token or by a session or API token.
func (s *Server) adminAPI(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, err := s.adminCaller(r)
		if err != nil {
			s.adminError(w, r, err)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), adminKey{}, a)))
	})
}

// adminCaller is who r acts as, when an admin.
func (s *Server) adminCaller(r *http.Request) (auth.Admin, error) {
	if jwt, ok := bearerJWT(r); ok {
		return s.auth.VerifyAdminToken(r.Context(), jwt)
	}
	c, err := s.auth.Authenticate(r)
	if err != nil {
		return auth.Admin{}, err
	}
	if c.User == nil {
		return auth.Admin{}, runlet.Errorf(runlet.EFORBIDDEN, "A device token cannot use the admin API: use an admin token (POST %s/admin/token) or sign in as an admin.", api.Prefix)
	}
	return s.auth.CheckAdmin(r.Context(), c.User.ID, c.Workspace.ID)
}

// bearerJWT returns the request's bearer token when it has a JWT's form.
func bearerJWT(r *http.Request) (string, bool) {
	secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	secret = strings.TrimSpace(secret)
	return secret, ok && auth.LooksLikeJWT(secret)
}

// adminError answers err; an internal error while the database does not
// answer becomes 503, so that a script knows to try again (the seed's
// tests cut the database: "loss of connection to the database").
func (s *Server) adminError(w http.ResponseWriter, r *http.Request, err error) {
	if runlet.ErrorCode(s.diskFull(err)) == runlet.EINTERNAL {
		if perr := s.db.Ping(context.WithoutCancel(r.Context())); perr != nil {
			s.log.Warn("admin API: the database does not answer", "method", r.Method, "path", r.URL.Path, "err", err)
			err = runlet.Errorf(runlet.EUNAVAILABLE, "The database does not answer, so the request was not done: try again in a moment.")
		}
	}
	s.error(w, r, err)
}

// audit records a change by the admin in the workspace's audit log:
// subject is what changed ("sensor 12"), detail how, never a secret. The
// change is made already, so a failure to record it is logged, not
// answered.
func (s *Server) audit(r *http.Request, subject, detail string) {
	a := adminOf(r)
	ev := store.AuditEvent{Workspace: a.Workspace.ID, Kind: store.AuditAdminChange, Subject: subject, User: a.User.ID,
		Source: s.auth.Source(r), Detail: a.User.Email + ": " + detail}
	if err := s.db.AddAudit(context.WithoutCancel(r.Context()), &ev); err != nil {
		s.log.Error("could not record an admin change in the audit log", "workspace", a.Workspace.Name, "subject", subject, "detail", detail, "err", err)
	}
	s.log.Info("admin change", "workspace", a.Workspace.Name, "subject", subject, "detail", detail, "by", a.User.Email)
}

// handleAdminToken is POST /admin/token (D.1): HTTP Basic with a user's
// email and password, under the limits of sign-in, gives an admin token
// valid one hour.
func (s *Server) handleAdminToken(w http.ResponseWriter, r *http.Request) {
	email, password, ok := r.BasicAuth()
	if !ok {
		w.Header().Set("WWW-Authenticate", `Basic realm="runlet admin", charset="UTF-8"`)
		s.error(w, r, runlet.Errorf(runlet.EUNAUTHORIZED, "Send your email and password with HTTP Basic ('Authorization: Basic BASE64(EMAIL:PASSWORD)') to get an admin token."))
		return
	}
	tok, a, err := s.auth.IssueAdminToken(r.Context(), s.auth.Source(r), email, password, r.URL.Query().Get("workspace"))
	if err != nil {
		s.adminError(w, r, err)
		return
	}
	s.log.Info("admin token issued", "workspace", a.Workspace.Name, "email", a.User.Email)
	writeJSON(w, http.StatusOK, api.AdminToken{Token: tok, Expires: a.Expires.UTC(), Workspace: a.Workspace.ID})
}

// handleCheckAdminToken is GET /admin/token (D.2): 200 for a valid admin
// token of a user who is still an admin, 401 otherwise.
func (s *Server) handleCheckAdminToken(w http.ResponseWriter, r *http.Request) {
	jwt, ok := bearerJWT(r)
	if !ok {
		s.error(w, r, runlet.Errorf(runlet.EUNAUTHORIZED, "Send the admin token as 'Authorization: Bearer TOKEN' (get one with POST %s/admin/token).", api.Prefix))
		return
	}
	a, err := s.auth.VerifyAdminToken(r.Context(), jwt)
	if code := runlet.ErrorCode(err); code == runlet.EFORBIDDEN {
		err = runlet.Errorf(runlet.EUNAUTHORIZED, "The admin token is no longer valid: %s", runlet.ErrorMessage(err))
	}
	if err != nil {
		s.adminError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.AdminTokenInfo{Valid: true, User: a.User.Email, Workspace: a.Workspace.ID, Expires: a.Expires.UTC()})
}

// handleAdminAudit is GET /admin/audit?limit=N: the workspace's audit log,
// newest first: the admin API's changes and the lockouts of sign-in.
func (s *Server) handleAdminAudit(w http.ResponseWriter, r *http.Request) {
	limit := 0
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			s.error(w, r, runlet.Errorf(runlet.EINVALID, "limit must be a whole number of events, 0 or more, not %q.", runlet.SafeText(v)))
			return
		}
		limit = n
	}
	evs, err := s.db.ListAudit(r.Context(), adminOf(r).Workspace.ID, limit)
	if err != nil {
		s.adminError(w, r, err)
		return
	}
	out := api.AuditLog{Events: []api.AuditEvent{}}
	for _, e := range evs {
		out.Events = append(out.Events, api.AuditEvent{ID: e.ID, Kind: string(e.Kind), Subject: e.Subject, User: e.User, Source: e.Source, Detail: e.Detail, Time: e.Time})
	}
	writeJSON(w, http.StatusOK, out)
}
