//go:build !windows

package daemon_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/castlog"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/wire"
)

// apiLogs is the log routes of the test's API (api_test.go): the active
// key, and an object store in memory that checks what it is sent as the
// server does (the sha256 of the body against the header).
type apiLogs struct {
	mu      sync.Mutex
	key     api.ActiveLogKey
	objects map[string]storedLog // by execution + "/" + device
	stored  int                  // uploads that stored an object
	// fail: the next requests of the log routes answer 503.
	fail int
	// cutAfterStore: the next uploads store the object, then cut the
	// connection before the answer (the server died after its write).
	cutAfterStore int
	// keyDown: the active key cannot be asked for.
	keyDown bool
	// newerRemote: a log not uploaded is described, to HEAD, as a
	// different copy modified an hour from now (R-LOG-3: the server's
	// copy is newer).
	newerRemote bool
	heads       int // HEAD requests answered
}

type storedLog struct {
	data []byte
	obj  runlet.LogObject
}

func (l *apiLogs) route(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/logkeys/active", func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		k, down := l.key, l.keyDown
		l.mu.Unlock()
		if down {
			writeJSON(w, http.StatusServiceUnavailable, api.ErrorBody{Error: api.ErrorDetail{Code: runlet.EUNAVAILABLE, Message: "Down."}})
			return
		}
		writeJSON(w, http.StatusOK, k)
	})
	mux.HandleFunc("GET /api/v1/executions/{id}/logs/{device}", l.get) // and HEAD
	mux.HandleFunc("PUT /api/v1/executions/{id}/logs/{device}", l.put)
}

// failing reports, and counts down, a fault asked by fail.
func (l *apiLogs) failing(w http.ResponseWriter) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail == 0 {
		return false
	}
	l.fail--
	writeJSON(w, http.StatusServiceUnavailable, api.ErrorBody{Error: api.ErrorDetail{Code: runlet.EUNAVAILABLE, Message: "The object store is down."}})
	return true
}

func (l *apiLogs) get(w http.ResponseWriter, r *http.Request) {
	if l.failing(w) {
		return
	}
	l.mu.Lock()
	o, ok := l.objects[r.PathValue("id")+"/"+r.PathValue("device")]
	newer := l.newerRemote
	if r.Method == http.MethodHead {
		l.heads++
	}
	l.mu.Unlock()
	if !ok && newer {
		ok = true
		o = storedLog{obj: runlet.LogObject{SHA256: strings.Repeat("ab", 32), Modified: time.Now().Add(time.Hour)}}
	}
	if !ok {
		writeJSON(w, http.StatusNotFound, api.ErrorBody{Error: api.ErrorDetail{Code: runlet.ENOTFOUND, Message: "No log uploaded."}})
		return
	}
	h := w.Header()
	h.Set(api.LogSHA256Header, o.obj.SHA256)
	h.Set(api.LogModifiedHeader, o.obj.Modified.Format(time.RFC3339Nano))
	h.Set("ETag", `"`+o.obj.SHA256+`"`)
	h.Set("Content-Length", strconv.Itoa(len(o.data)))
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return
	}
	_, _ = w.Write(o.data)
}

func (l *apiLogs) put(w http.ResponseWriter, r *http.Request) {
	if l.failing(w) {
		return
	}
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	if sha != r.Header.Get(api.LogSHA256Header) {
		writeJSON(w, http.StatusBadRequest, api.ErrorBody{Error: api.ErrorDetail{Code: runlet.EINVALID, Message: "The log's sha256 is not the one announced."}})
		return
	}
	mod, _ := time.Parse(time.RFC3339Nano, r.Header.Get(api.LogModifiedHeader))
	gen, _ := strconv.ParseInt(r.Header.Get(api.LogGenerationHeader), 10, 64)
	segs, _ := strconv.Atoi(r.Header.Get(api.LogSegmentsHeader))
	obj := runlet.LogObject{
		Execution: r.PathValue("id"), Device: r.PathValue("device"), State: runlet.LogState(r.Header.Get(api.LogStateHeader)),
		Size: int64(len(data)), SHA256: sha, Modified: mod, Uploaded: time.Now(), Generation: gen, Segments: segs,
	}
	l.mu.Lock()
	l.objects[obj.Execution+"/"+obj.Device] = storedLog{data: data, obj: obj}
	l.stored++
	cut := l.cutAfterStore > 0
	if cut {
		l.cutAfterStore--
	}
	l.mu.Unlock()
	if cut {
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				_ = c.Close()
				return
			}
		}
	}
	writeJSON(w, http.StatusOK, obj)
}

