// Package apiclient is the Go client of the Runlet server's HTTP API
// (/api/v1): the request and response types both sides share, and one
// method per endpoint. Every error the server answers comes back as a
// *runlet.Error with the server's code and message, so callers decide on
// runlet.ErrorCode and show runlet.ErrorMessage.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/home"
)

// maxResponse bounds what the client reads of one answer.
const maxResponse = 64 << 20

// Client calls one server on behalf of one token.
type Client struct {
	// BaseURL is the server ("http://127.0.0.1:8080"), without /api/v1.
	BaseURL string
	// Token is the bearer token; empty for the unauthenticated endpoints.
	Token string
	// HTTP is the client used; nil means a client with a 60 s timeout.
	HTTP *http.Client
	// UserAgent is sent with every request when set.
	UserAgent string
}

var defaultHTTP = &http.Client{Timeout: 60 * time.Second}

// New returns a client of the server at baseURL acting with token.
func New(baseURL, token string) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), Token: token}
}

// FromCredentials returns a client acting as the signed-in device.
func FromCredentials(c *home.Credentials) *Client { return New(c.Server, c.Token) }

// DeviceCode starts the device authorization flow (RFC 8628).
func (c *Client) DeviceCode(ctx context.Context, req api.DeviceCodeRequest) (*api.DeviceCodeResponse, error) {
	var out api.DeviceCodeResponse
	return &out, c.do(ctx, http.MethodPost, "/device/code", req, &out)
}

// DeviceToken polls once for the device code's outcome: the credentials
// once approved, or an *OAuthError (see AuthorizationPending ...). The
// device's labels go with it (api.DeviceTokenRequest).
func (c *Client) DeviceToken(ctx context.Context, deviceCode string, labels ...string) (*home.Credentials, error) {
	var out struct {
		Credentials home.Credentials `json:"credentials"`
	}
	if err := c.do(ctx, http.MethodPost, "/device/token", api.DeviceTokenRequest{DeviceCode: deviceCode, Labels: labels}, &out); err != nil {
		return nil, err
	}
	return &out.Credentials, nil
}

// WaitDeviceToken polls DeviceToken every interval (growing by 5 s on
// slow_down, as RFC 8628 3.5 asks) until approval, a final answer, or ctx.
func (c *Client) WaitDeviceToken(ctx context.Context, code *api.DeviceCodeResponse) (*home.Credentials, error) {
	interval := time.Duration(code.Interval) * time.Second
	if interval <= 0 {
		interval = 5 * time.Second
	}
	t := time.NewTimer(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
		cred, err := c.DeviceToken(ctx, code.DeviceCode)
		var oe *OAuthError
		switch {
		case err == nil:
			return cred, nil
		case errors.As(err, &oe) && oe.Code == api.SlowDown:
			interval += 5 * time.Second
		case errors.As(err, &oe) && oe.Code == api.AuthorizationPending:
		default:
			return nil, err
		}
		t.Reset(interval)
	}
}

// Enroll signs a device in with an enrollment token.
func (c *Client) Enroll(ctx context.Context, req api.EnrollRequest) (*home.Credentials, error) {
	var out struct {
		Credentials home.Credentials `json:"credentials"`
	}
	if err := c.do(ctx, http.MethodPost, "/enroll", req, &out); err != nil {
		return nil, err
	}
	return &out.Credentials, nil
}

// Signout revokes the calling device and its tokens.
func (c *Client) Signout(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/signout", nil, nil)
}

// Login signs a user in and returns a session token.
func (c *Client) Login(ctx context.Context, email, password string) (*api.LoginResponse, error) {
	var out api.LoginResponse
	return &out, c.do(ctx, http.MethodPost, "/login", api.LoginRequest{Email: email, Password: password}, &out)
}

// Logout revokes the calling user's session token (from Login).
func (c *Client) Logout(ctx context.Context) error {
	return c.do(ctx, http.MethodDelete, "/session", nil, nil)
}

