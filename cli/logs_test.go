package cli_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/cmd/assemble"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/internal/testenv"
)

// The log passphrases of these tests.
const (
	logPass    = "a long log passphrase, one"
	newLogPass = "another long passphrase, two"
)

var adminEnv = map[string]string{"RUNLET_ADMIN": "admin@localhost", "RUNLET_PASSWORD": adminPassword}

// withEnv is env and more.
func withEnv(env map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range env {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// writeFile writes content to a new file in a temporary directory.
func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// unique is a secret no server, database or object store can hold by
// chance.
func unique(t *testing.T) string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "secret-" + hex.EncodeToString(b)
}

// logProxy stands between a device and the server and counts the
// downloads of run logs by their answer.
type logProxy struct {
	*httptest.Server
	mu     sync.Mutex
	counts map[string]int // "GET OK", "GET Not Modified", "HEAD OK"
	// refuse answers the uploads of logs 503 while set.
	refuse atomic.Bool
}

func startLogProxy(t *testing.T, target string) *logProxy {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &logProxy{counts: map[string]int{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	logPath := regexp.MustCompile(`/executions/[^/]+/logs/[^/]+$`)
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && logPath.MatchString(r.URL.Path) && p.refuse.Load() {
			http.Error(w, "the test refuses uploads", http.StatusServiceUnavailable)
			return
		}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		rp.ServeHTTP(rec, r)
		if logPath.MatchString(r.URL.Path) {
			p.mu.Lock()
			p.counts[r.Method+" "+http.StatusText(rec.status)]++
			p.mu.Unlock()
		}
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *logProxy) count(key string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts[key]
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// signinVia signs a new home in as name through the server at url.
func (f *fleet) signinVia(name, url string) string {
	f.t.Helper()
	tok, err := f.srv.EnrollToken()
	if err != nil {
		f.t.Fatal(err)
	}
	h := filepath.Join(f.t.TempDir(), name)
	if r := runIn(f.t, h, "", "@signin", "--server", url, "--name", name, "--token", tok); r.code != 0 {
		f.t.Fatalf("signin %s: exit %d\n%s%s", name, r.code, r.out, r.err)
	}
	// The server names its own URL at sign-in.
	cred, err := home.Dir(h).Credentials()
	if err != nil {
		f.t.Fatal(err)
	}
	cred.Server = url
	if err := home.Dir(h).SaveCredentials(cred); err != nil {
		f.t.Fatal(err)
	}
	return h
}

// runDetached starts job with args on device from home h and returns the
// execution's id.
func runDetached(t *testing.T, h, device string, job ...string) string {
	t.Helper()
	r := runIn(t, h, "", append(append([]string{"run"}, job...), "--on", device, "--detach")...)
	exec := strings.TrimSpace(r.out)
	if r.code != 0 || exec == "" {
		t.Fatalf("run %v on %s: exit %d %q %q", job, device, r.code, r.out, r.err)
	}
	return exec
}

// runSecret runs the secret job on device: it prints a unique secret,
// which it reads from a file on the device so that the server never sees
// it in the run's request.
func runSecret(t *testing.T, h, device string) (exec, secret string) {
	t.Helper()
	secret = unique(t)
	exec = runDetached(t, h, device, "secret", writeTemp(t, "secret", secret))
	return exec, secret
}

// waitUploaded waits until the server holds the log of exec on device,
// and returns its record.
func waitUploaded(t *testing.T, h, exec, device string) api.ExecutionLog {
	t.Helper()
	cred, err := home.Dir(h).Credentials()
	if err != nil {
		t.Fatal(err)
	}
	c := apiclient.FromCredentials(cred)
	var got api.ExecutionLog
	if !testenv.Poll(60*time.Second, 50*time.Millisecond, func() bool {
		logs, err := c.ExecutionLogs(context.Background(), exec)
		if err != nil {
			return false
		}
		for _, l := range logs.Logs {
			if l.Device == device {
				got = l
			}
		}
		return got.Object != nil
	}) {
		t.Fatalf("the log of %s on %s was never uploaded: %+v", exec, device, got)
	}
	return got
}

// blobOf is the object store's file of the log of exec (the directory
// adapter under the server's data directory).
func blobOf(t *testing.T, dataDir, exec string) string {
	t.Helper()
	var found string
	_ = filepath.WalkDir(dataDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.Contains(p, exec) && strings.Contains(filepath.Base(p), ".rcast") {
			found = p
		}
		return nil
	})
	if found == "" {
		t.Fatalf("no object of %s under %s", exec, dataDir)
	}
	return found
}

func copyFile(t *testing.T, from, to string, mod time.Time) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(to, mod, mod); err != nil {
		t.Fatal(err)
	}
}

func sameFile(t *testing.T, a, b string) bool {
	t.Helper()
	x, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(x) == string(y)
}

const logJobs = `
secret:
  script: |
    echo "first line"
    echo "the secret is $(cat '{{ index .Args 1 }}')"
    echo "last line"
wait: |
  echo started
  sleep 600
`

// TestLogs: a workspace's log key made by 'runlet keys init'; a job prints
// a unique secret on pi-1; 'runlet logs' on another device downloads the
// encrypted log once and decrypts it (R-LOG-1 to R-LOG-3), with
// timestamps, from a time, or as an asciicast file; pi-1 reads its own
// copy; the passphrase, a saved identity file and their errors.
func TestLogs(t *testing.T) {
	var dataDir string
	f := startFleet(t, func(c *assemble.Config) { dataDir = c.DataDir })
	pi := f.signin("pi-1")
	pass := writeTemp(t, "pass", logPass+"\n")

	// Making the key.
	if r := runEnv(t, pi, "", adminEnv, "keys", "list"); r.code != 0 || !strings.Contains(r.out, "no log key yet") {
		t.Errorf("keys list before init: exit %d %q %q", r.code, r.out, r.err)
	}
	if r := runEnv(t, pi, "", adminEnv, "keys", "init", "--passphrase-file", writeTemp(t, "short", "too short")); r.code != 2 || !strings.Contains(r.err, "at least 12") {
		t.Errorf("keys init with a short passphrase: exit %d %q", r.code, r.err)
	}
	if r := runIn(t, pi, "", "keys", "init", "--passphrase-file", pass); r.code != 2 || !strings.Contains(r.err, "needs a workspace admin") {
		t.Errorf("keys init without an admin: exit %d %q", r.code, r.err)
	}
	if r := runEnv(t, pi, "", adminEnv, "keys", "init"); r.code != 2 || !strings.Contains(r.err, "RUNLET_LOG_PASSPHRASE") {
		t.Errorf("keys init without a passphrase: exit %d %q", r.code, r.err)
	}
	r := runEnv(t, pi, "", adminEnv, "keys", "init", "--passphrase-file", pass)
	if r.code != 0 || !strings.Contains(r.out, "generation 1") || !strings.Contains(r.out, "age1") || !strings.Contains(r.out, "cannot be recovered") {
		t.Fatalf("keys init: exit %d\n%s%s", r.code, r.out, r.err)
	}
	if r := runEnv(t, pi, "", adminEnv, "keys", "init", "--passphrase-file", pass); r.code == 0 || !strings.Contains(r.err, "runlet keys rotate") {
		t.Errorf("keys init again: exit %d %q", r.code, r.err)
	}
	if r := runIn(t, pi, "", "keys", "list"); r.code != 0 || !strings.Contains(r.out, "1 (active)") || !strings.Contains(r.out, "age1") {
		t.Errorf("keys list: exit %d %q %q", r.code, r.out, r.err)
	}

	f.startDaemon("pi-1", pi)
	proxy := startLogProxy(t, f.url)
	laptop := f.signinVia("laptop", proxy.URL)
	waitOnline(t, laptop, "pi-1")
	applyJobs(t, laptop, logJobs)
	exec, secret := runSecret(t, laptop, "pi-1")
	waitFinal(t, laptop, exec)
	up := waitUploaded(t, laptop, exec, "pi-1")
	if up.Object.Generation != 1 {
		t.Errorf("uploaded log %+v, want generation 1", up.Object)
	}
	env := map[string]string{"RUNLET_LOG_PASSPHRASE": logPass}

	// Another device downloads it once, then reads its copy.
	r = runEnv(t, laptop, "", env, "logs", exec)
	if r.code != 0 || !strings.Contains(r.out, "the secret is "+secret) || !strings.Contains(r.out, "last line") {
		t.Fatalf("logs: exit %d\n%s%s", r.code, r.out, r.err)
	}
	if n := proxy.count("GET OK"); n != 1 {
		t.Errorf("%d downloads, want 1", n)
	}
	fetched, err := home.Dir(laptop).FetchedCastPath("pi-1", exec)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(fetched); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("the fetched copy: %v, %v", st, err)
	}
	if !sameFile(t, fetched, blobOfContent(t, pi, exec)) {
		t.Error("the fetched copy differs from the device's own")
	}
	r2 := runEnv(t, laptop, "", env, "logs", exec, "--passphrase-file", pass)
	if r2.code != 0 || r2.out != r.out {
		t.Errorf("second read: exit %d\n%s%s\nwant the same output", r2.code, r2.out, r2.err)
	}
	if n := proxy.count("GET OK"); n != 1 {
		t.Errorf("the second read downloaded again: %d downloads", n)
	}

	// pi-1 reads its own copy.
	if r := runEnv(t, pi, "", env, "logs", exec); r.code != 0 || r.out != r2.out {
		t.Errorf("logs on pi-1: exit %d\n%s%s\nwant\n%s", r.code, r.out, r.err, r2.out)
	}

	// --timestamps: every line starts with its time.
	r = runEnv(t, laptop, "", env, "logs", exec, "--timestamps")
	stamp := regexp.MustCompile(`^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) `)
	lines := strings.Split(strings.TrimSuffix(r.out, "\n"), "\n")
	if r.code != 0 || len(lines) < 3 || !strings.Contains(r.out, "the secret is "+secret) {
		t.Fatalf("logs --timestamps: exit %d\n%s%s", r.code, r.out, r.err)
	}
	var first time.Time
	for i, l := range lines {
		m := stamp.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("line %q has no timestamp", l)
			continue
		}
		at, err := time.Parse(time.RFC3339, m[1])
		if err != nil || time.Since(at) > time.Hour || time.Until(at) > time.Minute {
			t.Errorf("line %q: time %v (%v), not this run's", l, at, err)
		}
		if i == 0 {
			first = at
		}
	}

	// --since: from a time, or a duration before the end.
	if r := runEnv(t, laptop, "", env, "logs", exec, "--since", first.Add(time.Hour).Format(time.RFC3339)); r.code != 0 || r.out != "" {
		t.Errorf("logs --since after the end: exit %d %q %q", r.code, r.out, r.err)
	}
	if r := runEnv(t, laptop, "", env, "logs", exec, "--since", first.Add(-time.Hour).Format(time.RFC3339)); r.code != 0 || r.out != r2.out {
		t.Errorf("logs --since before the start: exit %d %q %q", r.code, r.out, r.err)
	}
	if r := runEnv(t, laptop, "", env, "logs", exec, "--since", "1h"); r.code != 0 || r.out != r2.out {
		t.Errorf("logs --since 1h: exit %d %q %q", r.code, r.out, r.err)
	}
	if r := runEnv(t, laptop, "", env, "logs", exec, "--since", "yesterday"); r.code != 2 || !strings.Contains(r.err, "RFC 3339") {
		t.Errorf("logs --since yesterday: exit %d %q", r.code, r.err)
	}

	// --export and --cast: standard asciicast v2.
	r = runEnv(t, laptop, "", env, "logs", exec, "--export")
	if r.code != 0 {
		t.Fatalf("logs --export: exit %d %q", r.code, r.err)
	}
	checkAsciicast(t, r.out, "the secret is "+secret)
	cast := filepath.Join(t.TempDir(), "run.cast")
	if r := runEnv(t, laptop, "", env, "logs", exec, "--cast", cast); r.code != 0 || r.out != "" {
		t.Fatalf("logs --cast: exit %d %q %q", r.code, r.out, r.err)
	}
	if b, err := os.ReadFile(cast); err != nil || string(b) != r.out {
		t.Errorf("--cast wrote %q (%v), want what --export printed", b, err)
	}

	// Passphrase errors.
	if r := runEnv(t, laptop, "", map[string]string{"RUNLET_LOG_PASSPHRASE": "not the passphrase"}, "logs", exec); r.code != 1 || !strings.Contains(r.err, "wrong log passphrase") || strings.Contains(r.out, secret) {
		t.Errorf("logs with a wrong passphrase: exit %d %q %q", r.code, r.out, r.err)
	}
	if r := runIn(t, laptop, "", "logs", exec); r.code != 2 || !strings.Contains(r.err, "no log passphrase") {
		t.Errorf("logs without a passphrase: exit %d %q", r.code, r.err)
	}
	if r := runIn(t, laptop, "", "keys", "unlock", "--passphrase-file", writeTemp(t, "wrong", "not the passphrase")); r.code != 1 || !strings.Contains(r.err, "wrong log passphrase") {
		t.Errorf("keys unlock with a wrong passphrase: exit %d %q", r.code, r.err)
	}

	// keys unlock --save: no passphrase needed any more; lock undoes it.
	r = runIn(t, laptop, "", "keys", "unlock", "--save", "--passphrase-file", pass)
	ids := home.Dir(laptop).IdentityFile()
	if st, err := os.Stat(ids); r.code != 0 || err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("keys unlock --save: exit %d %q %q; %v %v", r.code, r.out, r.err, st, err)
	}
	if r := runIn(t, laptop, "", "logs", exec); r.code != 0 || r.out != r2.out {
		t.Errorf("logs with the saved keys: exit %d %q %q", r.code, r.out, r.err)
	}
	phone := f.signin("phone")
	if r := runIn(t, phone, "", "logs", exec, "--identity", ids); r.code != 0 || r.out != r2.out {
		t.Errorf("logs --identity: exit %d %q %q", r.code, r.out, r.err)
	}
	if r := runIn(t, laptop, "", "keys", "lock"); r.code != 0 || !strings.Contains(r.out, "Removed") {
		t.Errorf("keys lock: exit %d %q %q", r.code, r.out, r.err)
	}
	if _, err := os.Stat(ids); err == nil {
		t.Error("keys lock left the identity file")
	}
	if r := runIn(t, laptop, "", "logs", exec); r.code != 2 || !strings.Contains(r.err, "no log passphrase") {
		t.Errorf("logs after keys lock: exit %d %q", r.code, r.err)
	}

	// A live run: followed to its end with --follow only.
	wait := runDetached(t, laptop, "pi-1", "wait")
	out, errb := &testenv.Buffer{}, &testenv.Buffer{}
	followed := make(chan int, 1)
	go func() { followed <- runMainWith(laptop, out, errb, "logs", wait, "--follow") }()
	waitText(t, out, "started")
	// The server may record the start a moment after the output flows.
	if !testenv.Poll(30*time.Second, 50*time.Millisecond, func() bool {
		r = runEnv(t, laptop, "", env, "logs", wait)
		return !strings.Contains(r.err, "has not started")
	}) || r.code != 1 || !strings.Contains(r.err, "still running on pi-1: add --follow") {
		t.Errorf("logs of a live run: exit %d %q", r.code, r.err)
	}
	if r := runEnv(t, laptop, "", env, "logs", wait, "--export"); r.code != 1 || !strings.Contains(r.err, "still running on pi-1") {
		t.Errorf("logs --export of a live run: exit %d %q", r.code, r.err)
	}
	if r := runIn(t, pi, "", "kill", wait); r.code != 0 {
		t.Fatalf("kill: exit %d %q", r.code, r.err)
	}
	select {
	case code := <-followed:
		if code != 0 {
			t.Errorf("logs --follow of a killed run: exit %d\n%s\n%s", code, out, errb)
		}
	case <-time.After(90 * time.Second):
		t.Fatalf("logs --follow did not end with the run\n%s\n%s", out, errb)
	}

	// Nothing the server keeps (its database, the object store) holds
	// the secret.
	noSecretIn(t, dataDir, secret)
}

