//go:build !windows

package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"filippo.io/age"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bench/internal/benchkit"
	"github.com/runlet/runlet/castlog"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/runner"
)

// targetCost is the target: encryption costs at most this share of
// the runner's throughput.
const targetCost = 5.0 // %

// key is the log key of a bench: what a device encrypts to and what a
// reader decrypts with, and the key sealed as the server stores it.
type key struct {
	recipient string
	sealed    string
	id        *age.X25519Identity
	unseal    time.Duration // one castlog.Unseal of sealed
}

const passphrase = "bench passphrase, long enough"

func newKey() (key, error) {
	rcpt, sealed, id, err := castlog.GenerateKey(passphrase)
	if err != nil {
		return key{}, fmt.Errorf("make a log key: %w", err)
	}
	start := time.Now()
	if _, err := castlog.Unseal(sealed, passphrase); err != nil {
		return key{}, fmt.Errorf("unseal the log key: %w", err)
	}
	return key{recipient: rcpt, sealed: sealed, id: id, unseal: time.Since(start)}, nil
}

func (k key) recipients() []age.Recipient { return []age.Recipient{k.id.Recipient()} }
func (k key) identities() []age.Identity  { return []age.Identity{k.id} }

// encryptedLogs is the runner's plain frame log (FileLogs) with the
// encrypted log written beside it frame by frame: what the daemon's log
// store (daemon/logs.go, castLogs, not exported) does in a workspace that
// has a log key, without its upload queue (one small file written when a
// run starts and ends, not per frame).
type encryptedLogs struct {
	plain      runner.FileLogs
	recipients []age.Recipient
}

var (
	_ runner.LogStore = encryptedLogs{}
	_ runner.PlainLog = (*teeWriter)(nil)
)

func (l encryptedLogs) Create(id string) (runner.FrameWriter, error) {
	p, err := home.CastFile(l.plain.Dir, id)
	if err != nil {
		return nil, err
	}
	w, err := l.plain.Create(id)
	if err != nil {
		return nil, err
	}
	cw, err := castlog.Create(p, l.recipients, castlog.Header{Timestamp: time.Now(), Execution: id, Device: "bench", Job: "bench"})
	if err != nil {
		w.Close()
		return nil, err
	}
	return &teeWriter{plain: w, cast: cw}, nil
}

func (l encryptedLogs) Open(id string) (runner.FrameReader, error) { return l.plain.Open(id) }

// teeWriter writes each frame to the plain log, then to the encrypted one.
type teeWriter struct {
	plain runner.FrameWriter
	cast  *castlog.Writer
}

func (w *teeWriter) WriteFrame(fr runner.Frame) error {
	if err := w.plain.WriteFrame(fr); err != nil {
		return err
	}
	return w.cast.WriteFrame(fr.Seq, fr.Time, fr.Data)
}

// PlainLog lets the runner read old frames at their offsets in the plain
// log, as it does with FileLogs (the daemon's store does the same).
func (w *teeWriter) PlainLog() *runner.LogWriter {
	l, _ := w.plain.(*runner.LogWriter)
	return l
}

func (w *teeWriter) Close() error {
	return errors.Join(w.cast.Close(false), w.plain.Close())
}

