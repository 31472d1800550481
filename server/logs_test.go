//go:build !windows

package server_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"filippo.io/age/armor"
	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/blob"
	"github.com/runlet/runlet/castlog"
	"github.com/runlet/runlet/cmd/assemble"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/store"
	"github.com/runlet/runlet/vault"
)

// logsServer is a test server with an admin, a member, two devices, a
// device of another workspace and the workspace's first log key.
type logsServer struct {
	*testServer
	ws                 string
	admin, bob         *apiclient.Client
	pi1, pi2, other    *apiclient.Client
	pi1Name, otherName string
	key                runlet.LogKey
}

func startLogsServer(t *testing.T, edit func(*assemble.Config)) *logsServer {
	t.Helper()
	s := startServer(t, func(c *assemble.Config) {
		c.AdminPassword = "admin-password"
		if edit != nil {
			edit(c)
		}
	})
	ctx := ctxT(t)
	ls := &logsServer{testServer: s, admin: s.adminClient(t), bob: s.member(t, "bob@example.com", runlet.RoleMember)}
	pi1, pi2 := s.enroll(t, "pi-1"), s.enroll(t, "pi-2")
	other := deviceInNewWorkspace(t, s, pi1.Broker)
	ls.pi1, ls.pi2, ls.other = apiclient.FromCredentials(pi1), apiclient.FromCredentials(pi2), apiclient.New(s.URL(), other.Token)
	ls.pi1Name, ls.otherName = pi1.Device, other.Device
	ls.ws = pi1.Workspace
	recipient, sealed, _ := quickKey(t, "passphrase one")
	var err error
	if ls.key, err = ls.admin.AddLogKey(ctx, api.NewLogKey{Recipient: recipient, Sealed: sealed}); err != nil {
		t.Fatal(err)
	}
	return ls
}

