package server

import (
	"fmt"
	"io"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/vault"
)

// Run logs (issue 15, R-LOG-1 to R-LOG-3): the workspace's log keys, the
// upload and download of each execution's encrypted log, its settings.
// The rules are package vault's; this file is HTTP only.

// minUploadRate is the slowest an upload may come before its read
// deadline ends it: a log of many megabytes needs longer than
// Config.ReadTimeout, a stalled client must not hold a socket forever.
const minUploadRate = 32 << 10 // bytes a second

var errNoLogs = runlet.Errorf(runlet.EUNAVAILABLE, "Run logs are not available on this server: it has no object store.")

// vault is the log service, or the error that there is none.
func (s *Server) vault() (*vault.Service, error) {
	if s.logs == nil {
		return nil, errNoLogs
	}
	return s.logs, nil
}

// isLogUpload reports whether r is a log upload, whose body may be up to
// api.MaxLogUpload rather than MaxBody.
func isLogUpload(r *http.Request) bool {
	if r.Method != http.MethodPut {
		return false
	}
	ok, _ := path.Match(api.Prefix+"/executions/*/logs/*", r.URL.Path)
	return ok
}

func (s *Server) handleGetLogKeys(w http.ResponseWriter, r *http.Request) {
	v, err := s.vault()
	if err == nil {
		var keys []runlet.LogKey
		if keys, err = v.Keys(r.Context(), callerOf(r).Workspace.ID); err == nil {
			writeJSON(w, http.StatusOK, api.LogKeys{Keys: keys})
			return
		}
	}
	s.error(w, r, err)
}

// handlePostLogKey is POST /logkeys, for admins: the first generation or
// a rotation (409 when another rotated first).
func (s *Server) handlePostLogKey(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	var req api.NewLogKey
	if err := decode(r, &req); err != nil {
		s.error(w, r, err)
		return
	}
	v, err := s.vault()
	if err != nil {
		s.error(w, r, err)
		return
	}
	var userID string
	if c.User != nil {
		userID = c.User.ID
	}
	k, err := v.AddKey(r.Context(), c.Workspace.ID, userID, req)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.log.Info("log key generation made", "workspace", c.Workspace.Name, "generation", k.Generation, "by", c.Name())
	writeJSON(w, http.StatusCreated, k)
}

func (s *Server) handleActiveLogKey(w http.ResponseWriter, r *http.Request) {
	v, err := s.vault()
	if err == nil {
		var k api.ActiveLogKey
		if k, err = v.ActiveKey(r.Context(), callerOf(r).Workspace.ID); err == nil {
			writeJSON(w, http.StatusOK, k)
			return
		}
	}
	s.error(w, r, err)
}

func (s *Server) handleGetLogSettings(w http.ResponseWriter, r *http.Request) {
	v, err := s.vault()
	if err == nil {
		var set runlet.LogSettings
		if set, err = v.Settings(r.Context(), callerOf(r).Workspace.ID); err == nil {
			writeJSON(w, http.StatusOK, set)
			return
		}
	}
	s.error(w, r, err)
}

func (s *Server) handlePutLogSettings(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	var req runlet.LogSettings
	if err := decode(r, &req); err != nil {
		s.error(w, r, err)
		return
	}
	v, err := s.vault()
	if err != nil {
		s.error(w, r, err)
		return
	}
	set, err := v.SetSettings(r.Context(), c.Workspace.ID, req)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.log.Info("log settings changed", "workspace", c.Workspace.Name, "retention", time.Duration(set.Retention), "by", c.Name())
	writeJSON(w, http.StatusOK, set)
}

func (s *Server) handleExecutionLogs(w http.ResponseWriter, r *http.Request) {
	v, err := s.vault()
	if err == nil {
		var out api.ExecutionLogs
		if out, err = v.ExecutionLogs(r.Context(), callerOf(r).Workspace.ID, r.PathValue("id")); err == nil {
			writeJSON(w, http.StatusOK, out)
			return
		}
	}
	s.error(w, r, err)
}

// handlePutLog is PUT /executions/{id}/logs/{device}: the device itself
// uploads its log of the run, Content-Length bytes described by the Log*
// headers (R-LOG-2).
func (s *Server) handlePutLog(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	v, err := s.vault()
	if err != nil {
		s.error(w, r, err)
		return
	}
	switch {
	case r.ContentLength < 0:
		writeJSON(w, http.StatusLengthRequired, api.ErrorBody{Error: api.ErrorDetail{Code: runlet.EINVALID,
			Message: "A log upload must give its Content-Length."}})
		return
	case r.ContentLength > api.MaxLogUpload:
		writeJSON(w, http.StatusRequestEntityTooLarge, api.ErrorBody{Error: api.ErrorDetail{Code: runlet.EINVALID,
			Message: fmt.Sprintf("The log is larger than the %d bytes an upload may be.", int64(api.MaxLogUpload))}})
		return
	}
	meta, err := uploadMeta(r.Header)
	if err != nil {
		s.error(w, r, err)
		return
	}
	// A large log on a slow link takes longer than the read timeout (a
	// network deadline: the real clock, not Config.Now).
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.readTimeout() + time.Duration(r.ContentLength/minUploadRate)*time.Second))
	o, err := v.Upload(r.Context(), vault.Upload{
		Workspace: c.Workspace.ID, Caller: c.Device, Execution: r.PathValue("id"), Device: r.PathValue("device"),
		Body: bodyReader{r.Body}, Size: r.ContentLength, Meta: meta,
	})
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, o)
}

