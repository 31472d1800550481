package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/dispatch"
	"github.com/runlet/runlet/jobspec"
	"github.com/runlet/runlet/web"
)

// RabbitMQAuthPrefix is where RabbitMQ's HTTP auth backend is mounted, for
// a RabbitMQ broker: rabbitmq_auth_backend_http asks there who may connect
// and what each user may touch (package rabbitauth answers).
const RabbitMQAuthPrefix = "/rabbitmq"

// routes is the whole HTTP surface.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	p := api.Prefix
	mux.HandleFunc("GET /healthz", s.handleHealthz)
	mux.HandleFunc("GET /readyz", s.handleReadyz)
	mux.HandleFunc("GET "+p+"/openapi.json", handleOpenAPI)
	mux.HandleFunc("POST "+p+"/device/code", s.handleDeviceCode)
	mux.HandleFunc("POST "+p+"/device/token", s.handleDeviceToken)
	mux.Handle("GET /device", web.Handler()) // the web UI's approval page
	mux.HandleFunc("POST /device", s.handleApprovalForm)
	mux.HandleFunc("GET "+p+"/device/approval", s.handleGetApproval)
	mux.Handle("POST "+p+"/device/approval", s.authed(s.handlePostApproval))
	mux.HandleFunc("POST "+p+"/enroll", s.handleEnroll)
	mux.HandleFunc("POST "+p+"/login", s.handleLogin)
	mux.Handle("POST "+p+"/signout", s.authed(s.handleSignout))
	mux.Handle("GET "+p+"/whoami", s.authed(s.handleWhoami))
	mux.Handle("GET "+p+"/jobs", s.authed(s.handleGetJobs))
	mux.Handle("PUT "+p+"/jobs", s.authed(s.handlePutJobs))
	mux.Handle("DELETE "+p+"/jobs/{name}", s.authed(s.handleDeleteJob))
	mux.Handle("GET "+p+"/jobs/versions", s.authed(s.handleJobVersions))
	mux.Handle("GET "+p+"/jobs/versions/{version}", s.authed(s.handleJobVersion))
	mux.Handle("POST "+p+"/jobs/rollback", s.authed(s.handleRollbackJobs))
	mux.Handle("GET "+p+"/schedules", s.authed(s.handleSchedules))
	mux.Handle("POST "+p+"/runs", s.authed(s.handleRun))
	mux.Handle("GET "+p+"/runs", s.authed(s.handleListRuns))
	mux.Handle("GET "+p+"/executions", s.authed(s.handleListExecutions))
	mux.Handle("GET "+p+"/executions/{id}", s.authed(s.handleGetExecution))
	mux.Handle("POST "+p+"/executions/{id}/stop", s.authed(s.handleStop))
	mux.Handle("POST "+p+"/executions/{id}/kill", s.authed(s.handleKill))
	mux.Handle("GET "+p+"/devices", s.authed(s.handleDevices))
	mux.Handle("DELETE "+p+"/devices/{name}", s.admin(s.handleRemoveDevice))
	mux.Handle("PUT "+p+"/devices/{name}/labels", s.admin(s.handleSetDeviceLabels))
	mux.Handle("GET "+p+"/sensors", s.authed(s.handleListSensors))
	mux.Handle("POST "+p+"/sensors", s.admin(s.handleAddSensor))
	mux.Handle("GET "+p+"/sensors/{id}", s.authed(s.handleGetSensor))
	mux.Handle("PATCH "+p+"/sensors/{id}", s.admin(s.handlePatchSensor))
	mux.Handle("DELETE "+p+"/sensors/{id}", s.admin(s.handleDeleteSensor))
	mux.Handle("GET "+p+"/sensors/{id}/readings", s.authed(s.handleSeries))
	mux.Handle("GET "+p+"/sensors/{id}/raw", s.authed(s.handleRaw))
	mux.Handle("POST "+p+"/sensors/{id}/replay", s.admin(s.handleReplay))
	mux.Handle("GET "+p+"/telemetry/settings", s.authed(s.handleGetTelemetrySettings))
	mux.Handle("PUT "+p+"/telemetry/settings", s.admin(s.handlePutTelemetrySettings))
	mux.Handle("GET "+p+"/telemetry/stats", s.authed(s.handleTelemetryStats))
	mux.Handle("GET "+p+"/alerts", s.authed(s.handleListAlerts))
	mux.Handle("GET "+p+"/alerts/{id}", s.authed(s.handleGetAlert))
	mux.Handle("GET "+p+"/alerts/settings", s.authed(s.handleGetAlertSettings))
	mux.Handle("PUT "+p+"/alerts/settings", s.admin(s.handlePutAlertSettings))
	mux.Handle("GET "+p+"/notifications", s.authed(s.handleListNotifications))
	mux.Handle("GET "+p+"/notify/settings", s.authed(s.handleGetNotifySettings))
	mux.Handle("PUT "+p+"/notify/settings", s.admin(s.handlePutNotifySettings))
	mux.Handle("GET "+p+"/channels", s.authed(s.handleListChannels))
	mux.Handle("POST "+p+"/channels", s.authed(s.handleAddChannel))
	mux.Handle("PATCH "+p+"/channels/{id}", s.authed(s.handlePatchChannel))
	mux.Handle("DELETE "+p+"/channels/{id}", s.authed(s.handleDeleteChannel))
	mux.Handle("POST "+p+"/channels/{id}/test", s.authed(s.handleTestChannel))
	mux.HandleFunc("GET "+p+"/executions/{id}/terminal", s.handleTerminal)
	mux.Handle("GET "+p+"/logkeys", s.authed(s.handleGetLogKeys))
	mux.Handle("POST "+p+"/logkeys", s.admin(s.handlePostLogKey))
	mux.Handle("GET "+p+"/logkeys/active", s.authed(s.handleActiveLogKey))
	mux.Handle("GET "+p+"/executions/{id}/logs", s.authed(s.handleExecutionLogs))
	mux.Handle("PUT "+p+"/executions/{id}/logs/{device}", s.authed(s.handlePutLog))
	mux.Handle("GET "+p+"/executions/{id}/logs/{device}", s.authed(s.handleGetLog)) // and HEAD
	mux.Handle("GET "+p+"/logs/settings", s.authed(s.handleGetLogSettings))
	mux.Handle("PUT "+p+"/logs/settings", s.admin(s.handlePutLogSettings))
	mux.HandleFunc("POST "+p+"/session", s.handleCreateSession)
	mux.Handle("GET "+p+"/session", s.authed(s.handleGetSession))
	mux.Handle("DELETE "+p+"/session", s.authed(s.handleDeleteSession))
	mux.Handle("GET "+p+"/workspace", s.authed(s.handleGetWorkspace))
	mux.Handle("PATCH "+p+"/workspace", s.admin(s.handlePatchWorkspace))
	mux.Handle("GET "+p+"/members", s.authed(s.handleListMembers))
	mux.Handle("POST "+p+"/members", s.admin(s.handleInvite))
	mux.Handle("DELETE "+p+"/members/{userId}", s.admin(s.handleRemoveMember))
	mux.HandleFunc("POST "+p+"/invites/accept", s.handleAcceptInvite)
	mux.Handle("GET "+p+"/enrollment-tokens", s.admin(s.handleListEnrollmentTokens))
	mux.Handle("POST "+p+"/enrollment-tokens", s.admin(s.handleCreateEnrollmentToken))
	mux.Handle("DELETE "+p+"/enrollment-tokens/{id}", s.admin(s.handleRevokeEnrollmentToken))
	mux.Handle("PUT "+p+"/user/password", s.authed(s.handleChangePassword))
	// The admin API (R-TEL-7, the seed's appendix D; admin*.go).
	mux.HandleFunc("POST "+p+"/admin/token", s.handleAdminToken)
	mux.HandleFunc("GET "+p+"/admin/token", s.handleCheckAdminToken)
	mux.Handle("GET "+p+"/admin/audit", s.adminAPI(s.handleAdminAudit))
	mux.Handle("POST "+p+"/admin/users", s.adminAPI(s.handleAdminCreateUser))
	mux.Handle("GET "+p+"/admin/users/{user}", s.adminAPI(s.handleAdminGetUser))
	mux.Handle("PUT "+p+"/admin/users/{user}", s.adminAPI(s.handleAdminUpdateUser))
	mux.Handle("DELETE "+p+"/admin/users/{user}", s.adminAPI(s.handleAdminDeleteUser))
	mux.Handle("POST "+p+"/admin/devices", s.adminAPI(s.handleAdminCreateSensor))
	mux.Handle("PUT "+p+"/admin/devices", s.adminAPI(s.handleAdminLegacySensor))
	mux.Handle("GET "+p+"/admin/devices", s.adminAPI(s.handleAdminListSensors))
	mux.Handle("GET "+p+"/admin/devices/{device}", s.adminAPI(s.handleAdminGetSensor))
	mux.Handle("DELETE "+p+"/admin/devices/{device}", s.adminAPI(s.handleAdminDeleteSensor))
	mux.Handle("PUT "+p+"/admin/devices/{device}/config", s.adminAPI(s.handleAdminSensorConfig))
	mux.Handle("POST "+p+"/admin/devices/{device}/login", s.adminAPI(s.handleAdminSensorLogin))
	mux.Handle("POST "+p+"/admin/gateways", s.adminAPI(s.handleAdminCreateGateway))
	mux.Handle("GET "+p+"/admin/gateways", s.adminAPI(s.handleAdminListGateways))
	mux.Handle("GET "+p+"/admin/gateways/{gateway}", s.adminAPI(s.handleAdminGetGateway))
	mux.Handle("DELETE "+p+"/admin/gateways/{gateway}", s.adminAPI(s.handleAdminDeleteGateway))
	mux.Handle("PUT "+p+"/admin/gateways/{gateway}/config", s.adminAPI(s.handleAdminGatewayConfig))
	mux.Handle("POST "+p+"/admin/gateways/{gateway}/login", s.adminAPI(s.handleAdminGatewayLogin))
	mux.HandleFunc(p+"/", func(w http.ResponseWriter, r *http.Request) {
		s.error(w, r, runlet.Errorf(runlet.ENOTFOUND, "No API endpoint %s %s (see %s/openapi.json).", r.Method, r.URL.Path, p))
	})
	if s.brokerAuth != nil {
		s.brokerAuth.Mount(mux, RabbitMQAuthPrefix)
	}
	// The web UI: every other page. Without a method, so that the API's
	// catch-all above stays the more specific pattern.
	mux.Handle("/", webPages())
	return s.limitBody(s.untilReady(mux))
}

