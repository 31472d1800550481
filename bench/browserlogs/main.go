//go:build !windows

// Command browserlogs measures how fast the web UI reads a large encrypted
// run log (issue 15, R-LOG-3) in a real browser, and prints a results
// table. It writes a log of -mb MiB of random printable output with
// castlog.Writer, uploads it through the API to a real server (embedded
// NATS and SQLite, the directory object store) as the device that ran the
// execution, opens the execution's page in headless Chromium (chromedp,
// as the e2e browser tests) and measures, -runs times:
//
//   - unlock: unsealing the log key with the passphrase in the page (age
//     scrypt in JavaScript), apart from the rest;
//   - time to first screen: from the unlocked panel opening the log to its
//     first segment decrypted and drawn in the terminal (the last 16 bytes,
//     the index, then the first segment by Range requests); target ≤ 1 s;
//   - the whole log through the panel: every segment fetched, decrypted,
//     parsed and written to the terminal;
//   - decryption alone in the page: every segment's age ciphertext
//     decrypted by age-encryption's JavaScript ChaCha20-Poly1305 (the
//     bytes already fetched), in MB/s of ciphertext, and the same with
//     castlog.js's parsing and checks.
//
// Usage:
//
//	go run ./bench/browserlogs [-mb 100] [-runs 3] [--json]
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"time"

	"filippo.io/age"
	"github.com/chromedp/chromedp"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/bench/internal/benchkit"
	"github.com/runlet/runlet/castlog"
	"github.com/runlet/runlet/server"
)

// chromium is where Debian's chromium package puts the browser.
const chromium = "/usr/bin/chromium"

// targetFirstScreen is the target for the first screen of a 100 MB
// log.
const targetFirstScreen = time.Second

// waitLimit bounds the wait for the panel to read the whole log.
const waitLimit = 5 * time.Minute

// passphrase seals the bench's log key.
const passphrase = "the bench's log passphrase"

type config struct {
	MB   int
	Runs int
}