// Whoami tells who the token acts as.
func (c *Client) Whoami(ctx context.Context) (*api.Whoami, error) {
	var out api.Whoami
	return &out, c.do(ctx, http.MethodGet, "/whoami", nil, &out)
}

// Jobs returns the workspace's job set.
func (c *Client) Jobs(ctx context.Context) (*api.Jobs, error) {
	var out api.Jobs
	return &out, c.do(ctx, http.MethodGet, "/jobs", nil, &out)
}

// NoVersion, given to PutJobs, replaces the job set whatever its version.
const NoVersion int64 = -1

// PutJobs replaces the job set with the YAML src. With ifMatch >= 0 the
// server refuses (ECONFLICT) when the set's version changed meanwhile (0:
// there was none). An invalid file comes back as *ValidationError; a file
// that lacks jobs of the set is refused as *RemovalError (see
// PutJobsPrune).
func (c *Client) PutJobs(ctx context.Context, src []byte, ifMatch int64) (*api.Jobs, error) {
	return c.putJobs(ctx, src, ifMatch, "/jobs")
}

// PutJobsPrune is PutJobs that deletes the jobs src does not define.
func (c *Client) PutJobsPrune(ctx context.Context, src []byte, ifMatch int64) (*api.Jobs, error) {
	return c.putJobs(ctx, src, ifMatch, "/jobs?prune=true")
}

func (c *Client) putJobs(ctx context.Context, src []byte, ifMatch int64, path string) (*api.Jobs, error) {
	h := http.Header{"Content-Type": {"application/yaml"}}
	if ifMatch >= 0 {
		h.Set("If-Match", strconv.FormatInt(ifMatch, 10))
	}
	var out api.Jobs
	return &out, c.send(ctx, http.MethodPut, path, h, bytes.NewReader(src), &out)
}

// JobVersions returns the kept versions of the job set, newest first.
func (c *Client) JobVersions(ctx context.Context) (*api.JobVersions, error) {
	var out api.JobVersions
	return &out, c.do(ctx, http.MethodGet, "/jobs/versions", nil, &out)
}

// JobVersion returns one kept version of the job set with its source.
func (c *Client) JobVersion(ctx context.Context, version int64) (*api.JobVersion, error) {
	var out api.JobVersion
	return &out, c.do(ctx, http.MethodGet, "/jobs/versions/"+strconv.FormatInt(version, 10), nil, &out)
}

// RollbackJobs makes an older version the job set again, as a new version.
// With ifMatch >= 0 the server refuses (ECONFLICT) when the set's version
// is another.
func (c *Client) RollbackJobs(ctx context.Context, version, ifMatch int64) (*api.Jobs, error) {
	b, err := json.Marshal(api.RollbackRequest{Version: version})
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	h := http.Header{"Content-Type": {"application/json"}}
	if ifMatch >= 0 {
		h.Set("If-Match", strconv.FormatInt(ifMatch, 10))
	}
	var out api.Jobs
	return &out, c.send(ctx, http.MethodPost, "/jobs/rollback", h, bytes.NewReader(b), &out)
}

// DeleteJob removes a job from the set and returns the new version.
func (c *Client) DeleteJob(ctx context.Context, name string) (int64, error) {
	var out api.DeleteJobResponse
	err := c.do(ctx, http.MethodDelete, "/jobs/"+url.PathEscape(name), nil, &out)
	return out.Version, err
}

// Run starts a job.
func (c *Client) Run(ctx context.Context, req api.RunRequest) (*api.RunResponse, error) {
	var out api.RunResponse
	return &out, c.do(ctx, http.MethodPost, "/runs", req, &out)
}

// Executions lists the workspace's executions, newest first.
func (c *Client) Executions(ctx context.Context, f api.ExecutionFilter) ([]runlet.Execution, error) {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("job", f.Job)
	set("device", f.Device)
	set("status", f.Status)
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	if f.Offset > 0 {
		q.Set("offset", strconv.Itoa(f.Offset))
	}
	path := "/executions"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out struct {
		Executions []runlet.Execution `json:"executions"`
	}
	err := c.do(ctx, http.MethodGet, path, nil, &out)
	return out.Executions, err
}