// finishedRun stores a finished run of a job on each device.
func (ls *logsServer) finishedRun(t *testing.T, devices ...string) string {
	t.Helper()
	ctx := ctxT(t)
	var id string
	for _, d := range devices {
		e := runlet.Execution{ID: id, Workspace: ls.ws, Job: "hello", Device: d, Status: runlet.StatusPending}
		if err := ls.Store.CreateExecution(ctx, &e); err != nil {
			t.Fatal(err)
		}
		id = e.ID
		if _, _, err := ls.Store.UpdateExecutionStatus(ctx, ls.ws, id, d, store.StatusUpdate{Status: runlet.StatusFinished}); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

func logMeta(body []byte) api.LogUpload {
	sum := sha256.Sum256(body)
	return api.LogUpload{SHA256: hex.EncodeToString(sum[:]), Modified: time.Now().Add(-time.Minute).Round(0),
		State: runlet.LogUploaded, Generation: 1, Segments: 2}
}

func upload(c *apiclient.Client, exec, device string, body []byte) (runlet.LogObject, error) {
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	return c.UploadLog(ctx, exec, device, bytes.NewReader(body), int64(len(body)), logMeta(body))
}

// rawLog sends a request to a log's URL with the client's token.
func rawLog(t *testing.T, c *apiclient.Client, method, exec, device string, body io.Reader, edit func(*http.Request)) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, c.BaseURL+api.Prefix+"/executions/"+exec+"/logs/"+device, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	if edit != nil {
		edit(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if runlet.ErrorCode(err) != code {
		t.Errorf("%s: %v, want %s", what, err, code)
	}
}

func TestLogUploadAndDownload(t *testing.T) {
	ls := startLogsServer(t, nil)
	ctx := ctxT(t)
	exec := ls.finishedRun(t, "pi-1", "pi-2")
	body := bytes.Repeat([]byte("ciphertext 0123456789 "), 1000)

	o, err := upload(ls.pi1, exec, "pi-1", body)
	if err != nil {
		t.Fatal(err)
	}
	if o.Execution != exec || o.DeviceName != "pi-1" || o.Size != int64(len(body)) || o.State != runlet.LogUploaded || o.Segments != 2 || o.Uploaded.IsZero() {
		t.Errorf("record %+v", o)
	}
	// The same log again: the record as it was, nothing written.
	again, err := upload(ls.pi1, exec, "pi-1", body)
	if err != nil || !again.Uploaded.Equal(o.Uploaded) || again.SHA256 != o.SHA256 {
		t.Errorf("the same upload again: %+v, %v; want the first record %+v", again, err, o)
	}

	// A member reads it whole, by range, and by hash.
	d, err := ls.bob.DownloadLog(ctx, exec, "pi-1", "", 0, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(d.Body)
	d.Body.Close()
	if !bytes.Equal(got, body) || d.Copy.SHA256 != o.SHA256 || !d.Copy.Modified.Equal(o.Modified) || d.Size != int64(len(body)) {
		t.Errorf("download: %d bytes, copy %v, size %d", len(got), d.Copy, d.Size)
	}
	d, err = ls.pi2.DownloadLog(ctx, exec, "pi-1", "", 100, 50, false)
	if err != nil {
		t.Fatal(err)
	}
	got, _ = io.ReadAll(d.Body)
	d.Body.Close()
	if !bytes.Equal(got, body[100:150]) || d.Size != int64(len(body)) {
		t.Errorf("range 100-149: %q (size %d), want %q", got, d.Size, body[100:150])
	}
	c, size, err := ls.bob.StatLog(ctx, exec, "pi-1")
	if err != nil || !c.Present || c.SHA256 != o.SHA256 || size != int64(len(body)) {
		t.Errorf("stat: %v %d %v", c, size, err)
	}
	d, err = ls.bob.DownloadLog(ctx, exec, "pi-1", o.SHA256, 0, 0, false)
	if err != nil || !d.NotModified || d.Body != nil || d.Copy.SHA256 != o.SHA256 {
		t.Errorf("with If-None-Match of the same hash: %+v, %v; want not modified", d, err)
	}
	d, err = ls.bob.DownloadLog(ctx, exec, "pi-1", strings.Repeat("0", 64), 0, 0, false)
	if err != nil || d.NotModified || d.Body == nil {
		t.Errorf("with If-None-Match of another hash: %+v, %v; want the log", d, err)
	} else {
		d.Body.Close()
	}

	// Ranges by hand: the last bytes, open-ended, past the end.
	n := len(body)
	for _, c := range []struct {
		rng, contentRange string
		status            int
		want              []byte
	}{
		{"bytes=-16", fmt.Sprintf("bytes %d-%d/%d", n-16, n-1, n), 206, body[n-16:]},
		{fmt.Sprintf("bytes=%d-", n-5), fmt.Sprintf("bytes %d-%d/%d", n-5, n-1, n), 206, body[n-5:]},
		{fmt.Sprintf("bytes=10-%d", n+100), fmt.Sprintf("bytes 10-%d/%d", n-1, n), 206, body[10:]},
		{fmt.Sprintf("bytes=%d-", n), fmt.Sprintf("bytes */%d", n), 416, nil},
		{"bytes=0-1,5-6", "", 200, body},
		{"lines=1-2", "", 200, body},
	} {
		resp, b := rawLog(t, ls.bob, http.MethodGet, exec, "pi-1", nil, func(r *http.Request) { r.Header.Set("Range", c.rng) })
		if resp.StatusCode != c.status || resp.Header.Get("Content-Range") != c.contentRange || (c.want != nil && !bytes.Equal(b, c.want)) {
			t.Errorf("Range %s: %d %q, %d bytes; want %d %q, %d bytes", c.rng, resp.StatusCode, resp.Header.Get("Content-Range"), len(b), c.status, c.contentRange, len(c.want))
		}
	}
	resp, b := rawLog(t, ls.bob, http.MethodHead, exec, "pi-1", nil, nil)
	if resp.StatusCode != 200 || len(b) != 0 || resp.ContentLength != int64(n) || resp.Header.Get("ETag") != `"`+o.SHA256+`"` ||
		resp.Header.Get(api.LogSHA256Header) != o.SHA256 || resp.Header.Get("Cache-Control") != "no-store" ||
		resp.Header.Get("Content-Type") != "application/octet-stream" || resp.Header.Get(api.LogModifiedHeader) == "" {
		t.Errorf("HEAD: %d %v", resp.StatusCode, resp.Header)
	}

	// A log larger than the bound of other bodies (MaxBody) goes whole.
	big := bytes.Repeat([]byte("0123456789abcdef"), 3<<20/16)
	if o, err := upload(ls.pi2, exec, "pi-2", big); err != nil || o.Size != int64(len(big)) {
		t.Fatalf("a %d-byte log: %+v, %v", len(big), o, err)
	}
	d, err = ls.bob.DownloadLog(ctx, exec, "pi-2", "", 0, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	got, _ = io.ReadAll(d.Body)
	d.Body.Close()
	if !bytes.Equal(got, big) {
		t.Errorf("the %d-byte log came back as %d bytes", len(big), len(got))
	}

	// The execution's logs: both uploaded.
	logs, err := ls.bob.ExecutionLogs(ctx, exec)
	if err != nil {
		t.Fatal(err)
	}
	if len(logs.Logs) != 2 || logs.Logs[0].Device != "pi-1" || logs.Logs[0].Object == nil || logs.Logs[0].Object.SHA256 != o.SHA256 ||
		logs.Logs[1].Device != "pi-2" || logs.Logs[1].Object == nil || logs.Logs[1].Object.Size != int64(len(big)) {
		t.Errorf("execution logs: %+v", logs)
	}
	// A run whose device has not uploaded: why, for people.
	pending := ls.finishedRun(t, "pi-2")
	logs, err = ls.pi1.ExecutionLogs(ctx, pending)
	if err != nil || len(logs.Logs) != 1 || logs.Logs[0].Object != nil || !strings.Contains(logs.Logs[0].Pending, "pi-2 is offline") {
		t.Errorf("execution logs of a run not uploaded: %+v, %v", logs, err)
	}
	_, err = ls.bob.ExecutionLogs(ctx, "no-such-run")
	wantCode(t, "the logs of an unknown run", err, runlet.ENOTFOUND)
}

func TestLogUploadRefused(t *testing.T) {
	ls := startLogsServer(t, nil)
	ctx := ctxT(t)
	exec := ls.finishedRun(t, "pi-1", "pi-2")
	elsewhere := ls.finishedRun(t, "pi-2")
	body := []byte("some ciphertext")

	_, err := upload(ls.pi2, exec, "pi-1", body)
	wantCode(t, "pi-2 uploads pi-1's log", err, runlet.EFORBIDDEN)
	_, err = upload(ls.bob, exec, "pi-1", body)
	wantCode(t, "a member uploads", err, runlet.EFORBIDDEN)
	_, err = upload(ls.admin, exec, "pi-1", body)
	wantCode(t, "an admin uploads", err, runlet.EFORBIDDEN)
	_, err = upload(ls.pi1, elsewhere, "pi-1", body)
	wantCode(t, "pi-1 uploads the log of a run not on it", err, runlet.ENOTFOUND)
	_, err = upload(ls.other, exec, ls.otherName, body)
	wantCode(t, "the other workspace's pi-1 uploads", err, runlet.ENOTFOUND)

	bad := logMeta(body)
	bad.SHA256 = strings.Repeat("ab", 32)
	_, err = ls.pi1.UploadLog(ctx, exec, "pi-1", bytes.NewReader(body), int64(len(body)), bad)
	wantCode(t, "a body that does not match its sha256", err, runlet.EINVALID)
	for _, edit := range []func(*api.LogUpload){
		func(m *api.LogUpload) { m.Generation = 7 },
		func(m *api.LogUpload) { m.Generation = 0 },
		func(m *api.LogUpload) { m.State = "done" },
		func(m *api.LogUpload) { m.SHA256 = "nope" },
		func(m *api.LogUpload) { m.Segments = -1 },
	} {
		m := logMeta(body)
		edit(&m)
		_, err = ls.pi1.UploadLog(ctx, exec, "pi-1", bytes.NewReader(body), int64(len(body)), m)
		wantCode(t, fmt.Sprintf("meta %+v", m), err, runlet.EINVALID)
	}
	// Headers that do not parse; a body shorter than its length; no length.
	meta := logMeta(body)
	headers := func(r *http.Request) {
		r.Header.Set(api.LogSHA256Header, meta.SHA256)
		r.Header.Set(api.LogModifiedHeader, meta.Modified.Format(time.RFC3339Nano))
		r.Header.Set(api.LogStateHeader, string(meta.State))
		r.Header.Set(api.LogGenerationHeader, "1")
		r.Header.Set(api.LogSegmentsHeader, "1")
	}
	for _, h := range []string{api.LogModifiedHeader, api.LogGenerationHeader, api.LogSegmentsHeader} {
		resp, b := rawLog(t, ls.pi1, http.MethodPut, exec, "pi-1", bytes.NewReader(body), func(r *http.Request) {
			headers(r)
			r.Header.Set(h, "soon")
		})
		if resp.StatusCode != 400 || !strings.Contains(string(b), h) {
			t.Errorf("%s: soon: %d %s, want 400 naming it", h, resp.StatusCode, b)
		}
	}
	resp, b := rawLog(t, ls.pi1, http.MethodPut, exec, "pi-1", io.MultiReader(bytes.NewReader(body)), func(r *http.Request) {
		headers(r)
		r.ContentLength = -1 // chunked
	})
	if resp.StatusCode != http.StatusLengthRequired {
		t.Errorf("no Content-Length: %d %s, want 411", resp.StatusCode, b)
	}
	// Over MaxLogUpload: refused before a byte of the body is read (by
	// hand, as net/http sends no more than it has).
	conn, err := net.Dial("tcp", ls.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "PUT %s/executions/%s/logs/pi-1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n",
		api.Prefix, exec, ls.pi1.Token, int64(api.MaxLogUpload)+1)
	if resp, err := http.ReadResponse(bufio.NewReader(conn), nil); err != nil || resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("over MaxLogUpload: %v %v, want 413", resp, err)
	}
	short := &shortBody{r: bytes.NewReader(body[:5])}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, ls.URL()+api.Prefix+"/executions/"+exec+"/logs/pi-1", short)
	req.Header.Set("Authorization", "Bearer "+ls.pi1.Token)
	headers(req)
	req.ContentLength = int64(len(body))
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		if resp.StatusCode < 400 {
			t.Errorf("a body cut short: %d, want an error", resp.StatusCode)
		}
	}
	// Nothing of all that was stored.
	if c, _, err := ls.admin.StatLog(ctx, exec, "pi-1"); err != nil || c.Present {
		t.Errorf("after refused uploads: %v, %v; want nothing stored", c, err)
	}
	n := 0
	if err := ls.Logs.Blobs().List(ctx, "", func(blob.Info) error { n++; return nil }); err != nil || n != 0 {
		t.Errorf("the object store holds %d objects after refused uploads (%v)", n, err)
	}

	// A device of another workspace reads nothing of this one.
	if _, err := upload(ls.pi1, exec, "pi-1", body); err != nil {
		t.Fatal(err)
	}
	_, err = ls.other.DownloadLog(ctx, exec, "pi-1", "", 0, 0, false)
	wantCode(t, "the other workspace's device downloads", err, runlet.ENOTFOUND)
	_, err = ls.other.ExecutionLogs(ctx, exec)
	wantCode(t, "the other workspace's device lists", err, runlet.ENOTFOUND)
	_, err = ls.client().DownloadLog(ctx, exec, "pi-1", "", 0, 0, false)
	wantCode(t, "without a token", err, runlet.EUNAUTHORIZED)
}

// shortBody gives its bytes, then fails: a client that breaks off.
type shortBody struct{ r io.Reader }

func (b *shortBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		return n, io.ErrUnexpectedEOF
	}
	return n, err
}

func TestLogKeys(t *testing.T) {
	ls := startLogsServer(t, nil)
	ctx := ctxT(t)
	for _, c := range []*apiclient.Client{ls.bob, ls.pi1} {
		keys, err := c.LogKeys(ctx)
		if err != nil || len(keys.Keys) != 1 || keys.Keys[0].Recipient != ls.key.Recipient || keys.Keys[0].Sealed != ls.key.Sealed || keys.Keys[0].Generation != 1 {
			t.Errorf("keys: %+v, %v", keys, err)
		}
		active, err := c.ActiveLogKey(ctx)
		if err != nil || active.Generation != 1 || active.Recipient != ls.key.Recipient || time.Duration(active.Retention) != runlet.DefaultLogRetention {
			t.Errorf("active: %+v, %v", active, err)
		}
	}
	if keys, err := ls.other.LogKeys(ctx); err != nil || len(keys.Keys) != 0 {
		t.Errorf("the other workspace's keys: %+v, %v; want none", keys, err)
	}
	if a, err := ls.other.ActiveLogKey(ctx); err != nil || a.Generation != 0 || a.Recipient != "" {
		t.Errorf("the other workspace's active key: %+v, %v; want none", a, err)
	}

	id1, err := castlog.Unseal(ls.key.Sealed, "passphrase one")
	if err != nil {
		t.Fatal(err)
	}
	recipient2, sealed2, _ := quickKey(t, "passphrase two")
	resealed1 := quickSeal(t, id1, "passphrase two")
	notScrypt := toRecipient(t, ls.key.Recipient, "AGE-SECRET-KEY-1…")
	rotate := api.NewLogKey{After: 1, Recipient: recipient2, Sealed: sealed2, Resealed: map[string]string{"1": resealed1}}
	for _, c := range []struct {
		what   string
		client *apiclient.Client
		req    api.NewLogKey
		code   string
	}{
		{"a member", ls.bob, rotate, runlet.EFORBIDDEN},
		{"a device", ls.pi1, rotate, runlet.EFORBIDDEN},
		{"a first key again", ls.admin, api.NewLogKey{Recipient: recipient2, Sealed: sealed2}, runlet.ECONFLICT},
		{"a rotation from a generation to come", ls.admin, func() api.NewLogKey { r := rotate; r.After = 2; return r }(), runlet.ECONFLICT},
		{"a bad recipient", ls.admin, func() api.NewLogKey { r := rotate; r.Recipient = "age1nope"; return r }(), runlet.EINVALID},
		{"sealed text that is not armored", ls.admin, func() api.NewLogKey { r := rotate; r.Sealed = "AGE-SECRET-KEY-1QQQ"; return r }(), runlet.EINVALID},
		{"sealed to a recipient, not a passphrase", ls.admin, func() api.NewLogKey { r := rotate; r.Sealed = notScrypt; return r }(), runlet.EINVALID},
		{"no sealed text", ls.admin, func() api.NewLogKey { r := rotate; r.Sealed = ""; return r }(), runlet.EINVALID},
		{"a rotation that leaves generation 1 sealed with the old passphrase", ls.admin, func() api.NewLogKey { r := rotate; r.Resealed = nil; return r }(), runlet.EINVALID},
		{"a resealed text that is not sealed", ls.admin, func() api.NewLogKey { r := rotate; r.Resealed = map[string]string{"1": notScrypt}; return r }(), runlet.EINVALID},
		{"resealed naming no generation", ls.admin, func() api.NewLogKey {
			r := rotate
			r.Resealed = map[string]string{"1": resealed1, "x": resealed1}
			return r
		}(), runlet.EINVALID},
		{"the same recipient again", ls.admin, func() api.NewLogKey { r := rotate; r.Recipient = ls.key.Recipient; return r }(), runlet.EINVALID},
	} {
		// A context of its own: scrypt above is slow under -race and load.
		_, err := c.client.AddLogKey(ctxT(t), c.req)
		wantCode(t, c.what, err, c.code)
	}
	ctx = ctxT(t)
	k2, err := ls.admin.AddLogKey(ctx, rotate)
	if err != nil {
		t.Fatal(err)
	}
	if k2.Generation != 2 || k2.Recipient != recipient2 || k2.CreatedBy == "" {
		t.Errorf("rotated: %+v", k2)
	}
	// The one who rotated second learns so.
	_, err = ls.admin.AddLogKey(ctx, rotate)
	wantCode(t, "a stale rotation", err, runlet.ECONFLICT)
	keys, err := ls.bob.LogKeys(ctx)
	if err != nil || len(keys.Keys) != 2 {
		t.Fatalf("keys after the rotation: %+v, %v", keys, err)
	}
	if _, err := castlog.Unseal(keys.Keys[0].Sealed, "passphrase one"); err == nil {
		t.Error("the old passphrase still opens generation 1 after the rotation")
	}
	if _, err := castlog.Unseal(keys.Keys[0].Sealed, "passphrase two"); err != nil {
		t.Errorf("the new passphrase does not open generation 1: %v", err)
	}
	if a, err := ls.pi1.ActiveLogKey(ctxT(t)); err != nil || a.Generation != 2 || a.Recipient != recipient2 {
		t.Errorf("active after the rotation: %+v, %v", a, err)
	}
}

// toRecipient is text armored and encrypted to an X25519 recipient: an
// age file, but not one a passphrase opens.
func toRecipient(t *testing.T, recipient, text string) string {
	t.Helper()
	r, err := age.ParseX25519Recipient(recipient)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	aw := armor.NewWriter(&buf)
	w, err := age.Encrypt(aw, r)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, text)
	w.Close()
	aw.Close()
	return buf.String()
}

