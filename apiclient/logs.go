package apiclient

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
)

// LogKeys returns the workspace's log key generations, oldest first.
func (c *Client) LogKeys(ctx context.Context) (api.LogKeys, error) {
	var out api.LogKeys
	err := c.do(ctx, http.MethodGet, "/logkeys", nil, &out)
	return out, err
}

// AddLogKey makes the first log key generation (k.After 0) or rotates from
// k.After. ECONFLICT: someone rotated first.
func (c *Client) AddLogKey(ctx context.Context, k api.NewLogKey) (runlet.LogKey, error) {
	var out runlet.LogKey
	err := c.do(ctx, http.MethodPost, "/logkeys", k, &out)
	return out, err
}

// ActiveLogKey returns the recipient new logs are encrypted to and the
// workspace's log retention.
func (c *Client) ActiveLogKey(ctx context.Context) (api.ActiveLogKey, error) {
	var out api.ActiveLogKey
	err := c.do(ctx, http.MethodGet, "/logkeys/active", nil, &out)
	return out, err
}

// LogSettings returns the workspace's log settings.
func (c *Client) LogSettings(ctx context.Context) (runlet.LogSettings, error) {
	var out runlet.LogSettings
	err := c.do(ctx, http.MethodGet, "/logs/settings", nil, &out)
	return out, err
}

// SetLogSettings stores the workspace's log settings (admins).
func (c *Client) SetLogSettings(ctx context.Context, s runlet.LogSettings) (runlet.LogSettings, error) {
	var out runlet.LogSettings
	err := c.do(ctx, http.MethodPut, "/logs/settings", s, &out)
	return out, err
}

// ExecutionLogs returns, for each target device of an execution, its
// uploaded log or why there is none yet.
func (c *Client) ExecutionLogs(ctx context.Context, exec string) (api.ExecutionLogs, error) {
	var out api.ExecutionLogs
	err := c.do(ctx, http.MethodGet, logPath(exec, ""), nil, &out)
	return out, err
}

func logPath(exec, device string) string {
	p := "/executions/" + url.PathEscape(exec) + "/logs"
	if device != "" {
		p += "/" + url.PathEscape(device)
	}
	return p
}

// UploadLog sends an execution's encrypted log as device (the calling
// device's own name): size bytes of body, described by meta. The server
// checks the sha256 of what it received against meta.SHA256 before it
// stores anything. It has no overall timeout (a large log on a slow link);
// ctx bounds it.
func (c *Client) UploadLog(ctx context.Context, exec, device string, body io.Reader, size int64, meta api.LogUpload) (runlet.LogObject, error) {
	h := http.Header{}
	h.Set("Content-Type", "application/octet-stream")
	h.Set(api.LogSHA256Header, meta.SHA256)
	h.Set(api.LogModifiedHeader, meta.Modified.UTC().Format(time.RFC3339Nano))
	h.Set(api.LogStateHeader, string(meta.State))
	h.Set(api.LogGenerationHeader, strconv.FormatInt(meta.Generation, 10))
	h.Set(api.LogSegmentsHeader, strconv.Itoa(meta.Segments))
	var out runlet.LogObject
	err := c.stream(ctx, http.MethodPut, logPath(exec, device), h, body, size, &out)
	return out, err
}

// LogDownload is an answer to DownloadLog.
type LogDownload struct {
	// Body is the ciphertext asked for (nil when NotModified); the caller
	// closes it.
	Body io.ReadCloser
	// NotModified: the server's copy has the hash given as ifNoneMatch.
	NotModified bool
	// Copy is the server's copy: its sha256 and modification time.
	Copy runlet.LogCopy
	// Size is the whole object's size.
	Size int64
}

// StatLog returns the server's copy of a log (HEAD): Present false when
// the device has not uploaded it.
func (c *Client) StatLog(ctx context.Context, exec, device string) (runlet.LogCopy, int64, error) {
	d, err := c.DownloadLog(ctx, exec, device, "", 0, 0, true)
	if runlet.ErrorCode(err) == runlet.ENOTFOUND {
		return runlet.LogCopy{}, 0, nil
	}
	return d.Copy, d.Size, err
}

