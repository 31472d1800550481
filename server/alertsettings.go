package server

import (
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"text/template"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/store"
)

// The workspace's alert settings (R-TEL-3, R-TEL-4: defaults, the
// once-per-period rule, the offline limit, routing) and its notification
// providers (R-TEL-5: SMTP, the HTTP SMS provider). Every member reads
// them; admins change them. The providers' passwords and the SMS headers
// are write-only: they go in and never come out.

// forgetAlerts has this process's alert service drop what it cached of
// the workspace, so that a change of its rules, channels or providers
// takes effect at its next reading (other processes within their cache's
// few seconds).
func (s *Server) forgetAlerts(ws string) {
	if s.alerts != nil {
		s.alerts.Forget(ws)
	}
}

// handleGetAlertSettings is GET /alerts/settings.
func (s *Server) handleGetAlertSettings(w http.ResponseWriter, r *http.Request) {
	st, err := s.db.AlertSettings(r.Context(), callerOf(r).Workspace.ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// handlePutAlertSettings is PUT /alerts/settings, for admins: the body
// replaces the settings whole.
func (s *Server) handlePutAlertSettings(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	var st runlet.AlertSettings
	if err := decode(r, &st); err != nil {
		s.error(w, r, err)
		return
	}
	if err := st.Check(); err != nil {
		s.error(w, r, err)
		return
	}
	ctx := r.Context()
	if err := s.db.SetAlertSettings(ctx, c.Workspace.ID, st); err != nil {
		s.error(w, r, err)
		return
	}
	s.forgetAlerts(c.Workspace.ID)
	s.log.Info("alert settings changed", "workspace", c.Workspace.Name, "by", c.User.Email)
	st, err := s.db.AlertSettings(ctx, c.Workspace.ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// handleGetNotifySettings is GET /notify/settings, without secrets.
func (s *Server) handleGetNotifySettings(w http.ResponseWriter, r *http.Request) {
	st, err := s.db.NotifySettings(r.Context(), callerOf(r).Workspace.ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, maskNotifySettings(st))
}

// handlePutNotifySettings is PUT /notify/settings, for admins: the body
// replaces the settings, except the write-only fields it leaves out,
// which stay as stored.
func (s *Server) handlePutNotifySettings(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	var req api.NotifySettings
	if err := decode(r, &req); err != nil {
		s.error(w, r, err)
		return
	}
	ctx := r.Context()
	old, err := s.db.NotifySettings(ctx, c.Workspace.ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	st, err := mergeNotifySettings(old, req)
	if err == nil {
		err = checkNotifySettings(st)
	}
	if err == nil {
		err = s.db.SetNotifySettings(ctx, c.Workspace.ID, st)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.forgetAlerts(c.Workspace.ID)
	s.log.Info("notification settings changed", "workspace", c.Workspace.Name, "by", c.User.Email)
	writeJSON(w, http.StatusOK, maskNotifySettings(st))
}

// maskNotifySettings is st as the API answers it: no password, no header
// value.
func maskNotifySettings(st store.NotifySettings) api.NotifySettings {
	m := st.SMTP
	out := api.NotifySettings{
		SMTP: api.SMTPSettings{Host: m.Host, Port: m.Port, TLS: m.TLS, Username: m.Username, HasPassword: m.Password != "", From: m.From, InsecureSkipVerify: m.InsecureSkipVerify},
		SMS:  api.SMSSettings{URL: st.SMS.URL, Method: st.SMS.Method, Body: st.SMS.Body, ContentType: st.SMS.ContentType, Username: st.SMS.Username, HasPassword: st.SMS.Password != ""},
	}
	for name := range st.SMS.Headers {
		out.SMS.HeaderNames = append(out.SMS.HeaderNames, name)
	}
	slices.Sort(out.SMS.HeaderNames)
	return out
}

// mergeNotifySettings is req over old: the plain fields as req says, the
// write-only ones kept unless req gives them or clears them.
func mergeNotifySettings(old store.NotifySettings, req api.NotifySettings) (store.NotifySettings, error) {
	m := req.SMTP
	st := store.NotifySettings{
		SMTP: store.SMTPSettings{Host: strings.TrimSpace(m.Host), Port: m.Port, TLS: m.TLS, Username: m.Username, From: strings.TrimSpace(m.From), InsecureSkipVerify: m.InsecureSkipVerify},
		SMS:  store.SMSSettings{URL: strings.TrimSpace(req.SMS.URL), Method: strings.ToUpper(strings.TrimSpace(req.SMS.Method)), Body: req.SMS.Body, ContentType: req.SMS.ContentType, Username: req.SMS.Username},
	}
	var err error
	if st.SMTP.Password, err = writeOnly("smtp.password", old.SMTP.Password, m.Password, m.ClearPassword); err != nil {
		return st, err
	}
	if st.SMS.Password, err = writeOnly("sms.password", old.SMS.Password, req.SMS.Password, req.SMS.ClearPassword); err != nil {
		return st, err
	}
	switch {
	case req.SMS.ClearHeaders && len(req.SMS.Headers) > 0:
		return st, runlet.Errorf(runlet.EINVALID, "sms.headers and sms.clearHeaders together: give new headers, or clear them, not both.")
	case req.SMS.ClearHeaders:
	case req.SMS.Headers != nil:
		st.SMS.Headers = req.SMS.Headers
	default:
		st.SMS.Headers = old.SMS.Headers
	}
	return st, nil
}

// writeOnly is the new value of a write-only field: given, or cleared
// explicitly, or else the stored one.
func writeOnly(name, old string, given *string, clear bool) (string, error) {
	switch {
	case clear && given != nil && *given != "":
		return "", runlet.Errorf(runlet.EINVALID, "%s and its clear flag together: give a new one, or clear it, not both.", name)
	case clear:
		return "", nil
	case given != nil && *given != "":
		return *given, nil
	}
	return old, nil
}

// The longest texts of the notification settings, in bytes.
const (
	maxSettingText  = 500
	maxSMSBody      = 4000
	maxSMSHeaders   = 20
	maxChannelField = 2000
)

// checkNotifySettings says what is wrong with st, in words an admin can
// act on.
func checkNotifySettings(st store.NotifySettings) error {
	m := st.SMTP
	switch {
	case m.TLS != "" && m.TLS != "starttls" && m.TLS != "tls" && m.TLS != "none":
		return runlet.Errorf(runlet.EINVALID, "smtp.tls must be starttls (the default), tls or none, not %q.", runlet.SafeText(m.TLS))
	case m.Port < 0 || m.Port > 65535:
		return runlet.Errorf(runlet.EINVALID, "smtp.port must be a port from 1 to 65535 (or 0 for the usual one), not %d.", m.Port)
	case strings.Contains(m.Host, "/") || strings.ContainsAny(m.Host, " \t\r\n"):
		return runlet.Errorf(runlet.EINVALID, "smtp.host must be a host name or address (smtp.example.com), not %q.", runlet.SafeText(m.Host))
	}
	if m.From != "" {
		if _, err := mail.ParseAddress(m.From); err != nil {
			return runlet.Errorf(runlet.EINVALID, "smtp.from must be an e-mail address (\"Runlet <alerts@example.com>\"), not %q.", runlet.SafeText(m.From))
		}
	}
	for _, f := range []struct{ name, v string }{{"smtp.host", m.Host}, {"smtp.username", m.Username}, {"smtp.password", m.Password}, {"sms.username", st.SMS.Username}, {"sms.password", st.SMS.Password}, {"sms.contentType", st.SMS.ContentType}} {
		if len(f.v) > maxSettingText || strings.ContainsAny(f.v, "\r\n\x00") {
			return runlet.Errorf(runlet.EINVALID, "%s must be one line of at most %d bytes.", f.name, maxSettingText)
		}
	}
	return checkSMS(st.SMS)
}

func checkSMS(sms store.SMSSettings) error {
	if sms.URL != "" {
		u, err := url.Parse(sms.URL)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			return runlet.Errorf(runlet.EINVALID, "sms.url must be the provider's http or https URL, not %q.", runlet.SafeText(sms.URL))
		case u.User != nil:
			return runlet.Errorf(runlet.EINVALID, "sms.url has credentials in it: give them as sms.username and sms.password, which are never shown again.")
		}
	}
	switch sms.Method {
	case "", http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodGet:
	default:
		return runlet.Errorf(runlet.EINVALID, "sms.method must be POST (the default), PUT, PATCH or GET, not %q.", runlet.SafeText(sms.Method))
	}
	if len(sms.Body) > maxSMSBody {
		return runlet.Errorf(runlet.EINVALID, "sms.body is too long: at most %d bytes.", maxSMSBody)
	}
	if _, err := template.New("sms").Parse(sms.Body); err != nil {
		return runlet.Errorf(runlet.EINVALID, "sms.body is not a template runlet can fill in: %v. It is a Go text/template with .To, .Text, .Subject and .Key.", err)
	}
	if len(sms.Headers) > maxSMSHeaders {
		return runlet.Errorf(runlet.EINVALID, "sms.headers has %d headers; at most %d.", len(sms.Headers), maxSMSHeaders)
	}
	for name, v := range sms.Headers {
		if !headerName(name) {
			return runlet.Errorf(runlet.EINVALID, "sms.headers: %q is not an HTTP header name.", runlet.SafeText(name))
		}
		if len(v) > maxSettingText || strings.ContainsAny(v, "\r\n\x00") {
			return runlet.Errorf(runlet.EINVALID, "sms.headers: the value of %s must be one line of at most %d bytes.", name, maxSettingText)
		}
	}
	return nil
}

// headerName reports whether s is an HTTP header field name (RFC 9110
// token).
func headerName(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
		if !ok {
			return false
		}
	}
	return true
}