// setKey makes the workspace's first log key and returns its identity.
func (l *apiLogs) setKey(t testing.TB) *age.X25519Identity {
	t.Helper()
	// A key without its sealed half: scrypt is slow, and not what is tested.
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	rcp := id.Recipient().String()
	l.mu.Lock()
	l.key = api.ActiveLogKey{Generation: 1, Recipient: rcp}
	l.mu.Unlock()
	return id
}

// waitObject waits for the log of exec on device to be uploaded.
func (l *apiLogs) waitObject(t testing.TB, exec, device string) storedLog {
	t.Helper()
	var o storedLog
	testenv.Eventually(t, "the upload of the log of "+exec, patience, func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		var ok bool
		o, ok = l.objects[exec+"/"+device]
		return ok
	})
	return o
}

func (l *apiLogs) uploads() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stored
}

// decrypted is a log read back with its identity.
type decrypted struct {
	log    *castlog.Log
	header *castlog.Header
	text   string
	last   uint64
}

// decrypt reads every segment of the log in data: frames 1 to last, in
// order, without gaps.
func decrypt(t testing.TB, data []byte, id age.Identity) decrypted {
	t.Helper()
	r := bytes.NewReader(data)
	lg, err := castlog.Scan(r, int64(len(data)))
	if err != nil {
		t.Fatalf("scan the log: %v", err)
	}
	out := decrypted{log: lg}
	var text strings.Builder
	for i, s := range lg.Segments {
		h, events, err := castlog.ReadSegment(r, s, []age.Identity{id})
		if err != nil {
			t.Fatalf("segment %d of %d: %v", i+1, len(lg.Segments), err)
		}
		if h != nil {
			out.header = h
		}
		for _, e := range events {
			if e.Seq != out.last+1 {
				t.Fatalf("segment %d: frame %d follows frame %d", i+1, e.Seq, out.last)
			}
			out.last = e.Seq
			text.WriteString(e.Data)
		}
	}
	out.text = text.String()
	return out
}

