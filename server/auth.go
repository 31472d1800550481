package server

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"

	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/auth"
)

// The HTTP side of package auth: the caller in a request's context, the
// routes of sign-in, and Retry-After for the limits of sign-in.

type callerKey struct{}

func callerOf(r *http.Request) *auth.Caller { return r.Context().Value(callerKey{}).(*auth.Caller) }

// authed runs h for requests with a usable device, session or API token.
func (s *Server) authed(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := s.auth.Authenticate(r)
		if err != nil {
			s.error(w, r, err)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, c)))
	})
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	var req api.LoginRequest
	if err := decode(r, &req); err != nil {
		s.error(w, r, err)
		return
	}
	u, ws, err := s.auth.CheckUser(r.Context(), s.auth.Source(r), req.Email, req.Password)
	if err != nil {
		s.error(w, r, err)
		return
	}
	secret, t, err := s.auth.NewSession(r.Context(), u, ws)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.LoginResponse{Token: secret, Expires: t.Expires})
}

func (s *Server) handleWhoami(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	out := api.Whoami{Workspace: c.Workspace.ID, WorkspaceName: c.Workspace.Name}
	if c.Device != nil {
		out.Device, out.DeviceID = c.Device.Name, c.Device.ID
	} else {
		out.User, out.UserID = c.User.Email, c.User.ID
	}
	writeJSON(w, http.StatusOK, out)
}

// setRetryAfter sets the Retry-After header of an attempt refused by the
// limits of sign-in (an *auth.TooManyError) and returns its seconds; 0
// for any other error.
func setRetryAfter(w http.ResponseWriter, err error) int {
	var tm *auth.TooManyError
	if !errors.As(err, &tm) {
		return 0
	}
	secs := max(1, int(math.Ceil(tm.Wait.Seconds())))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	return secs
}
