//go:build !windows

package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/castlog"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/server"
)

// browserLogJob prints the secret held in a file on the device (the job
// file names the file only) around ~kb KiB of random base64 lines, after
// waiting for the test to touch gate: the run is live while the page first
// shows its log panel.
func browserLogJob(name, secretFile, gate string, kb int) string {
	return fmt.Sprintf(`
%s:
  script: |
    %s
    echo "first $(cat %q)"
    head -c %d /dev/urandom | base64
    echo "middle $(cat %q)"
    head -c %d /dev/urandom | base64
    echo "last $(cat %q)"
`, name, waitForFile(gate), secretFile, kb<<9, secretFile, kb<<9, secretFile)
}

// TestBrowserLogs is issue 15's web UI in the real browser (R-LOG-1,
// R-LOG-3, R-GUI-1): a workspace key made with the CLI, a job printing a
// unique secret; the run's page says the log is not uploaded while the
// run goes, then a wrong passphrase is refused, the right one unlocks it
// in the page, the secret shows, with timestamps, the search finds it, the
// download is a valid asciicast holding the same output as the CLI's
// export, and playback renders it in the terminal; a damaged segment is
// named and the others shown. Nothing the browser sends (every request
// through a recording proxy, the worker's included, and the WebSocket's
// bytes) holds the passphrase or the identity it unsealed, and the page
// stores neither.
func TestBrowserLogs(t *testing.T) {
	needChromium(t)
	lf := newLogFleet(t, false)
	pass := strings.TrimSpace(string(readFile(t, lf.pass)))
	keys, err := lf.admin.LogKeys(ctxFor(t))
	if err != nil || len(keys.Keys) != 1 {
		t.Fatalf("log keys: %+v, %v; want the one runlet keys init made", keys, err)
	}
	id, err := castlog.Unseal(keys.Keys[0].Sealed, pass)
	if err != nil {
		t.Fatal(err)
	}
	identity := id.String()

	secret, file := newSecret(t)
	gate := filepath.Join(t.TempDir(), "go")
	lf.applyJobs(browserLogJob("leak", file, gate, 1536)) // ~2 MB of output: several segments
	exec, _ := lf.detach("pi-2", "leak", "pi-1")
	lf.waitStatus(exec, "pi-1", runlet.StatusRunning)

	// Every request the browser makes (the page's, the log reader's worker)
	// goes through a proxy that records it; the page's WebSocket messages
	// are recorded from the DevTools protocol.
	proxy := newRecordingProxy(t)
	b := newBrowser(t, lf.url, chromedp.ProxyServer(proxy.url), chromedp.Flag("proxy-bypass-list", "<-loopback>"))
	p := b.newPage("logs")
	sent := recordRequests(t, p)
	p.open("/executions/" + exec)
	p.waitVisible(`form[data-form=login]`)
	p.signIn(adminPassword)

	// While the run goes, the panel says the log is not uploaded yet (the
	// server's reason), and it opens by itself once it is.
	p.waitVisible(`[data-log-panel] [data-log-pending]`)
	if got := p.text(`[data-log-pending]`); !strings.Contains(strings.ToLower(got), "run") {
		t.Errorf("the pending log says %q, want the server's reason (the run is still going)", got)
	}
	touch(t, gate)
	lf.waitStatus(exec, "pi-1", runlet.StatusFinished)
	lf.waitUploaded(t, exec, "pi-1", 2*time.Minute)
	p.waitVisible(`[data-log-panel][data-log-state=locked] input[data-field=log-passphrase]`)

	// A wrong passphrase is refused, with a message saying so.
	p.do("type a wrong passphrase",
		chromedp.SendKeys(chromedp.CSS(`input[data-field=log-passphrase]`), "not the log passphrase"),
		chromedp.Click(chromedp.CSS(`[data-log-unlock-submit]`)))
	p.waitVisible(`[data-log-panel][data-log-state=wrong-passphrase] [data-log-error]`)
	if got := p.text(`[data-log-error]`); !strings.Contains(got, "Wrong passphrase") {
		t.Errorf("a wrong passphrase shows %q, want it called wrong", got)
	}
	p.shot("logs-wrong-passphrase")

	// The right one unlocks the log in the page.
	p.evalTrue(`(document.querySelector('input[data-field=log-passphrase]').value = '', true)`)
	p.do("type the passphrase",
		chromedp.SendKeys(chromedp.CSS(`input[data-field=log-passphrase]`), pass),
		chromedp.Click(chromedp.CSS(`[data-log-unlock-submit]`)))
	p.waitJS("the log to be decrypted", `document.querySelector('[data-log-panel]').dataset.logState === 'ready'`)
	view := `window.runlet.logs.get("pi-1")`
	p.waitJS("the secret's last line in the log's terminal", view+`.text().includes(`+jsString("last "+secret)+`)`)
	t.Logf("unlock (scrypt in JS) took %s ms; first screen %s ms, whole log %s ms after it",
		p.evalString(`document.querySelector('[data-log-panel]').dataset.unlockMs`),
		p.evalString(`document.querySelector('[data-log-term]').dataset.firstScreenMs`),
		p.evalString(`document.querySelector('[data-log-term]').dataset.allMs`))
	if p.evalString(`document.querySelector('[data-log-problems]').textContent`) != "" {
		t.Errorf("the panel reports problems: %s", p.text(`[data-log-problems]`))
	}

	// Search finds the secret's three lines; with timestamps, each line
	// carries the time it was printed, within the run.
	p.do("search", chromedp.SendKeys(chromedp.CSS(`[data-log-search]`), secret))
	p.waitJS("three matches", `document.querySelector('[data-log-count]').dataset.matches === '3' && document.querySelectorAll('[data-log-lines] mark[data-log-match]').length === 3`)
	p.click(`[data-log-timestamps]`)
	p.waitVisible(`[data-log-lines] [data-log-time]`)
	lines := p.text(`[data-log-lines]`)
	for _, w := range []string{"first " + secret, "middle " + secret, "last " + secret} {
		if !strings.Contains(lines, w) {
			t.Errorf("the search shows %q, want a line %q", lines, w)
		}
	}
	run, _ := lf.execution(exec, "pi-1")
	var stamps []time.Time
	if err := json.Unmarshal([]byte(p.evalString(`JSON.stringify([...document.querySelectorAll('[data-log-lines] [data-log-time]')].map((e) => e.getAttribute('datetime')))`)), &stamps); err != nil || len(stamps) != 3 {
		t.Fatalf("the matching lines' times: %v, %v; want 3", stamps, err)
	}
	for _, at := range stamps {
		if at.Before(run.Started.Add(-time.Second)) || at.After(run.Finished.Add(time.Second)) {
			t.Errorf("a line is stamped %s, outside the run (%s to %s)", at, run.Started, run.Finished)
		}
	}
	p.shot("logs-search")

	// Download: a standard asciicast v2 file with the output the CLI's
	// export has.
	name, cast := p.download(`[data-log-download]`)
	if !strings.HasSuffix(name, ".cast") {
		t.Errorf("the download is named %q, want a .cast file", name)
	}
	export := lf.mustLogs(t, "pi-2", exec, "--export", "--passphrase-file", lf.pass)
	got, want := castOutput(t, "the downloaded file", cast), castOutput(t, "runlet logs --export", []byte(export))
	if got != want {
		t.Errorf("the downloaded cast's output (%d bytes) differs from runlet logs --export's (%d bytes)", len(got), len(want))
	}
	wantSecretLines(t, "the downloaded cast", got, secret)

	// Playback: pause at 1×, then the rest at max speed.
	p.waitVisible(`[data-log-search]`)
	p.evalTrue(`(document.querySelector('[data-log-search]').value = '', document.querySelector('[data-log-timestamps]').click(), true)`)
	p.click(`[data-log-play]`)
	p.waitJS("playback to start", `document.querySelector('[data-log-term]').dataset.playback === 'playing'`)
	p.click(`[data-log-play]`)
	p.waitJS("playback to pause", `document.querySelector('[data-log-term]').dataset.playback === 'paused'`)
	p.evalTrue(`(() => { const s = document.querySelector('[data-log-speed]'); s.value = 'max'; s.dispatchEvent(new Event('change')); return true; })()`)
	p.click(`[data-log-play]`)
	p.waitJS("playback to end", `document.querySelector('[data-log-term]').dataset.playback === 'ended'`)
	p.waitJS("the secret in the played-back terminal", view+`.text().includes(`+jsString("last "+secret)+`)`)
	p.shot("logs-playback")

	// A damaged segment: the panel names it and shows the others. The
	// object's second segment gets a flipped byte (its record and the
	// object's header say the new sha256, so only the reader can tell);
	// a reload forgets the identity, so the page asks again.
	object := lf.objectFile(t, exec, "pi-1")
	header, body := splitObjectFile(t, object)
	layout, err := castlog.Scan(bytes.NewReader(body), int64(len(body)))
	if err != nil || len(layout.Segments) < 3 {
		t.Fatalf("the stored log's layout: %+v, %v; want 3 segments or more", layout, err)
	}
	second := layout.Segments[1]
	damaged := bytes.Clone(body)
	damaged[second.Offset+second.Length/2] ^= 0x55
	sum := sha256Hex(damaged)
	raw, _ := hex.DecodeString(sum)
	writeFile(t, object, string(objectHeader(header, raw, run.Finished))+string(damaged))
	lf.rewriteRecord(t, exec, "pi-1", func(o *runlet.LogObject) { o.SHA256 = sum })
	p.open("/executions/" + exec)
	p.waitVisible(`[data-log-panel][data-log-state=locked] input[data-field=log-passphrase]`)
	p.do("unlock again",
		chromedp.SendKeys(chromedp.CSS(`input[data-field=log-passphrase]`), pass),
		chromedp.Click(chromedp.CSS(`[data-log-unlock-submit]`)))
	p.waitJS("the log with a damaged segment", `document.querySelector('[data-log-panel]').dataset.logState === 'damaged'`)
	// The live terminal of the ended run, whose plaintext is gone, says
	// that the output is in the encrypted log rather than retrying.
	p.waitJS("the live terminal to point at the log", `document.querySelector('[data-term="pi-1"]').dataset.encrypted === 'true'`)
	if got := p.text(`[data-log-damaged="2"]`); !strings.Contains(got, "Segment 2 of") || !strings.Contains(got, "damaged") {
		t.Errorf("the damaged segment's message is %q, want it to name segment 2", got)
	}
	p.waitJS("the last segment's line in the terminal", view+`.text().includes(`+jsString("last "+secret)+`)`)
	p.shot("logs-damaged")

	// Nothing the page sent, and nothing it stored, holds the passphrase
	// or the identity.
	if s := p.evalString(`JSON.stringify(localStorage) + JSON.stringify(sessionStorage) + document.cookie`); strings.Contains(s, pass) || strings.Contains(s, identity) {
		t.Errorf("the page stored the passphrase or the identity: %q", s)
	}
	reqs := append(sent(), proxy.requests()...)
	if len(reqs) < 5 {
		t.Fatalf("recorded only %d requests; is the recording working?", len(reqs))
	}
	ranges := 0
	for _, r := range reqs {
		if strings.Contains(r, pass) || strings.Contains(r, identity) || strings.Contains(r, strings.ToLower(identity)) {
			t.Errorf("the page sent the passphrase or the identity: %.500s", r)
		}
		if strings.HasPrefix(r, "proxy: ") && strings.Contains(r, "/logs/pi-1") && strings.Contains(r, "bytes=") {
			ranges++
		}
	}
	if ranges < 3 {
		t.Errorf("the page read the log in %d range requests, want at least 3 (tail, index, segments)", ranges)
	}
}

