//go:build !windows

package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/bench/internal/benchkit"
	"github.com/runlet/runlet/castlog"
)

// targetFirstScreen is the target for the first screen of a 100 MB
// log.
const targetFirstScreen = time.Second

// firstScreenRuns is how many times each way of reading is measured.
const firstScreenRuns = 5

// firstScreen writes a log of c.LogMB MiB of output, uploads it to a real
// server (embedded NATS and SQLite, the directory object store) as the
// device that ran the execution, and measures the time to the first
// screen: the layout (Scan) and the first segment decrypted (ReadSegment).
func firstScreen(ctx context.Context, rep *benchkit.Report, dir string, k key, c config) error {
	path := filepath.Join(dir, "big.rcast")
	segments, err := writeLog(path, c.LogMB<<20, k)
	if err != nil {
		return err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if err := overhead(rep, "4 KiB frames", path, int64(c.LogMB)<<20, k); err != nil {
		return err
	}

	st, err := benchkit.StartStack(ctx, benchkit.NATSSQLite, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	creds, err := st.EnrollDevice(ctx, "bench-1")
	if err != nil {
		return err
	}
	if _, err := st.Admin.AddLogKey(ctx, api.NewLogKey{Recipient: k.recipient, Sealed: k.sealed}); err != nil {
		return fmt.Errorf("add the log key: %w", err)
	}
	run, err := st.Admin.Run(ctx, api.RunRequest{Command: []string{"true"}, On: []string{"bench-1"}})
	if err != nil {
		return fmt.Errorf("start a run on bench-1: %w", err)
	}
	exec := run.Execution
	device := apiclient.New(st.Srv.URL(), creds.Token)
	sum, err := fileSHA256(path)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	_, err = device.UploadLog(ctx, exec, "bench-1", f, fi.Size(), api.LogUpload{
		SHA256: sum, Modified: fi.ModTime(), State: runlet.LogUploaded, Generation: 1, Segments: segments,
	})
	f.Close()
	if err != nil {
		return fmt.Errorf("upload the log: %w", err)
	}

	// No daemon runs it: end the run (killed before it started), so that
	// `runlet logs` reads its log rather than offering to follow it.
	if err := st.Admin.Kill(ctx, exec, "bench-1"); err != nil {
		return fmt.Errorf("end the run: %w", err)
	}
	reader := st.Admin // a member reads, not the device
	cas := fmt.Sprintf("%d MiB of output, %.0f MB log, %d segments", c.LogMB, float64(fi.Size())/1e6, segments)
	var ranged, whole, local benchkit.Sample
	var requests int
	var fetched int64
	for range firstScreenRuns {
		d, n, b, err := rangedFirstScreen(ctx, reader, exec, k)
		if err != nil {
			return fmt.Errorf("first screen with Range requests: %w", err)
		}
		ranged, requests, fetched = append(ranged, d), n, b
		if d, err = downloadFirstScreen(ctx, reader, exec, dir, k); err != nil {
			return fmt.Errorf("first screen after a whole download: %w", err)
		}
		whole = append(whole, d)
		if d, err = localFirstScreen(path, k); err != nil {
			return fmt.Errorf("first screen from a local copy: %w", err)
		}
		local = append(local, d)
	}
	target := func(v float64) bool { return v <= benchkit.Millis(targetFirstScreen) }
	for _, m := range []struct {
		how  string
		s    benchkit.Sample
		note string
	}{
		{"from the server, Range requests (a reader without a copy, the browser)", ranged,
			fmt.Sprintf("%d requests, %.1f KB fetched", requests, float64(fetched)/1e3)},
		{"from the server, whole download then read (the CLI's first read)", whole, "sha256 checked, Scan, rename"},
		{"from a local copy (the CLI's later reads; If-None-Match not counted)", local, ""},
	} {
		rep.Add(benchkit.Result{Bench: "time to first screen", Case: cas + ", " + m.how, Metric: "median", Value: benchkit.Millis(m.s.Quantile(0.5)), Unit: "ms",
			Target: "≤ 1000 ms", Note: fmt.Sprintf("n=%d, max %.1f ms; %s", len(m.s), benchkit.Millis(m.s.Quantile(1)), m.note)}, target)
	}
	first, cliLocal, err := cliFirstScreen(ctx, st, dir, exec, k)
	if err != nil {
		return fmt.Errorf("runlet logs: %w", err)
	}
	rep.Add(benchkit.Result{Bench: "time to first screen", Case: cas + ", `runlet logs` (the binary), first read: whole download", Metric: "once", Value: benchkit.Millis(first), Unit: "ms",
		Target: "≤ 1000 ms", Note: "from the command's start to its first output bytes; --identity (no scrypt)"}, target)
	rep.Add(benchkit.Result{Bench: "time to first screen", Case: cas + ", `runlet logs` (the binary), later reads: local copy, 304", Metric: "median", Value: benchkit.Millis(cliLocal.Quantile(0.5)), Unit: "ms",
		Target: "≤ 1000 ms", Note: fmt.Sprintf("n=%d, max %.1f ms", len(cliLocal), benchkit.Millis(cliLocal.Quantile(1)))}, target)
	rep.Add(benchkit.Result{Bench: "time to first screen", Case: "unseal the log key with the passphrase (age scrypt), once per reading without a saved identity", Metric: "once",
		Value: benchkit.Millis(k.unseal), Unit: "ms", Note: "not in the rows above; none with `runlet keys unlock --save`"}, nil)
	rep.Note("first screen = castlog.Scan (the last 16 bytes, then the index) and castlog.ReadSegment of the first segment (decrypted, parsed, checked)")
	return nil
}

// writeLog writes a log of n bytes of output in 4 KiB frames and returns
// its number of segments.
func writeLog(path string, n int, k key) (int, error) {
	frames := syntheticFrames(n, 4096)
	w, err := castlog.Create(path, k.recipients(), castlog.Header{Timestamp: frames[0].Time, Execution: "bench", Device: "bench-1", Job: "bench"})
	if err != nil {
		return 0, err
	}
	for _, fr := range frames {
		if err := w.WriteFrame(fr.Seq, fr.Time, fr.Data); err != nil {
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

// rangedFirstScreen reads the first screen through Range requests to the
// server, and returns the time, the requests made and the bytes fetched.
func rangedFirstScreen(ctx context.Context, c *apiclient.Client, exec string, k key) (time.Duration, int, int64, error) {
	start := time.Now()
	_, size, err := c.StatLog(ctx, exec, "bench-1")
	if err != nil {
		return 0, 0, 0, err
	}
	ra := &remoteReaderAt{ctx: ctx, c: c, exec: exec, device: "bench-1", requests: 1}
	l, err := castlog.Scan(ra, size)
	if err != nil {
		return 0, 0, 0, err
	}
	if len(l.Segments) > 0 {
		// One request for the whole segment, as the browser makes.
		if err := ra.prefetch(l.Segments[0].Offset, l.Segments[0].Length); err != nil {
			return 0, 0, 0, err
		}
	}
	if err := firstSegment(ra, l, k); err != nil {
		return 0, 0, 0, err
	}
	return time.Since(start), ra.requests, ra.fetched, nil
}

// remoteReaderAt reads a log on the server: from the range it prefetched
// when that holds what is asked, else with a Range request of its own.
type remoteReaderAt struct {
	ctx          context.Context
	c            *apiclient.Client
	exec, device string
	requests     int
	fetched      int64
	buf          []byte // the prefetched range, from bufOff
	bufOff       int64
}

func (r *remoteReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= r.bufOff && off+int64(len(p)) <= r.bufOff+int64(len(r.buf)) {
		return copy(p, r.buf[off-r.bufOff:]), nil
	}
	return r.get(p, off)
}

// prefetch fetches n bytes from off in one request.
func (r *remoteReaderAt) prefetch(off, n int64) error {
	buf := make([]byte, n)
	if _, err := r.get(buf, off); err != nil {
		return err
	}
	r.buf, r.bufOff = buf, off
	return nil
}

func (r *remoteReaderAt) get(p []byte, off int64) (int, error) {
	r.requests++
	d, err := r.c.DownloadLog(r.ctx, r.exec, r.device, "", off, int64(len(p)), false)
	if err != nil {
		return 0, err
	}
	defer d.Body.Close()
	n, err := io.ReadFull(d.Body, p)
	r.fetched += int64(n)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = io.EOF
	}
	return n, err
}

// downloadFirstScreen downloads the whole log to a temporary file,
// checking its sha256 as the CLI does, scans it and reads its first
// segment.
func downloadFirstScreen(ctx context.Context, c *apiclient.Client, exec, dir string, k key) (time.Duration, error) {
	start := time.Now()
	d, err := c.DownloadLog(ctx, exec, "bench-1", "", 0, 0, false)
	if err != nil {
		return 0, err
	}
	defer d.Body.Close()
	tmp, err := os.CreateTemp(dir, "download-*.rcast")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), d.Body)
	if err != nil {
		return 0, err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != d.Copy.SHA256 {
		return 0, fmt.Errorf("downloaded sha256 %s, the server says %s", got, d.Copy.SHA256)
	}
	if err := tmp.Sync(); err != nil {
		return 0, err
	}
	l, err := castlog.Scan(tmp, n)
	if err != nil {
		return 0, err
	}
	if err := os.Rename(tmp.Name(), tmp.Name()+".kept"); err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name() + ".kept")
	if err := firstSegment(tmp, l, k); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// localFirstScreen reads the first screen of the log at path.
func localFirstScreen(path string, k key) (time.Duration, error) {
	start := time.Now()
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	l, err := castlog.Scan(f, fi.Size())
	if err != nil {
		return 0, err
	}
	if err := firstSegment(f, l, k); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

func firstSegment(r io.ReaderAt, l *castlog.Log, k key) error {
	if len(l.Segments) == 0 {
		return errors.New("the log has no segment")
	}
	h, events, err := castlog.ReadSegment(r, l.Segments[0], k.identities())
	if err != nil {
		return err
	}
	if h == nil || len(events) == 0 {
		return fmt.Errorf("the first segment has header %v and %d events, want a header and events", h, len(events))
	}
	return nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