func TestLogSettings(t *testing.T) {
	ls := startLogsServer(t, nil)
	ctx := ctxT(t)
	set, err := ls.bob.LogSettings(ctx)
	if err != nil || time.Duration(set.Retention) != runlet.DefaultLogRetention {
		t.Errorf("settings: %+v, %v; want the default retention", set, err)
	}
	_, err = ls.bob.SetLogSettings(ctx, runlet.LogSettings{Retention: runlet.Duration(time.Hour)})
	wantCode(t, "a member sets", err, runlet.EFORBIDDEN)
	_, err = ls.pi1.SetLogSettings(ctx, runlet.LogSettings{Retention: runlet.Duration(time.Hour)})
	wantCode(t, "a device sets", err, runlet.EFORBIDDEN)
	for _, r := range []time.Duration{time.Minute, -time.Hour, runlet.MaxLogRetention + time.Hour} {
		_, err = ls.admin.SetLogSettings(ctx, runlet.LogSettings{Retention: runlet.Duration(r)})
		wantCode(t, "retention "+r.String(), err, runlet.EINVALID)
	}
	for _, r := range []time.Duration{time.Hour, runlet.MaxLogRetention, 30 * 24 * time.Hour} {
		set, err = ls.admin.SetLogSettings(ctx, runlet.LogSettings{Retention: runlet.Duration(r)})
		if err != nil || time.Duration(set.Retention) != r {
			t.Errorf("retention %s: %+v, %v", r, set, err)
		}
	}
	if a, err := ls.pi1.ActiveLogKey(ctx); err != nil || time.Duration(a.Retention) != 30*24*time.Hour {
		t.Errorf("the devices' retention: %+v, %v; want 30d", a, err)
	}
	set, err = ls.admin.SetLogSettings(ctx, runlet.LogSettings{})
	if err != nil || time.Duration(set.Retention) != runlet.DefaultLogRetention {
		t.Errorf("retention 0: %+v, %v; want the default", set, err)
	}
}