// DownloadLog fetches an execution's log from the server: the bytes from
// offset off, n of them (n <= 0: to the end). With ifNoneMatch (the
// sha256 of a local copy) the server answers NotModified when its copy is
// the same. head asks for the copy's description only. ENOTFOUND: not
// uploaded (yet).
func (c *Client) DownloadLog(ctx context.Context, exec, device, ifNoneMatch string, off, n int64, head bool) (LogDownload, error) {
	method := http.MethodGet
	if head {
		method = http.MethodHead
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+api.Prefix+logPath(exec, device), nil)
	if err != nil {
		return LogDownload{}, runlet.Errorf(runlet.EINVALID, "Bad server URL %q: %v", c.BaseURL, err)
	}
	if ifNoneMatch != "" {
		req.Header.Set("If-None-Match", `"`+ifNoneMatch+`"`)
	}
	switch {
	case n > 0:
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", off, off+n-1))
	case off > 0:
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", off))
	}
	resp, err := c.raw(ctx, req, true)
	if err != nil {
		return LogDownload{}, err
	}
	d := LogDownload{Copy: runlet.LogCopy{Present: true, SHA256: resp.Header.Get(api.LogSHA256Header)}}
	if t, err := time.Parse(time.RFC3339Nano, resp.Header.Get(api.LogModifiedHeader)); err == nil {
		d.Copy.Modified = t
	}
	d.Size = objectSize(resp)
	switch {
	case resp.StatusCode == http.StatusNotModified:
		resp.Body.Close()
		d.NotModified = true
	case head:
		resp.Body.Close()
	default:
		d.Body = resp.Body
	}
	return d, nil
}

// objectSize is the whole object's size: from Content-Range on a 206,
// else Content-Length.
func objectSize(resp *http.Response) int64 {
	if cr := resp.Header.Get("Content-Range"); cr != "" {
		if i := strings.LastIndexByte(cr, '/'); i >= 0 {
			if n, err := strconv.ParseInt(cr[i+1:], 10, 64); err == nil {
				return n
			}
		}
	}
	return resp.ContentLength
}

// streamHTTP is the client of uploads and downloads: no overall timeout
// (the context bounds them), a bounded wait for the answer's headers.
var streamHTTP = &http.Client{Transport: &http.Transport{
	Proxy:                 http.ProxyFromEnvironment,
	ResponseHeaderTimeout: 2 * time.Minute,
	IdleConnTimeout:       90 * time.Second,
}}

// raw sends req with the client's token and answers the response, or the
// error an answer of 300 and above means (304 is an answer when
// notModifiedOK). The caller closes the body.
func (c *Client) raw(ctx context.Context, req *http.Request, notModifiedOK bool) (*http.Response, error) {
	req.Header.Set("Accept", "application/json, application/octet-stream")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	hc := streamHTTP
	if c.HTTP != nil {
		// A caller's client (TLS pinning) with its transport, without
		// its overall timeout.
		copied := *c.HTTP
		copied.Timeout = 0
		hc = &copied
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &runlet.Error{Code: runlet.EUNAVAILABLE, Message: fmt.Sprintf("Cannot reach the Runlet server at %s: %v", c.BaseURL, err)}
	}
	if resp.StatusCode >= 300 && !(notModifiedOK && resp.StatusCode == http.StatusNotModified) {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
		return nil, decodeError(resp.StatusCode, b)
	}
	return resp, nil
}

// stream sends size bytes of body to the API path and decodes the JSON
// answer into out.
func (c *Client) stream(ctx context.Context, method, path string, h http.Header, body io.Reader, size int64, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+api.Prefix+path, body)
	if err != nil {
		return runlet.Errorf(runlet.EINVALID, "Bad server URL %q: %v", c.BaseURL, err)
	}
	req.ContentLength = size
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := c.raw(ctx, req, false)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return &runlet.Error{Code: runlet.EUNAVAILABLE, Message: fmt.Sprintf("Reading the answer of %s %s: %v", method, path, err)}
	}
	if out == nil || len(b) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("decode the answer of %s %s: %w", method, path, err)
	}
	return nil
}