// Runs returns a page of the workspace's runs, newest first, each with
// its targets; Next of the answer, as f.Cursor, asks for the page after.
func (c *Client) Runs(ctx context.Context, f api.RunFilter) (api.Runs, error) {
	q := url.Values{}
	for k, v := range map[string]string{"job": f.Job, "device": f.Device, "client": f.Client, "outcome": f.Outcome, "cursor": f.Cursor} {
		if v != "" {
			q.Set(k, v)
		}
	}
	for k, t := range map[string]time.Time{"from": f.From, "to": f.To} {
		if !t.IsZero() {
			q.Set(k, t.UTC().Format(time.RFC3339Nano))
		}
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	path := "/runs"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out api.Runs
	err := c.do(ctx, http.MethodGet, path, nil, &out)
	return out, err
}

// Execution returns every target of one execution.
func (c *Client) Execution(ctx context.Context, id string) ([]runlet.Execution, error) {
	var out struct {
		Targets []runlet.Execution `json:"targets"`
	}
	err := c.do(ctx, http.MethodGet, "/executions/"+url.PathEscape(id), nil, &out)
	return out.Targets, err
}

// Target returns the target of execution id on device: ENOTFOUND when
// there is no such execution or it does not run there.
func (c *Client) Target(ctx context.Context, id, device string) (runlet.Execution, error) {
	var out struct {
		Targets []runlet.Execution `json:"targets"`
	}
	path := "/executions/" + url.PathEscape(id) + "?" + url.Values{"device": {device}}.Encode()
	if err := c.do(ctx, http.MethodGet, path, nil, &out); err != nil {
		return runlet.Execution{}, err
	}
	for _, t := range out.Targets {
		if t.Device == device {
			return t, nil
		}
	}
	return runlet.Execution{}, runlet.Errorf(runlet.ENOTFOUND, "The server lists no target of execution %s on %s.", id, device)
}

// Stop asks the execution to stop (SIGTERM, then SIGKILL) on device, or on
// every target when device is empty.
func (c *Client) Stop(ctx context.Context, id, device string) error {
	return c.control(ctx, id, "stop", device)
}

// Kill kills the execution now on device, or on every target.
func (c *Client) Kill(ctx context.Context, id, device string) error {
	return c.control(ctx, id, "kill", device)
}

func (c *Client) control(ctx context.Context, id, op, device string) error {
	path := "/executions/" + url.PathEscape(id) + "/" + op
	if device != "" {
		path += "?device=" + url.QueryEscape(device)
	}
	return c.do(ctx, http.MethodPost, path, nil, nil)
}

// Schedules lists the workspace's jobs that have a schedule, each with
// its next run and its last one.
func (c *Client) Schedules(ctx context.Context) ([]runlet.ScheduledJob, error) {
	var out api.Schedules
	err := c.do(ctx, http.MethodGet, "/schedules", nil, &out)
	return out.Schedules, err
}

// Devices lists the workspace's devices with their presence.
func (c *Client) Devices(ctx context.Context) ([]api.Device, error) {
	var out struct {
		Devices []api.Device `json:"devices"`
	}
	err := c.do(ctx, http.MethodGet, "/devices", nil, &out)
	return out.Devices, err
}

// RemoveDevice removes the workspace's device name (admins only): its
// tokens are revoked and its connections cut. ENOTFOUND for a device the
// workspace does not have; EFORBIDDEN for a caller who is not an admin.
func (c *Client) RemoveDevice(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/devices/"+url.PathEscape(name), nil, nil)
}

// SetDeviceLabels replaces the labels of the device called name (admins
// only) and returns them as stored.
func (c *Client) SetDeviceLabels(ctx context.Context, name string, labels map[string]string) (map[string]string, error) {
	var out api.DeviceLabels
	err := c.do(ctx, http.MethodPut, "/devices/"+url.PathEscape(name)+"/labels", api.DeviceLabels{Labels: labels}, &out)
	return out.Labels, err
}

// Ready reports whether the server's database and bus are up (/readyz).
func (c *Client) Ready(ctx context.Context) error {
	return c.send(ctx, http.MethodGet, "/readyz", nil, nil, nil)
}

// do sends in as JSON (when not nil) to the API path and decodes the answer
// into out (when not nil).
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	h := http.Header{}
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(b)
		h.Set("Content-Type", "application/json")
	}
	return c.send(ctx, method, api.Prefix+path, h, body, out)
}