// throughput measures a job's output through the runner with and without
// the encrypted log, the two writers alone on the same frames, and the
// ciphertext's overhead.
func throughput(ctx context.Context, rep *benchkit.Report, dir string, k key, c config) error {
	payload := filepath.Join(dir, "payload")
	if err := randomFile(payload, c.MB<<20); err != nil {
		return err
	}
	want := int64(base64Len(c.MB << 20))
	var plain, enc []jobRun
	var lastCast string
	for i := range c.Runs {
		if err := ctx.Err(); err != nil {
			return err
		}
		// Alternate, so that a change in the machine's load falls on both.
		for _, encrypted := range []bool{false, true} {
			r, err := runJob(dir, payload, want, k, encrypted, i)
			if err != nil {
				return err
			}
			if encrypted {
				enc = append(enc, r)
				lastCast = r.cast
			} else {
				plain = append(plain, r)
			}
		}
	}
	p, e := median(plain), median(enc)
	job := fmt.Sprintf("runner, base64 -w0 of %d MiB (%.0f MB)", c.MB, float64(want)/1e6)
	rep.Add(benchkit.Result{Bench: "output throughput", Case: job + ", plain log", Metric: "median", Value: p.mbps(), Unit: "MB/s",
		Note: fmt.Sprintf("%d runs; CPU %.1f ms/MB", len(plain), p.cpuPerMB())}, nil)
	rep.Add(benchkit.Result{Bench: "output throughput", Case: job + ", plain + encrypted log", Metric: "median", Value: e.mbps(), Unit: "MB/s",
		Note: fmt.Sprintf("%d runs; CPU %.1f ms/MB", len(enc), e.cpuPerMB())}, nil)
	cost := 100 * (1 - e.mbps()/p.mbps())
	rep.Add(benchkit.Result{Bench: "output throughput", Case: job, Metric: "encryption's cost", Value: cost, Unit: "%",
		Target: fmt.Sprintf("≤ %.0f %%", targetCost), Note: fmt.Sprintf("CPU %+.1f ms/MB", e.cpuPerMB()-p.cpuPerMB())},
		func(v float64) bool { return v <= targetCost })

	if err := writersAlone(rep, dir, k, c.MB); err != nil {
		return err
	}
	if lastCast != "" {
		if err := overhead(rep, "runner job, base64 -w0", lastCast, enc[len(enc)-1].bytes, k); err != nil {
			return err
		}
	}
	return nil
}

// jobRun is one run of the throughput job.
type jobRun struct {
	took  time.Duration
	cpu   time.Duration // this process's user+system CPU during the run
	bytes int64         // output bytes the cursor saw, every frame
	cast  string        // the encrypted log, when there is one
}

func (r jobRun) mbps() float64     { return float64(r.bytes) / 1e6 / r.took.Seconds() }
func (r jobRun) cpuPerMB() float64 { return benchkit.Millis(r.cpu) / (float64(r.bytes) / 1e6) }

func median(runs []jobRun) jobRun {
	s := slices.Clone(runs)
	slices.SortFunc(s, func(a, b jobRun) int { return int(a.took - b.took) })
	return s[len(s)/2]
}

// runJob runs `base64 -w0 payload` in a runner whose logs are plain or
// encrypted, with one cursor reading every frame as the daemon's publisher
// does, and returns the time from Enqueue to the last frame.
func runJob(dir, payload string, want int64, k key, encrypted bool, i int) (jobRun, error) {
	logDir := filepath.Join(dir, fmt.Sprintf("logs-%d-%t", i, encrypted))
	if err := os.MkdirAll(logDir, 0o700); err != nil {
		return jobRun{}, err
	}
	cfg := runner.Config{Parallel: 1, LogDir: logDir, TempDir: dir, Logger: benchkit.Quiet}
	if encrypted {
		cfg.Logs = encryptedLogs{plain: runner.FileLogs{Dir: logDir}, recipients: k.recipients()}
	}
	r, err := runner.New(cfg)
	if err != nil {
		return jobRun{}, err
	}
	defer r.Close()
	cpu0 := cpuTime()
	start := time.Now()
	x, err := r.Enqueue(runner.Spec{Script: "base64 -w0 " + payload, Entrypoint: []string{"/bin/sh"}})
	if err != nil {
		return jobRun{}, err
	}
	cur := x.Frames(1)
	defer cur.Close()
	var out jobRun
	for {
		fr, err := cur.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return jobRun{}, err
		}
		out.bytes += int64(len(fr.Data))
	}
	out.took = time.Since(start)
	<-x.Done()
	out.cpu = cpuTime() - cpu0
	if st := x.State(); st.Status != runlet.StatusFinished || st.ExitCode != 0 {
		return jobRun{}, fmt.Errorf("the job ended %s with code %d: %s", st.Status, st.ExitCode, st.Reason)
	}
	if out.bytes < want {
		return jobRun{}, fmt.Errorf("the cursor saw %d bytes, want at least the %d of the output", out.bytes, want)
	}
	if encrypted {
		out.cast, _ = home.CastFile(logDir, x.ID())
	}
	return out, os.Remove(x.LogPath())
}