// bodyReader makes a body that breaks off the client's fault (EINVALID),
// not an internal error of the object store.
type bodyReader struct{ r io.Reader }

func (b bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		err = runlet.Errorf(runlet.EINVALID, "The log did not arrive whole: %v.", err)
	}
	return n, err
}

// uploadMeta reads the Log* headers of an upload; EINVALID with a
// sentence naming a bad one.
func uploadMeta(h http.Header) (api.LogUpload, error) {
	m := api.LogUpload{SHA256: h.Get(api.LogSHA256Header), State: runlet.LogState(h.Get(api.LogStateHeader))}
	t, err := time.Parse(time.RFC3339Nano, h.Get(api.LogModifiedHeader))
	if err != nil {
		return m, runlet.Errorf(runlet.EINVALID, "The header %s must be a time such as 2026-03-04T05:06:07.123Z (RFC 3339), not %q.", api.LogModifiedHeader, h.Get(api.LogModifiedHeader))
	}
	m.Modified = t
	if m.Generation, err = strconv.ParseInt(h.Get(api.LogGenerationHeader), 10, 64); err != nil {
		return m, runlet.Errorf(runlet.EINVALID, "The header %s must be a key generation number, not %q.", api.LogGenerationHeader, h.Get(api.LogGenerationHeader))
	}
	if m.Segments, err = strconv.Atoi(h.Get(api.LogSegmentsHeader)); err != nil {
		return m, runlet.Errorf(runlet.EINVALID, "The header %s must be a number of segments, not %q.", api.LogSegmentsHeader, h.Get(api.LogSegmentsHeader))
	}
	return m, nil
}

// handleGetLog is GET and HEAD /executions/{id}/logs/{device}: the
// stored ciphertext, whole or one byte range, with its sha256 as ETag so
// that a reader holding a copy sends its hash (If-None-Match) and gets
// 304 when it is the same (R-LOG-3).
func (s *Server) handleGetLog(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	v, err := s.vault()
	if err != nil {
		s.error(w, r, err)
		return
	}
	exec, device := r.PathValue("id"), r.PathValue("device")
	o, err := v.Object(r.Context(), c.Workspace.ID, exec, device)
	if err != nil {
		s.error(w, r, err)
		return
	}
	h := w.Header()
	etag := `"` + o.SHA256 + `"`
	h.Set("ETag", etag)
	h.Set(api.LogSHA256Header, o.SHA256)
	h.Set(api.LogModifiedHeader, o.Modified.UTC().Format(time.RFC3339Nano))
	h.Set(api.LogStateHeader, string(o.State))
	h.Set(api.LogGenerationHeader, strconv.FormatInt(o.Generation, 10))
	h.Set(api.LogSegmentsHeader, strconv.Itoa(o.Segments))
	h.Set("Cache-Control", "no-store")
	h.Set("Accept-Ranges", "bytes")
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	off, n, partial, ok := byteRange(r, etag, o.Size)
	if !ok {
		h.Set("Content-Range", fmt.Sprintf("bytes */%d", o.Size))
		writeJSON(w, http.StatusRequestedRangeNotSatisfiable, api.ErrorBody{Error: api.ErrorDetail{Code: runlet.EINVALID,
			Message: fmt.Sprintf("The log is %d bytes long: the range %q is not within it.", o.Size, r.Header.Get("Range"))}})
		return
	}
	status := http.StatusOK
	if partial {
		status = http.StatusPartialContent
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", off, off+n-1, o.Size))
	}
	var body io.ReadCloser
	if r.Method != http.MethodHead && n > 0 {
		if body, _, err = v.Open(r.Context(), c.Workspace.ID, exec, device, off, n); err != nil {
			s.error(w, r, err)
			return
		}
		defer body.Close()
	}
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.FormatInt(n, 10))
	w.WriteHeader(status)
	if body == nil {
		return
	}
	if _, err := io.Copy(w, body); err != nil && r.Context().Err() == nil {
		s.log.Warn("run log download cut short", "execution", exec, "device", device, "err", err)
	}
}

// etagMatches reports whether an If-None-Match header names etag.
func etagMatches(header, etag string) bool {
	for t := range strings.SplitSeq(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// byteRange is the part of an object of size bytes that r asks for: off
// and n, partial for a single range of Range (RFC 9110 14.2; an If-Range
// that does not name etag, several ranges or a malformed header ask for
// the whole), and ok false when the range is not satisfiable (416).
func byteRange(r *http.Request, etag string, size int64) (off, n int64, partial, ok bool) {
	rng := r.Header.Get("Range")
	if rng == "" || r.Header.Get("If-Range") != "" && r.Header.Get("If-Range") != etag {
		return 0, size, false, true
	}
	spec, found := strings.CutPrefix(rng, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, size, false, true
	}
	first, last, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, size, false, true
	}
	if first == "" { // the last N bytes
		k, err := strconv.ParseInt(last, 10, 64)
		if err != nil || k < 0 {
			return 0, size, false, true
		}
		if k == 0 || size == 0 {
			return 0, 0, false, false
		}
		k = min(k, size)
		return size - k, k, true, true
	}
	a, err := strconv.ParseInt(first, 10, 64)
	if err != nil || a < 0 {
		return 0, size, false, true
	}
	b := size - 1
	if last != "" {
		if b, err = strconv.ParseInt(last, 10, 64); err != nil || b < a {
			return 0, size, false, true
		}
		b = min(b, size-1)
	}
	if a >= size {
		return 0, 0, false, false
	}
	return a, b - a + 1, true, true
}