func (c *Client) send(ctx context.Context, method, path string, h http.Header, body io.Reader, out any) error {
	if !strings.HasPrefix(path, api.Prefix) && !strings.HasPrefix(path, "/readyz") && !strings.HasPrefix(path, "/healthz") {
		path = api.Prefix + path
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, body)
	if err != nil {
		return runlet.Errorf(runlet.EINVALID, "Bad server URL %q: %v", c.BaseURL, err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "application/json")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	hc := c.HTTP
	if hc == nil {
		hc = defaultHTTP
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &runlet.Error{Code: runlet.EUNAVAILABLE, Message: fmt.Sprintf("Cannot reach the Runlet server at %s: %v", c.BaseURL, errors.Unwrap(err))}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return &runlet.Error{Code: runlet.EUNAVAILABLE, Message: fmt.Sprintf("Reading the answer of %s %s: %v", method, path, err)}
	}
	if resp.StatusCode >= 300 {
		return decodeError(resp.StatusCode, b)
	}
	if out == nil || len(b) == 0 {
		return nil
	}
	if raw, ok := out.(*[]byte); ok { // an answer that is not JSON (CSV)
		*raw = b
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("decode the answer of %s %s: %w", method, path, err)
	}
	return nil
}

// decodeError turns an error answer into *runlet.Error (or *OAuthError,
// *ValidationError).
func decodeError(status int, b []byte) error {
	var raw struct {
		Error       json.RawMessage `json:"error"`
		Description string          `json:"error_description"`
	}
	if json.Unmarshal(b, &raw) == nil && len(raw.Error) > 0 {
		var code string
		if json.Unmarshal(raw.Error, &code) == nil {
			return &OAuthError{Code: code, Description: raw.Description}
		}
		var d api.ErrorDetail
		if json.Unmarshal(raw.Error, &d) == nil && d.Code != "" {
			e := &runlet.Error{Code: d.Code, Message: d.Message}
			switch {
			case len(d.Details) > 0:
				return &ValidationError{Err: e, Details: d.Details}
			case len(d.Removed) > 0:
				return &RemovalError{Err: e, Jobs: d.Removed}
			}
			return e
		}
	}
	text := strings.TrimSpace(string(b))
	if i := strings.IndexByte(text, '\n'); i >= 0 {
		text = text[:i]
	}
	if len(text) > 200 {
		text = text[:200]
	}
	msg := fmt.Sprintf("The server answered %d %s", status, http.StatusText(status))
	if text != "" {
		msg += ": " + text
	}
	return &runlet.Error{Code: StatusCode(status), Message: msg}
}

// StatusCode is the runlet error code of an HTTP status: the inverse of
// the server's mapping.
func StatusCode(status int) string {
	switch status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		return runlet.EINVALID
	case http.StatusUnauthorized:
		return runlet.EUNAUTHORIZED
	case http.StatusForbidden:
		return runlet.EFORBIDDEN
	case http.StatusNotFound:
		return runlet.ENOTFOUND
	case http.StatusConflict, http.StatusPreconditionFailed:
		return runlet.ECONFLICT
	case http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout:
		return runlet.EUNAVAILABLE
	case http.StatusNotImplemented:
		return runlet.ENOTIMPLEMENTED
	case http.StatusTooManyRequests:
		return runlet.ETOOMANY
	case http.StatusInsufficientStorage:
		return runlet.EFULL
	}
	return runlet.EINTERNAL
}