// recordRequests records what the page sends (each HTTP request's URL,
// headers and body, each WebSocket frame) and returns a function giving
// the record.
func recordRequests(t *testing.T, p *page) func() []string {
	t.Helper()
	var mu sync.Mutex
	var sent []string
	err := chromedp.Listen(p.ctx, func(ev any) {
		var rec string
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			j, _ := json.Marshal(e.Request)
			rec = string(j)
			for _, d := range e.Request.PostDataEntries {
				rec += "\n" + string(d.Bytes)
			}
		case *network.EventWebSocketFrameSent:
			if e.Response != nil {
				rec = "websocket: " + string(e.Response.PayloadData)
			}
		default:
			return
		}
		mu.Lock()
		sent = append(sent, rec)
		mu.Unlock()
	})
	if err != nil {
		t.Fatalf("record the page's requests: %v", err)
	}
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), sent...)
	}
}

// recordingProxy is an HTTP proxy that records what the browser sends
// through it: each request's method, URL, headers and body, and every
// byte the browser sends into a CONNECT tunnel (the terminal's
// WebSocket).
type recordingProxy struct {
	url     string
	mu      sync.Mutex
	seen    []string
	tunnels []*bytes.Buffer // guarded by mu too
}

// tunnel carries a CONNECT request's bytes both ways, recording the
// browser's.
func (rp *recordingProxy) tunnel(w http.ResponseWriter, r *http.Request) {
	dst, err := net.Dial("tcp", r.Host)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		dst.Close()
		return
	}
	rec := &bytes.Buffer{}
	fmt.Fprintf(rec, "proxy: CONNECT %s\n", r.Host)
	rp.mu.Lock()
	rp.tunnels = append(rp.tunnels, rec)
	rp.mu.Unlock()
	_, _ = conn.Write([]byte("HTTP/1.1 200 Connection Established\r\n\r\n"))
	go func() {
		_, _ = io.Copy(conn, dst)
		conn.Close()
	}()
	chunk := make([]byte, 32<<10)
	for {
		n, err := buf.Read(chunk)
		if n > 0 {
			rp.mu.Lock()
			rec.Write(chunk[:n])
			rp.mu.Unlock()
			if _, werr := dst.Write(chunk[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	dst.Close()
	conn.Close()
}

func newRecordingProxy(t *testing.T) *recordingProxy {
	t.Helper()
	rp := &recordingProxy{}
	forward := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.URL = r.In.URL // a proxy's request names the whole URL
			r.Out.Host = r.In.Host
		},
		// Chromium's own requests to the outside fail here: no noise.
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(http.StatusBadGateway) },
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodConnect {
			rp.tunnel(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		var rec strings.Builder
		fmt.Fprintf(&rec, "proxy: %s %s\n", r.Method, r.URL)
		_ = r.Header.Write(&rec)
		rec.Write(body)
		rp.mu.Lock()
		rp.seen = append(rp.seen, rec.String())
		rp.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		forward.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	rp.url = srv.URL
	return rp
}

// requests are the requests forwarded so far, and each tunnel's bytes
// from the browser.
func (rp *recordingProxy) requests() []string {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	out := append([]string(nil), rp.seen...)
	for _, t := range rp.tunnels {
		out = append(out, t.String())
	}
	return out
}

// download clicks sel, whose click downloads a file the page made (a
// Blob behind an <a download>), and returns the file's name and bytes,
// taken from the page as it hands them to the browser.
func (p *page) download(sel string) (string, []byte) {
	p.t.Helper()
	p.evalTrue(`(() => {
		window.__downloads = [];
		const blobs = new Map(), make = URL.createObjectURL;
		URL.createObjectURL = (b) => { const u = make.call(URL, b); blobs.set(u, b); return u; };
		document.addEventListener('click', (ev) => {
			const a = ev.target.closest && ev.target.closest('a[download]');
			if (a && blobs.has(a.href)) window.__downloads.push({ name: a.download, blob: blobs.get(a.href) });
		}, true);
		return true;
	})()`)
	p.click(sel)
	p.waitJS("the download", `window.__downloads.length === 1`)
	var got struct {
		Name string `json:"name"`
		Text string `json:"text"`
	}
	ctx, cancel := context.WithTimeout(p.ctx, waitLimit)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.__downloads[0].blob.text().then((text) => JSON.stringify({ name: window.__downloads[0].name, text }))`, chromedp.EvalAwaitPromise))
	if err == nil {
		err = json.Unmarshal([]byte(s), &got)
	}
	if err != nil {
		p.t.Fatalf("browser %s: read the download: %v", p.name, err)
	}
	return got.Name, []byte(got.Text)
}

// castOutput checks that b is a standard asciicast v2 recording (a header
// of version 2, then events of three elements: time, "o", text, in time
// order) and returns its output.
func castOutput(t *testing.T, what string, b []byte) string {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 16<<20)
	if !sc.Scan() {
		t.Fatalf("%s is empty", what)
	}
	var header struct {
		Version int `json:"version"`
		Width   int `json:"width"`
		Height  int `json:"height"`
	}
	if err := json.Unmarshal(sc.Bytes(), &header); err != nil || header.Version != 2 || header.Width == 0 || header.Height == 0 {
		t.Fatalf("%s: the header %.200q is not asciicast v2 (%v)", what, sc.Text(), err)
	}
	var out strings.Builder
	last := -1.0
	for n := 2; sc.Scan(); n++ {
		var ev []any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil || len(ev) != 3 {
			t.Fatalf("%s: line %d %.200q is not an event of three elements (%v)", what, n, sc.Text(), err)
		}
		at, ok1 := ev[0].(float64)
		code, ok2 := ev[1].(string)
		data, ok3 := ev[2].(string)
		if !ok1 || !ok2 || !ok3 || code != "o" || at < last {
			t.Fatalf("%s: line %d %.200q is not an output event in time order", what, n, sc.Text())
		}
		last = at
		out.WriteString(data)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return out.String()
}

// jsString is s as a JavaScript string literal.
func jsString(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}

// TestBrowserLogKeyInit makes the workspace's first log key in the
// browser (R-LOG-1: on a person's machine, never on the server): the
// settings page lists no key, refuses a short or mistyped passphrase, then
// makes one; the server holds the recipient and a sealed text that Go's
// castlog opens with that passphrase, to the identity of that recipient.
func TestBrowserLogKeyInit(t *testing.T) {
	needChromium(t)
	f := newFleetOn(t, embedded, []string{}...)
	b := newBrowser(t, f.url)
	p := b.newPage("keys")
	p.open("/settings")
	p.waitVisible(`form[data-form=login]`)
	p.signIn(adminPassword)
	p.waitVisible(`[data-section=logkeys] [data-logkeys-none]`)

	pass := "a browser-made log passphrase " + testenv.RandomName("")
	fill := func(a, b string) {
		p.evalTrue(`(document.querySelector('input[data-field=logkey-passphrase]').value = '', document.querySelector('input[data-field=logkey-confirm]').value = '', true)`)
		p.do("type the passphrases",
			chromedp.SendKeys(chromedp.CSS(`input[data-field=logkey-passphrase]`), a),
			chromedp.SendKeys(chromedp.CSS(`input[data-field=logkey-confirm]`), b),
			chromedp.Click(chromedp.CSS(`[data-logkey-create]`)))
	}
	fill("too short", "too short")
	p.waitJS("the short passphrase refused", `document.querySelector('[data-logkey-error]').textContent.includes('at least 12')`)
	fill(pass, pass+"x")
	p.waitJS("the mistyped passphrase refused", `document.querySelector('[data-logkey-error]').textContent.includes('differ')`)
	fill(pass, pass)
	p.waitVisible(`[data-section=logkeys] tr[data-logkey="1"]`)

	login, err := apiclient.New(f.url, "").Login(ctxFor(t), server.AdminEmail, adminPassword)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := apiclient.New(f.url, login.Token).LogKeys(ctxFor(t))
	if err != nil || len(keys.Keys) != 1 {
		t.Fatalf("log keys: %+v, %v; want the one the browser made", keys, err)
	}
	k := keys.Keys[0]
	if strings.Contains(k.Sealed, "AGE-SECRET-KEY") {
		t.Fatalf("the server holds the identity in clear: %q", k.Sealed)
	}
	if _, err := castlog.Unseal(k.Sealed, "not the passphrase"); !errors.Is(err, castlog.ErrWrongPassphrase) {
		t.Errorf("unseal with a wrong passphrase: %v, want ErrWrongPassphrase", err)
	}
	id, err := castlog.Unseal(k.Sealed, pass)
	if err != nil {
		t.Fatalf("Go's castlog cannot open the key the browser sealed: %v", err)
	}
	if got := id.Recipient().String(); got != k.Recipient {
		t.Errorf("the sealed identity's recipient is %s, the server's %s", got, k.Recipient)
	}
	p.shot("logs-key-made")
}