func main() {
	var c config
	flag.IntVar(&c.MB, "mb", 100, "MiB of output in the log")
	flag.IntVar(&c.Runs, "runs", 3, "times the page reads the log (medians reported)")
	asJSON := benchkit.JSONFlag()
	flag.Parse()
	if c.MB < 1 || c.Runs < 1 {
		fmt.Fprintln(os.Stderr, "browserlogs: -mb and -runs must be at least 1")
		os.Exit(2)
	}
	if _, err := os.Stat(chromium); err != nil {
		fmt.Fprintf(os.Stderr, "browserlogs: needs Chromium at %s (apt-get install chromium): %v\n", chromium, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := run(ctx, c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "browserlogs:", err)
		os.Exit(1)
	}
	if err := rep.Print(os.Stdout, *asJSON); err != nil {
		fmt.Fprintln(os.Stderr, "browserlogs:", err)
		os.Exit(1)
	}
}

// run makes and uploads the log, reads it in the browser and returns the
// report.
func run(ctx context.Context, c config) (*benchkit.Report, error) {
	rep := benchkit.NewReport("bench/browserlogs")
	dir, err := os.MkdirTemp("", "runlet-browserlogs-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)

	recipient, sealed, id, err := castlog.GenerateKey(passphrase)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "big.rcast")
	segments, err := writeLog(path, c.MB<<20, id.Recipient())
	if err != nil {
		return nil, fmt.Errorf("write the log: %w", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}

	st, err := benchkit.StartStack(ctx, benchkit.NATSSQLite, nil)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	exec, err := upload(ctx, st, path, fi, recipient, sealed, segments)
	if err != nil {
		return nil, err
	}

	b, err := startBrowser(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer b.close()
	if err := b.signIn(st.Srv.URL()); err != nil {
		return nil, err
	}
	var unlock, first, whole, decrypt, parse benchkit.Sample
	for range c.Runs {
		m, err := b.readLog(st.Srv.URL(), exec, id.String())
		if err != nil {
			return nil, err
		}
		unlock, first, whole = append(unlock, m.unlock), append(first, m.first), append(whole, m.whole)
		decrypt, parse = append(decrypt, m.decrypt), append(parse, m.parse)
	}

	size := float64(fi.Size()) / 1e6
	cas := fmt.Sprintf("%d MiB of output, %.0f MB log, %d segments", c.MB, size, segments)
	mbps := func(s benchkit.Sample) float64 { return size / s.Quantile(0.5).Seconds() }
	note := func(s benchkit.Sample) string {
		return fmt.Sprintf("n=%d, min %.0f ms, max %.0f ms", len(s), benchkit.Millis(s.Quantile(0)), benchkit.Millis(s.Quantile(1)))
	}
	rep.Add(benchkit.Result{Bench: "browser: time to first screen", Case: cas + ", Range requests, after unlock", Metric: "median",
		Value: benchkit.Millis(first.Quantile(0.5)), Unit: "ms", Target: "≤ 1000 ms", Note: note(first)},
		func(v float64) bool { return v <= benchkit.Millis(targetFirstScreen) })
	rep.Add(benchkit.Result{Bench: "browser: unlock", Case: "unseal the log key with the passphrase (age scrypt, work factor 2^18) in JavaScript", Metric: "median",
		Value: benchkit.Millis(unlock.Quantile(0.5)), Unit: "ms", Note: note(unlock) + "; once per page, not in the first screen"}, nil)
	rep.Add(benchkit.Result{Bench: "browser: whole log in the panel", Case: cas + ": fetch, decrypt, parse, write to xterm.js", Metric: "median",
		Value: benchkit.Millis(whole.Quantile(0.5)), Unit: "ms", Note: fmt.Sprintf("%s; %.1f MB/s", note(whole), mbps(whole))}, nil)
	rep.Add(benchkit.Result{Bench: "browser: decryption", Case: "age-encryption's JavaScript ChaCha20-Poly1305, segments already fetched", Metric: "median",
		Value: mbps(decrypt), Unit: "MB/s", Note: note(decrypt)}, nil)
	rep.Add(benchkit.Result{Bench: "browser: decryption", Case: "castlog.js readSegment: decrypt, parse the lines, check the sequence numbers", Metric: "median",
		Value: mbps(parse), Unit: "MB/s", Note: note(parse)}, nil)
	rep.Note("the page is the execution page of the web UI (logpanel.js, castlog.js); times are measured in the page with performance.now()")
	rep.Note("MB/s are of ciphertext (the log's size), 1 MB = 10^6 bytes")
	return rep, nil
}

// writeLog writes a log of n bytes of output in 4 KiB frames of random
// printable lines, a millisecond apart, and returns its segment count.
func writeLog(path string, n int, to age.Recipient) (int, error) {
	start := time.Now().Add(-time.Hour)
	w, err := castlog.Create(path, []age.Recipient{to}, castlog.Header{Timestamp: start, Execution: "bench", Device: "bench-1", Job: "bench", Title: "browserlogs"})
	if err != nil {
		return 0, err
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:;-_=+/"
	frame := make([]byte, 4096)
	seq := uint64(0)
	for written := 0; written < n; written += len(frame) {
		for i := range frame {
			switch {
			case i%80 == 78:
				frame[i] = '\r'
			case i%80 == 79:
				frame[i] = '\n'
			default:
				frame[i] = alphabet[rnd.IntN(len(alphabet))]
			}
		}
		seq++
		if err := w.WriteFrame(seq, start.Add(time.Duration(seq)*time.Millisecond), frame); err != nil {
			_ = w.Abort()
			return 0, err
		}
	}
	if err := w.Close(false); err != nil {
		return 0, err
	}
	l, err := castlog.ScanFile(path)
	if err != nil {
		return 0, err
	}
	return len(l.Segments), nil
}

// upload gives the workspace the log key, starts an execution on a device
// enrolled for it and uploads the log as that device; it returns the
// execution's id.
func upload(ctx context.Context, st *benchkit.Stack, path string, fi os.FileInfo, recipient, sealed string, segments int) (string, error) {
	creds, err := st.EnrollDevice(ctx, "bench-1")
	if err != nil {
		return "", err
	}
	if _, err := st.Admin.AddLogKey(ctx, api.NewLogKey{Recipient: recipient, Sealed: sealed}); err != nil {
		return "", fmt.Errorf("add the log key: %w", err)
	}
	run, err := st.Admin.Run(ctx, api.RunRequest{Command: []string{"true"}, On: []string{"bench-1"}})
	if err != nil {
		return "", fmt.Errorf("start a run on bench-1: %w", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	device := apiclient.New(st.Srv.URL(), creds.Token)
	_, err = device.UploadLog(ctx, run.Execution, "bench-1", f, fi.Size(), api.LogUpload{
		SHA256: hex.EncodeToString(h.Sum(nil)), Modified: fi.ModTime(), State: runlet.LogUploaded, Generation: 1, Segments: segments,
	})
	if err != nil {
		return "", fmt.Errorf("upload the log: %w", err)
	}
	return run.Execution, nil
}

// browser is one headless Chromium.
type browser struct {
	ctx   context.Context
	close func()
}

func startBrowser(ctx context.Context, dir string) (*browser, error) {
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(filepath.Join(dir, "profile")),
		chromedp.Flag("disable-background-networking", true), chromedp.WindowSize(1360, 900))
	bctx, cancel := chromedp.NewContext(alloc)
	if err := chromedp.Do(bctx); err != nil {
		cancel()
		cancelAlloc()
		return nil, fmt.Errorf("start Chromium: %w", err)
	}
	return &browser{ctx: bctx, close: func() { cancel(); cancelAlloc() }}, nil
}

// do runs actions with a bound, naming what failed.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		return fmt.Errorf("browser: %s: %w", what, err)
	}
	return nil
}

// eval evaluates a JavaScript expression (awaiting a promise) as T.
func eval[T any](b *browser, what, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Minute)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		return v, fmt.Errorf("browser: %s: %w", what, err)
	}
	return v, nil
}

// wait waits until a JavaScript expression is true.
func (b *browser) wait(what, expr string) error {
	ctx, cancel := context.WithTimeout(b.ctx, waitLimit)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`!!(`+expr+`)`, chromedp.WithPollingTimeout(0))); err != nil {
		return fmt.Errorf("browser: wait for %s: %w", what, err)
	}
	return nil
}