func fileSHA(t testing.TB, data []byte) string {
	t.Helper()
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func gone(path string) bool {
	_, err := os.Stat(path)
	return errors.Is(err, fs.ErrNotExist)
}

// emptyQueue waits until the upload queue of dir holds nothing.
func emptyQueue(t testing.TB, dir home.Dir) {
	t.Helper()
	testenv.Eventually(t, "an empty upload queue", patience, func() bool {
		des, err := os.ReadDir(dir.UploadDir())
		return err == nil && len(des) == 0
	})
}

// replayMarker asks device for a replay of exec and returns the first
// end marker it sends.
func replayMarker(t testing.TB, s *server, exec string) bus.Message {
	t.Helper()
	got := make(chan bus.Message, 64)
	viewerID := testenv.RandomName("v")
	sub, err := s.bus.Subscribe(context.Background(), s.ws, bus.ReplayKey(exec, device, viewerID), func(m bus.Message) {
		if _, ok := m.Header[wire.HeaderEOF]; ok {
			got <- m
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	s.control(exec, device, wire.Control{Op: wire.OpReplay, From: 1, Viewer: viewerID})
	select {
	case m := <-got:
		return m
	case <-time.After(patience):
		t.Fatalf("no end marker in answer to a replay of %s", exec)
	}
	return bus.Message{}
}

// A run in a workspace with a log key leaves a complete encrypted log,
// no plaintext, and the same bytes on the server, which never saw the
// output in clear; a replay of the ended run points at the encrypted log.
func TestEncryptedLogUploaded(t *testing.T) {
	b := startBroker(t)
	id := b.api.logs.setKey(t)
	s := newServer(t, b, device)
	dir := home.Dir(t.TempDir())
	runDaemon(t, b, dir, device)

	exec := s.dispatch(device, "printf 'secret-%s-end\\n' $((6*7))", func(d *wire.Dispatch, _ *bus.Message) {
		d.Job = "deploy"
		d.Size = runlet.Size{Cols: 100, Rows: 30}
	})
	st := s.waitStatus(exec, runlet.StatusFinished)
	o := b.api.logs.waitObject(t, exec, device)
	emptyQueue(t, dir)
	plain, _ := dir.LogPath(exec)
	testenv.Eventually(t, "the plaintext log removed", patience, func() bool { return gone(plain) })

	cast, _ := dir.CastPath(exec)
	local, err := os.ReadFile(cast)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(cast); fi.Mode().Perm() != 0o600 {
		t.Errorf("the encrypted log has mode %v, want 0600", fi.Mode().Perm())
	}
	if !bytes.Equal(local, o.data) || o.obj.SHA256 != fileSHA(t, local) {
		t.Fatalf("the server holds %d bytes (sha256 %s), the device %d (sha256 %s)", len(o.data), o.obj.SHA256, len(local), fileSHA(t, local))
	}
	if bytes.Contains(o.data, []byte("secret-42")) {
		t.Fatal("the uploaded log holds the output in clear")
	}
	got := decrypt(t, o.data, id)
	if !got.log.Complete || got.log.Interrupted {
		t.Errorf("log complete %v, interrupted %v; want a complete log of a run seen to its end", got.log.Complete, got.log.Interrupted)
	}
	if !strings.Contains(got.text, "secret-42-end") || got.last != st.LastSeq {
		t.Errorf("decrypted %d frames (status says %d): %q", got.last, st.LastSeq, got.text)
	}
	if h := got.header; h == nil || h.Execution != exec || h.Device != device || h.Job != "deploy" || h.Width != 100 || h.Height != 30 {
		t.Errorf("header %+v", got.header)
	}
	if ob := o.obj; ob.State != runlet.LogUploaded || ob.Generation != 1 || ob.Segments != len(got.log.Segments) {
		t.Errorf("uploaded as %+v", ob)
	}
	if n := b.api.logs.uploads(); n != 1 {
		t.Errorf("%d uploads; want 1", n)
	}

	m := replayMarker(t, s, exec)
	_, _, last, _ := wire.ParseOutput(m)
	if !wire.LogEncrypted(m) || last != st.LastSeq {
		t.Errorf("replay end marker %v (last %d); want the encrypted log's marker up to %d", m.Header, last, st.LastSeq)
	}
}

// A workspace without a log key keeps today's behaviour: the plaintext
// log stays, nothing is encrypted or uploaded, replay sends the frames.
func TestNoLogKeyKeepsPlaintext(t *testing.T) {
	b := startBroker(t)
	s := newServer(t, b, device)
	dir := home.Dir(t.TempDir())
	runDaemon(t, b, dir, device)

	exec := s.dispatch(device, "echo in-the-clear")
	s.waitStatus(exec, runlet.StatusFinished)
	// A replay asked just as the run ends may end with the replayed
	// marker (the run still looked live): asked again until it ends.
	var rep *output
	testenv.Eventually(t, "a replay that ends with the end marker", patience, func() bool {
		v := testenv.RandomName("v")
		rep = s.watch(bus.ReplayKey(exec, device, v))
		s.control(exec, device, wire.Control{Op: wire.OpReplay, From: 1, Viewer: v})
		return testenv.Poll(shortWait, testenv.Interval, func() bool {
			rep.mu.Lock()
			defer rep.mu.Unlock()
			return rep.end
		})
	})
	if text := joined(rep.waitEndFrom(1)); !strings.Contains(text, "in-the-clear") {
		t.Errorf("replay: %q", text)
	}
	plain, _ := dir.LogPath(exec)
	cast, _ := dir.CastPath(exec)
	if gone(plain) || !gone(cast) {
		t.Errorf("plaintext log present %v, encrypted log present %v; want only the plaintext", !gone(plain), !gone(cast))
	}
	if des, _ := os.ReadDir(dir.UploadDir()); len(des) != 0 {
		t.Errorf("%d uploads queued", len(des))
	}
	if n := b.api.logs.uploads(); n != 0 {
		t.Errorf("%d uploads; want none", n)
	}
}

// The server fails, then stores a log but its answer is lost: the daemon
// retries, asks whether the server has it, and does not send it twice.
func TestLogUploadRetried(t *testing.T) {
	b := startBroker(t)
	id := b.api.logs.setKey(t)
	b.api.logs.mu.Lock()
	b.api.logs.fail, b.api.logs.cutAfterStore = 2, 1
	b.api.logs.mu.Unlock()
	s := newServer(t, b, device)
	dir := home.Dir(t.TempDir())
	runDaemon(t, b, dir, device)

	exec := s.dispatch(device, "echo retried")
	s.waitStatus(exec, runlet.StatusFinished)
	o := b.api.logs.waitObject(t, exec, device)
	emptyQueue(t, dir)
	if n := b.api.logs.uploads(); n != 1 {
		t.Errorf("the log was stored %d times; want once", n)
	}
	cast, _ := dir.CastPath(exec)
	local, err := os.ReadFile(cast)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(local, o.data) {
		t.Error("the server's copy differs from the device's")
	}
	if got := decrypt(t, o.data, id); !strings.Contains(got.text, "retried") {
		t.Errorf("decrypted %q", got.text)
	}
}

// TestNewerRemoteLogKept: R-LOG-3 on the device's side. When the server
// describes a different copy modified after the device's, the uploader
// keeps it (the rule would have a reader download it) and sends nothing.
func TestNewerRemoteLogKept(t *testing.T) {
	b := startBroker(t)
	b.api.logs.setKey(t)
	b.api.logs.mu.Lock()
	b.api.logs.newerRemote = true
	b.api.logs.mu.Unlock()
	s := newServer(t, b, device)
	dir := home.Dir(t.TempDir())
	runDaemon(t, b, dir, device)

	exec := s.dispatch(device, "echo kept")
	s.waitStatus(exec, runlet.StatusFinished)
	emptyQueue(t, dir)
	b.api.logs.mu.Lock()
	heads := b.api.logs.heads
	b.api.logs.mu.Unlock()
	if heads == 0 {
		t.Error("the uploader never asked for the server's copy")
	}
	if n := b.api.logs.uploads(); n != 0 {
		t.Errorf("the log was uploaded %d times over a newer, different copy; want none", n)
	}
}

// A daemon killed with SIGKILL mid-run leaves the encrypted log without
// an index (its sealed segments) and the plaintext log: the next daemon
// completes the first from the second, marks it interrupted, uploads it,
// and removes the plaintext.
func TestKilledDaemonLogRecovered(t *testing.T) {
	b := startBroker(t)
	id := b.api.logs.setKey(t)
	s := newServer(t, b, device)
	dir := home.Dir(t.TempDir())
	if err := dir.SaveCredentials(b.credentials(device)); err != nil {
		t.Fatal(err)
	}
	kill9 := startHelperDaemon(t, dir)

	// More than a segment's worth, so that one is sealed before the kill.
	const as = 1_500_000
	x := s.dispatch(device, "head -c "+strconv.Itoa(as)+" /dev/zero | tr '\\0' a; echo; echo started; sleep 120")
	out := s.watch(bus.OutputKey(x, device))
	out.waitText("started")
	cast, _ := dir.CastPath(x)
	testenv.Eventually(t, "a sealed segment", patience, func() bool {
		fi, err := os.Stat(cast)
		return err == nil && fi.Size() > castlog.MaxSegmentBytes/2
	})
	kill9()

	left, err := os.ReadFile(cast)
	if err != nil {
		t.Fatal(err)
	}
	if lg, err := castlog.Scan(bytes.NewReader(left), int64(len(left))); err != nil || lg.Complete || len(lg.Segments) == 0 {
		t.Fatalf("the killed daemon left a log of %d bytes: %+v, %v; want sealed segments and no index", len(left), lg, err)
	}

	runDaemon(t, b, dir, device)
	st := s.waitStatus(x, runlet.StatusError)
	o := b.api.logs.waitObject(t, x, device)
	emptyQueue(t, dir)
	plain, _ := dir.LogPath(x)
	if !gone(plain) {
		t.Error("the plaintext log is still there after the recovery")
	}
	got := decrypt(t, o.data, id)
	if !got.log.Complete || !got.log.Interrupted || o.obj.State != runlet.LogInterrupted {
		t.Errorf("log complete %v, interrupted %v, uploaded as %s; want a complete log marked interrupted", got.log.Complete, got.log.Interrupted, o.obj.State)
	}
	if got.last != st.LastSeq || strings.Count(got.text, "a") < as || !strings.Contains(got.text, "started") {
		t.Errorf("decrypted %d frames (status says %d), %d bytes, 'started' %v",
			got.last, st.LastSeq, len(got.text), strings.Contains(got.text, "started"))
	}
}

// The local retention removes an uploaded log older than the workspace's
// retention, and keeps a recent one.
func TestLocalLogRetention(t *testing.T) {
	b := startBroker(t)
	b.api.logs.setKey(t)
	s := newServer(t, b, device)
	dir := home.Dir(t.TempDir())
	stop := runDaemon(t, b, dir, device)
	old := s.dispatch(device, "echo old")
	recent := s.dispatch(device, "echo recent")
	for _, x := range []string{old, recent} {
		s.waitStatus(x, runlet.StatusFinished)
		b.api.logs.waitObject(t, x, device)
	}
	emptyQueue(t, dir)
	stop()
	oldCast, _ := dir.CastPath(old)
	recentCast, _ := dir.CastPath(recent)
	past := time.Now().Add(-runlet.DefaultLogRetention - 24*time.Hour)
	if err := os.Chtimes(oldCast, past, past); err != nil {
		t.Fatal(err)
	}
	runDaemon(t, b, dir, device) // the retention runs at start
	testenv.Eventually(t, "the old log removed", patience, func() bool { return gone(oldCast) })
	if gone(recentCast) {
		t.Error("the recent log was removed too")
	}
}

// A device that cannot ask the server for the active key encrypts to the
// last one it knew, kept in its state directory across restarts.
func TestLogKeyKeptForOfflineUse(t *testing.T) {
	b := startBroker(t)
	id := b.api.logs.setKey(t)
	s := newServer(t, b, device)
	dir := home.Dir(t.TempDir())
	stop := runDaemon(t, b, dir, device)
	first := s.dispatch(device, "echo first")
	s.waitStatus(first, runlet.StatusFinished)
	b.api.logs.waitObject(t, first, device)
	stop()

	b.api.logs.mu.Lock()
	b.api.logs.keyDown = true
	b.api.logs.mu.Unlock()
	runDaemon(t, b, dir, device)
	second := s.dispatch(device, "echo second")
	s.waitStatus(second, runlet.StatusFinished)
	o := b.api.logs.waitObject(t, second, device)
	if got := decrypt(t, o.data, id); !strings.Contains(got.text, "second") || o.obj.Generation != 1 {
		t.Errorf("generation %d, decrypted %q", o.obj.Generation, got.text)
	}
}