// writersAlone writes the same frames (4 KiB of base64 text each, as a
// terminal gives them) to the plain log alone and to both logs, with no
// terminal or runner in front: the writers' own cost.
func writersAlone(rep *benchkit.Report, dir string, k key, mb int) error {
	frames := syntheticFrames(mb<<20, 4096)
	var took [2]time.Duration
	for i, encrypted := range []bool{false, true} {
		logDir := filepath.Join(dir, fmt.Sprintf("writers-%t", encrypted))
		if err := os.MkdirAll(logDir, 0o700); err != nil {
			return err
		}
		var store runner.LogStore = runner.FileLogs{Dir: logDir}
		if encrypted {
			store = encryptedLogs{plain: runner.FileLogs{Dir: logDir}, recipients: k.recipients()}
		}
		start := time.Now()
		w, err := store.Create("writers")
		if err != nil {
			return err
		}
		for _, fr := range frames {
			if err := w.WriteFrame(fr); err != nil {
				return err
			}
		}
		if err := w.Close(); err != nil {
			return err
		}
		took[i] = time.Since(start)
		if err := os.RemoveAll(logDir); err != nil {
			return err
		}
	}
	n := float64(mb<<20) / 1e6
	cas := fmt.Sprintf("%d MiB in 4 KiB frames, no terminal", mb)
	rep.Add(benchkit.Result{Bench: "log writers alone", Case: cas + ", plain log", Metric: "rate", Value: n / took[0].Seconds(), Unit: "MB/s"}, nil)
	rep.Add(benchkit.Result{Bench: "log writers alone", Case: cas + ", plain + encrypted log", Metric: "rate", Value: n / took[1].Seconds(), Unit: "MB/s",
		Note: fmt.Sprintf("encryption adds %.2f ms per MB", benchkit.Millis(took[1]-took[0])/n)}, nil)
	return nil
}

// overhead reports the bytes of the encrypted log at path beyond the
// output it records (output bytes), and beyond the asciicast text its
// segments decrypt to.
func overhead(rep *benchkit.Report, what, path string, output int64, k key) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	l, err := castlog.Scan(f, fi.Size())
	if err != nil {
		return err
	}
	var text int64
	for _, s := range l.Segments {
		r, err := age.Decrypt(io.NewSectionReader(f, s.Offset+segmentHeaderLen, s.Length-segmentHeaderLen), k.identities()...)
		if err != nil {
			return fmt.Errorf("decrypt segment at %d: %w", s.Offset, err)
		}
		n, err := io.Copy(io.Discard, r)
		if err != nil {
			return fmt.Errorf("decrypt segment at %d: %w", s.Offset, err)
		}
		text += n
	}
	mib := float64(output) / (1 << 20)
	cas := fmt.Sprintf("%s: %.1f MiB of output, %d segments", what, mib, len(l.Segments))
	rep.Add(benchkit.Result{Bench: "ciphertext overhead", Case: cas, Metric: "file beyond the output", Value: float64(fi.Size()-output) / mib, Unit: "B/MiB",
		Note: fmt.Sprintf("%.2f %%: asciicast JSON, segment headers, index and age", 100*float64(fi.Size()-output)/float64(output))}, nil)
	rep.Add(benchkit.Result{Bench: "ciphertext overhead", Case: cas, Metric: "file beyond its plaintext", Value: float64(fi.Size()-text) / mib, Unit: "B/MiB",
		Note: fmt.Sprintf("%.3f %%: age's headers and tags, segment headers and index; %.0f B a segment", 100*float64(fi.Size()-text)/float64(text), float64(fi.Size()-text)/float64(max(1, len(l.Segments))))}, nil)
	return nil
}

// segmentHeaderLen is the clear header before each segment's age file
// (castlog/doc.go).
const segmentHeaderLen = 40

// syntheticFrames returns frames of size bytes of base64-like text, n bytes
// in all, a millisecond apart.
func syntheticFrames(n, size int) []runner.Frame {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	buf := make([]byte, n)
	_, _ = rand.Read(buf)
	for i := range buf {
		buf[i] = alphabet[buf[i]&63]
	}
	t0 := time.Now()
	var frames []runner.Frame
	for off, seq := 0, uint64(1); off < n; off, seq = off+size, seq+1 {
		end := min(off+size, n)
		frames = append(frames, runner.Frame{Seq: seq, Time: t0.Add(time.Duration(seq) * time.Millisecond), Data: buf[off:end]})
	}
	return frames
}

func randomFile(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.CopyN(f, rand.Reader, int64(n)); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func base64Len(n int) int { return (n + 2) / 3 * 4 }

// cpuTime is this process's user and system CPU so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