func (b *browser) signIn(base string) error {
	return b.do("sign in",
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`form[data-form=login]`)),
		chromedp.SendKeys(chromedp.CSS(`input[data-field=email]`), server.AdminEmail),
		chromedp.SendKeys(chromedp.CSS(`input[data-field=password]`), benchkit.AdminPassword),
		chromedp.Click(chromedp.CSS(`[data-submit=login]`)),
		chromedp.WaitVisible(chromedp.CSS(`header.top [data-signout]`)))
}

// measure is one reading of the log in the page.
type measure struct {
	unlock, first, whole, decrypt, parse time.Duration
}

// readLog opens the execution's page, unlocks the log and reads it all,
// then times decryption alone in the same page.
func (b *browser) readLog(base, exec, identity string) (measure, error) {
	var m measure
	if err := b.do("open the execution's page",
		chromedp.Navigate(base+"/executions/"+exec),
		chromedp.WaitVisible(chromedp.CSS(`[data-log-panel][data-log-state=locked] input[data-field=log-passphrase]`)),
		chromedp.SendKeys(chromedp.CSS(`input[data-field=log-passphrase]`), passphrase),
		chromedp.Click(chromedp.CSS(`[data-log-unlock-submit]`))); err != nil {
		return m, err
	}
	if err := b.wait("the whole log", `['ready', 'damaged', 'error', 'wrong-key'].includes(document.querySelector('[data-log-panel]').dataset.logState)`); err != nil {
		state, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(() => { const p = document.querySelector('[data-log-panel]'); return p ? p.dataset.logState + ': ' + p.innerText.slice(0, 500) : document.body.innerText.slice(0, 500); })()`))
		return m, fmt.Errorf("%w (the panel: %s)", err, state)
	}
	times, err := eval[map[string]string](b, "the panel's times", `(() => {
		const p = document.querySelector('[data-log-panel]'), t = document.querySelector('[data-log-term]');
		return { state: p.dataset.logState, unlock: p.dataset.unlockMs || '', first: t ? t.dataset.firstScreenMs || '' : '', all: t ? t.dataset.allMs || '' : '',
			problems: document.querySelector('[data-log-problems]') ? document.querySelector('[data-log-problems]').textContent : '' };
	})()`)
	if err != nil {
		return m, err
	}
	if times["state"] != "ready" {
		return m, fmt.Errorf("the panel ended in state %s: %s", times["state"], times["problems"])
	}
	for _, f := range []struct {
		key string
		to  *time.Duration
	}{{"unlock", &m.unlock}, {"first", &m.first}, {"all", &m.whole}} {
		ms, err := strconv.ParseFloat(times[f.key], 64)
		if err != nil {
			return m, fmt.Errorf("the panel's %s time %q: %w", f.key, times[f.key], err)
		}
		*f.to = time.Duration(ms * float64(time.Millisecond))
	}

	// Decryption alone: the whole file fetched once, then every segment
	// decrypted (age only), then read by castlog.js (decrypt and parse).
	id, _ := json.Marshal(identity)
	url, _ := json.Marshal(fmt.Sprintf("%s/executions/%s/logs/bench-1", api.Prefix, exec))
	res, err := eval[map[string]float64](b, "decrypt in the page", fmt.Sprintf(`(async () => {
		const { bytesSource, scan, readSegment } = await import('/static/castlog.js');
		const { Decrypter } = await import('/static/vendor/age-encryption/age-encryption/dist/index.js');
		const resp = await fetch(%s, { credentials: 'same-origin' });
		const bytes = new Uint8Array(await resp.arrayBuffer());
		const source = bytesSource(bytes);
		const layout = await scan(source);
		const d = new Decrypter();
		d.addIdentity(%s);
		let t0 = performance.now();
		for (const s of layout.segments) await d.decrypt(bytes.subarray(s.offset + 40, s.offset + s.length));
		const decrypt = performance.now() - t0;
		t0 = performance.now();
		let frames = 0;
		for (let i = 0; i < layout.segments.length; i++) frames += (await readSegment(source, layout, i, [%s])).events.length;
		return { decrypt, parse: performance.now() - t0, frames };
	})()`, url, id, id))
	if err != nil {
		return m, err
	}
	m.decrypt = time.Duration(res["decrypt"] * float64(time.Millisecond))
	m.parse = time.Duration(res["parse"] * float64(time.Millisecond))
	return m, nil
}