// noSecretIn fails if a file under dir holds secret.
func noSecretIn(t *testing.T, dir, secret string) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		n++
		if strings.Contains(string(b), secret) {
			t.Errorf("%s holds the secret", p)
		}
		return nil
	})
	if err != nil || n == 0 {
		t.Errorf("reading %s: %d files, %v", dir, n, err)
	}
}

// blobOfContent is the device's own copy of the log of exec.
func blobOfContent(t *testing.T, h, exec string) string {
	t.Helper()
	p, err := home.Dir(h).CastPath(exec)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// checkAsciicast checks that text is an asciicast v2 file whose output
// contains want.
func checkAsciicast(t *testing.T, text, want string) {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(nil, 1<<20)
	if !sc.Scan() {
		t.Fatalf("empty asciicast")
	}
	var h struct {
		Version int `json:"version"`
		Width   int `json:"width"`
		Height  int `json:"height"`
	}
	if err := json.Unmarshal(sc.Bytes(), &h); err != nil || h.Version != 2 || h.Width <= 0 || h.Height <= 0 {
		t.Fatalf("asciicast header %q: %+v %v", sc.Text(), h, err)
	}
	var all strings.Builder
	last := -1.0
	for sc.Scan() {
		var ev []any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil || len(ev) != 3 {
			t.Fatalf("asciicast event %q: %v", sc.Text(), err)
		}
		at, ok1 := ev[0].(float64)
		kind, ok2 := ev[1].(string)
		data, ok3 := ev[2].(string)
		if !ok1 || !ok2 || !ok3 || kind != "o" || at < last {
			t.Fatalf("asciicast event %q", sc.Text())
		}
		last = at
		all.WriteString(data)
	}
	if !strings.Contains(all.String(), want) {
		t.Errorf("the asciicast's output %q lacks %q", all.String(), want)
	}
}
