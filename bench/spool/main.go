// Command spool measures the device's outbox of readings (telemetry/spool)
// as the targets ask, beside SQLite, the seed gateway's choice:
// the rate of fsynced appends from 1, 8 and 64 appenders; then it fills
// the outbox with a million readings as an outage would leave them and,
// in a fresh process as a restarted daemon would be, opens it, drains it
// (read + acknowledge, as the gateway does) and reports the process's
// memory with all of them pending and at its peak.
//
//	go run ./bench/spool [-n 1000000] [-size 50] [-batch 1000] [-read 1000] [-for 5s] [-sqlite=false] [--json]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/runlet/runlet/bench/internal/benchkit"
	"github.com/runlet/runlet/telemetry/spool"
)

// The targets.
const (
	targetDrainPerSec = 10_000 // ≥ 10× a live rate of 1,000 readings/s
	targetRSSMB       = 40     // the whole daemon with 1M readings pending
)

type options struct {
	N, Size, Batch, Read int
	Dir                  string
	Compare              bool          // also measure SQLite
	For                  time.Duration // each append-rate case
	drain                string        // the child's kind: spool or sqlite
}

// appender is what both outboxes offer the measures.
type appender interface {
	Append(ctx context.Context, recs ...[]byte) (uint64, error)
	Close() error
}

// measured is what the draining process reports to its parent.
type measured struct {
	OpenSeconds    float64 `json:"openSeconds"`
	Pending        uint64  `json:"pending"`
	DiskBytes      int64   `json:"diskBytes"`
	PendingRSSMB   float64 `json:"pendingRSSMB"`
	PendingHeapMB  float64 `json:"pendingHeapMB"`
	PendingSysMB   float64 `json:"pendingSysMB"`
	DrainPerSec    float64 `json:"drainPerSec"`
	DrainSeconds   float64 `json:"drainSeconds"`
	PeakRSSMB      float64 `json:"peakRSSMB"`
	DrainedRecords int     `json:"drainedRecords"`
}

func main() {
	var o options
	flag.IntVar(&o.N, "n", 1_000_000, "readings pending in the spool")
	flag.IntVar(&o.Size, "size", 50, "bytes of one reading")
	flag.IntVar(&o.Batch, "batch", 1000, "readings per Append while filling")
	flag.IntVar(&o.Read, "read", 1000, "readings per Read (and Ack) while draining")
	flag.StringVar(&o.Dir, "dir", "", "the spool's directory (a temporary one when empty)")
	flag.BoolVar(&o.Compare, "sqlite", true, "also measure the same with SQLite (WAL, synchronous FULL), the seed gateway's choice")
	flag.DurationVar(&o.For, "for", 5*time.Second, "how long each append-rate case runs")
	flag.StringVar(&o.drain, "drain-child", "", "internal: open, measure and drain -dir (spool or sqlite), print JSON")
	asJSON := benchkit.JSONFlag()
	flag.Parse()
	if o.drain != "" {
		m, err := drain(o)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		json.NewEncoder(os.Stdout).Encode(m)
		return
	}
	if err := run(o, *asJSON); err != nil {
		fmt.Fprintln(os.Stderr, "spool:", err)
		os.Exit(1)
	}
}

func run(o options, asJSON bool) error {
	if o.Dir == "" {
		d, err := os.MkdirTemp("", "spool-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		o.Dir = d
	}
	r := benchkit.NewReport("bench/spool")
	kinds := []string{"spool"}
	if o.Compare {
		kinds = append(kinds, "sqlite")
	}
	for _, kind := range kinds {
		if err := measure(r, o, kind); err != nil {
			return fmt.Errorf("%s: %w", kind, err)
		}
	}
	r.Note("spool: telemetry/spool with its defaults; sqlite: one table, WAL, synchronous FULL, one transaction per append, DELETE on acknowledgement")
	r.Note("append rate: %d-byte records, one per append, for %s per case; RSS: a fresh process that opens the outbox with everything pending (this program and the outbox, nothing else of the daemon)", o.Size, o.For)
	return r.Print(os.Stdout, asJSON)
}

// measure adds one outbox's results to r.
func measure(r *benchkit.Report, o options, kind string) error {
	dir := filepath.Join(o.Dir, kind)
	for _, appenders := range []int{1, 8, 64} {
		rate, err := appendRate(o, kind, filepath.Join(dir, fmt.Sprintf("rate%d", appenders)), appenders)
		if err != nil {
			return err
		}
		r.Add(benchkit.Result{Bench: "append, fsynced", Case: kind, Metric: fmt.Sprintf("%d appenders", appenders), Value: rate, Unit: "records/s"}, nil)
	}
	full := filepath.Join(dir, "full")
	fillRate, err := fill(o, kind, full)
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(exe, "-drain-child", kind, "-dir", full, "-read", strconv.Itoa(o.Read))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("the draining process: %w", err)
	}
	var m measured
	if err := json.Unmarshal(out, &m); err != nil {
		return fmt.Errorf("the draining process printed %q: %w", out, err)
	}
	cas := fmt.Sprintf("%s, %d × %d B", kind, o.N, o.Size)
	r.Add(benchkit.Result{Bench: "fill", Case: cas, Metric: "append", Value: fillRate, Unit: "records/s",
		Note: fmt.Sprintf("%d per append", o.Batch)}, nil)
	r.Add(benchkit.Result{Bench: "open", Case: cas, Metric: "recovery", Value: m.OpenSeconds * 1000, Unit: "ms",
		Note: fmt.Sprintf("%d pending, %.1f MB on disk", m.Pending, float64(m.DiskBytes)/1e6)}, nil)
	r.Add(benchkit.Result{Bench: "pending", Case: cas, Metric: "process RSS", Value: m.PendingRSSMB, Unit: "MB",
		Target: fmt.Sprintf("≤ %d (whole daemon)", targetRSSMB), Note: fmt.Sprintf("Go heap in use %.2f MB, Go sys %.1f MB", m.PendingHeapMB, m.PendingSysMB)},
		func(v float64) bool { return v <= targetRSSMB })
	r.Add(benchkit.Result{Bench: "drain", Case: cas, Metric: "read+ack", Value: m.DrainPerSec, Unit: "records/s",
		Target: fmt.Sprintf("≥ %d", targetDrainPerSec), Note: fmt.Sprintf("%d per read and ack, %.1f s", o.Read, m.DrainSeconds)},
		func(v float64) bool { return v >= targetDrainPerSec })
	r.Add(benchkit.Result{Bench: "drain", Case: cas, Metric: "peak RSS", Value: m.PeakRSSMB, Unit: "MB",
		Target: fmt.Sprintf("≤ %d (whole daemon)", targetRSSMB), Note: "VmHWM of the process that opened and drained"},
		func(v float64) bool { return v <= targetRSSMB })
	return nil
}