// TestLogRetentionSweep: once the workspace's retention has passed, the
// sweep deletes the object, then the record; a younger log stays.
func TestLogRetentionSweep(t *testing.T) {
	ls := startLogsServer(t, nil)
	ctx := ctxT(t)
	old := ls.finishedRun(t, "pi-1")
	if _, err := upload(ls.pi1, old, "pi-1", []byte("old ciphertext")); err != nil {
		t.Fatal(err)
	}
	if _, err := ls.admin.SetLogSettings(ctx, runlet.LogSettings{Retention: runlet.Duration(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	ls.clock.Advance(50 * time.Minute)
	young := ls.finishedRun(t, "pi-1")
	if _, err := upload(ls.pi1, young, "pi-1", []byte("young ciphertext")); err != nil {
		t.Fatal(err)
	}
	if err := ls.Logs.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if c, _, err := ls.bob.StatLog(ctx, old, "pi-1"); err != nil || !c.Present {
		t.Fatalf("before its retention passed: %v %v; want the log kept", c, err)
	}
	ls.clock.Advance(20 * time.Minute)
	if err := ls.Logs.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if c, _, err := ls.bob.StatLog(ctx, old, "pi-1"); err != nil || c.Present {
		t.Errorf("after its retention: %v %v; want the log gone", c, err)
	}
	o, err := ls.Store.LogObjects(ctx, ls.ws, old)
	if err != nil || len(o) != 0 {
		t.Errorf("records after the retention: %+v %v", o, err)
	}
	dev, err := ls.Store.DeviceByName(ctx, ls.ws, "pi-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ls.Logs.Blobs().Stat(ctx, vault.ObjectKey(ls.ws, old, dev.ID)); runlet.ErrorCode(err) != runlet.ENOTFOUND {
		t.Errorf("the object after the retention: %v, want not found", err)
	}
	if c, _, err := ls.bob.StatLog(ctx, young, "pi-1"); err != nil || !c.Present {
		t.Errorf("the younger log: %v %v; want it kept", c, err)
	}
	logs, err := ls.bob.ExecutionLogs(ctx, old)
	if err != nil || len(logs.Logs) != 1 || logs.Logs[0].Object != nil {
		t.Errorf("the expired run's logs: %+v %v", logs, err)
	}
}

// TestLogServerPostgres runs the upload and the sweep on PostgreSQL.
func TestLogServerPostgres(t *testing.T) {
	db := testenv.Postgres(t)
	ls := startLogsServer(t, func(c *assemble.Config) { c.DB = db })
	ctx := ctxT(t)
	exec := ls.finishedRun(t, "pi-1")
	body := []byte(strconv.Itoa(42) + " bytes of ciphertext")
	o, err := upload(ls.pi1, exec, "pi-1", body)
	if err != nil {
		t.Fatal(err)
	}
	d, err := ls.bob.DownloadLog(ctx, exec, "pi-1", "", 0, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(d.Body)
	d.Body.Close()
	if !bytes.Equal(got, body) || d.Copy.SHA256 != o.SHA256 {
		t.Errorf("download on PostgreSQL: %q %v", got, d.Copy)
	}
}

// quickKey is castlog.GenerateKey with scrypt's cheapest cost, which the
// server accepts as it accepts any (it cannot tell): castlog's own cost
// takes seconds a seal under -race.
func quickKey(t *testing.T, passphrase string) (recipient, sealed string, id *age.X25519Identity) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id.Recipient().String(), quickSeal(t, id, passphrase), id
}

func quickSeal(t *testing.T, id *age.X25519Identity, passphrase string) string {
	t.Helper()
	r, err := age.NewScryptRecipient(passphrase)
	if err != nil {
		t.Fatal(err)
	}
	r.SetWorkFactor(10)
	var buf bytes.Buffer
	aw := armor.NewWriter(&buf)
	w, err := age.Encrypt(aw, r)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, id.String()+"\n")
	w.Close()
	aw.Close()
	return buf.String()
}