// webPages serves the web UI to GET and HEAD.
func webPages() http.Handler {
	ui := web.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "Method not allowed.", http.StatusMethodNotAllowed)
			return
		}
		ui.ServeHTTP(w, r)
	})
}

// untilReady answers 503 while the server starts, except to RabbitMQ's
// auth backend, which the start itself needs.
func (s *Server) untilReady(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.ready.Load() && !strings.HasPrefix(r.URL.Path, RabbitMQAuthPrefix+"/") {
			s.error(w, r, runlet.Errorf(runlet.EUNAVAILABLE, "The server is starting; try again in a moment."))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// limitBody refuses bodies over MaxBody; handlers see the error on read.
// A log upload has its own bound (logs.go).
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isLogUpload(r) {
			next.ServeHTTP(w, r)
			return
		}
		if r.ContentLength > MaxBody {
			s.error(w, r, errTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
		next.ServeHTTP(w, r)
	})
}

// DefaultReadTimeout is Config.ReadTimeout's default.
const DefaultReadTimeout = 30 * time.Second

// readTimeout is the http.Server's ReadTimeout. net/http clears the
// connection's deadline when a handler hijacks it, so the terminal
// WebSocket (which coder/websocket hijacks) outlives it.
func (s *Server) readTimeout() time.Duration {
	if s.cfg.ReadTimeout > 0 {
		return s.cfg.ReadTimeout
	}
	return DefaultReadTimeout
}

var errTooLarge = &runlet.Error{Code: runlet.EINVALID, Message: fmt.Sprintf("The request body is larger than the %d bytes allowed.", MaxBody)}

// statuses is the one place runlet error codes become HTTP statuses.
var statuses = map[string]int{
	runlet.EINVALID:        http.StatusBadRequest,
	runlet.EUNAUTHORIZED:   http.StatusUnauthorized,
	runlet.EFORBIDDEN:      http.StatusForbidden,
	runlet.ENOTFOUND:       http.StatusNotFound,
	runlet.ECONFLICT:       http.StatusConflict,
	runlet.EUNAVAILABLE:    http.StatusServiceUnavailable,
	runlet.ENOTIMPLEMENTED: http.StatusNotImplemented,
	runlet.EINTERNAL:       http.StatusInternalServerError,
	runlet.ETOOMANY:        http.StatusTooManyRequests,
	runlet.EFULL:           http.StatusInsufficientStorage,
}

// error answers err as {"error": {code, message, details}}, logging only
// internal errors and full disks (the others are the caller's to read).
func (s *Server) error(w http.ResponseWriter, r *http.Request, err error) {
	err = s.diskFull(err)
	var tooLarge *http.MaxBytesError
	if errors.Is(err, errTooLarge) || errors.As(err, &tooLarge) {
		writeJSON(w, http.StatusRequestEntityTooLarge, api.ErrorBody{Error: api.ErrorDetail{Code: runlet.EINVALID, Message: errTooLarge.Message}})
		return
	}
	code := runlet.ErrorCode(err)
	status, ok := statuses[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	switch code {
	case runlet.EINTERNAL:
		s.log.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	case runlet.EFULL: // the operator's to fix
		s.log.Error("disk full", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	d := api.ErrorDetail{Code: code, Message: runlet.ErrorMessage(err), RetryAfter: setRetryAfter(w, err)}
	var jerrs jobspec.Errors
	if errors.As(err, &jerrs) {
		for _, e := range jerrs {
			d.Details = append(d.Details, *e)
		}
	}
	var removal *dispatch.Removal
	if errors.As(err, &removal) {
		d.Removed = removal.Jobs
	}
	writeJSON(w, status, api.ErrorBody{Error: d})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	_ = enc.Encode(v)
}

// readBody reads r's body. One that breaks off or comes too slowly (past
// Config.ReadTimeout) is the client's fault, 400, not an internal error;
// one too large stays an *http.MaxBytesError, 413.
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	var tooLarge *http.MaxBytesError
	if err != nil && !errors.As(err, &tooLarge) {
		return nil, runlet.Errorf(runlet.EINVALID, "The request body did not arrive whole: %v.", err)
	}
	return b, err
}

// decode reads a JSON body into v.
func decode(r *http.Request, v any) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return runlet.Errorf(runlet.EINVALID, "The request body is not the JSON expected: %v.", err)
	}
	return nil
}

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	if err := s.db.Ping(r.Context()); err != nil {
		s.error(w, r, runlet.Errorf(runlet.EUNAVAILABLE, "The database does not answer: %v.", err))
		return
	}
	if st := s.bus.State(); st != bus.Connected {
		s.error(w, r, runlet.Errorf(runlet.EUNAVAILABLE, "The broker connection is %s.", st))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