// openKind opens the outbox of kind in dir.
func openKind(kind, dir string) (appender, error) {
	if kind == "sqlite" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
		return openSQLite(dir)
	}
	return spool.Open(dir, spool.Options{})
}

// appendRate appends one record per append from appenders goroutines for
// o.For and returns the records/s.
func appendRate(o options, kind, dir string, appenders int) (float64, error) {
	ob, err := openKind(kind, dir)
	if err != nil {
		return 0, err
	}
	defer ob.Close()
	ctx, cancel := context.WithTimeout(context.Background(), o.For)
	defer cancel()
	data := []byte(strings.Repeat("r", o.Size))
	var n atomic.Int64
	errs := make(chan error, appenders)
	var wg sync.WaitGroup
	start := time.Now()
	for range appenders {
		wg.Go(func() {
			for ctx.Err() == nil {
				if _, err := ob.Append(context.Background(), data); err != nil {
					errs <- err
					return
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}
	return float64(n.Load()) / elapsed, nil
}

// fill appends o.N records of o.Size bytes, o.Batch per append.
func fill(o options, kind, dir string) (perSec float64, err error) {
	ob, err := openKind(kind, dir)
	if err != nil {
		return 0, err
	}
	defer ob.Close()
	recs := make([][]byte, o.Batch)
	for i := range recs {
		recs[i] = []byte(strings.Repeat("r", o.Size))
	}
	start := time.Now()
	for i := 0; i < o.N; i += o.Batch {
		if _, err := ob.Append(context.Background(), recs[:min(o.Batch, o.N-i)]...); err != nil {
			return 0, err
		}
	}
	return float64(o.N) / time.Since(start).Seconds(), nil
}

// drain is the fresh process: open, measure with everything pending,
// drain, measure the peak.
func drain(o options) (measured, error) {
	var m measured
	start := time.Now()
	ob, err := openKind(o.drain, o.Dir)
	if err != nil {
		return m, err
	}
	defer ob.Close()
	var pending func() (uint64, error)
	var drainAll func() (int, error)
	switch ob := ob.(type) {
	case *spool.Spool:
		pending = func() (uint64, error) { return ob.Stats().Pending, nil }
		drainAll = func() (int, error) { return drainSpool(ob, o.Read) }
		m.DiskBytes = ob.Stats().DiskBytes
	case *sqliteOutbox:
		pending = ob.pending
		drainAll = func() (int, error) { return ob.drain(o.Read) }
		if fi, err := os.Stat(filepath.Join(o.Dir, "outbox.db")); err == nil {
			m.DiskBytes = fi.Size()
		}
	}
	if m.Pending, err = pending(); err != nil {
		return m, err
	}
	m.OpenSeconds = time.Since(start).Seconds()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.PendingHeapMB, m.PendingSysMB = float64(ms.HeapInuse)/1e6, float64(ms.Sys)/1e6
	m.PendingRSSMB = procStatus("VmRSS")
	start = time.Now()
	if m.DrainedRecords, err = drainAll(); err != nil {
		return m, err
	}
	m.DrainSeconds = time.Since(start).Seconds()
	m.DrainPerSec = float64(m.DrainedRecords) / m.DrainSeconds
	m.PeakRSSMB = procStatus("VmHWM")
	return m, nil
}

// drainSpool reads and acknowledges n at a time, as the gateway does.
func drainSpool(s *spool.Spool, n int) (int, error) {
	total := 0
	after := uint64(0)
	for {
		recs, err := s.Read(after, n, 0)
		if err != nil {
			return total, err
		}
		if len(recs) == 0 {
			return total, nil
		}
		after = recs[len(recs)-1].Seq
		if err := s.Ack(after); err != nil {
			return total, err
		}
		total += len(recs)
	}
}

// procStatus reads a memory line of /proc/self/status, in MB.
func procStatus(field string) float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb * 1024 / 1e6
		}
	}
	return 0
}
