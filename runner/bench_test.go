package runner

import (
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/runlet/runlet"
)

// BenchmarkThroughput is the frame throughput: the output of
// `head -c 200M /dev/zero | base64` (287 MB once the terminal turns \n into
// \r\n) through the terminal, the log and a live viewer. The "no-newlines"
// case (base64 -w0) shows the ceiling without the terminal's per-line output
// processing, which is what bounds the first case.
//
//	go test -run='^$' -bench=Throughput -benchtime=3x ./runner
func BenchmarkThroughput(b *testing.B) {
	for _, c := range []struct{ name, script string }{
		{"base64", "head -c 200M /dev/zero | base64"},
		{"no-newlines", "head -c 200M /dev/zero | base64 -w0"},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := newRunner(b, Config{Parallel: 1})
			var body int64
			for b.Loop() {
				body = runToEnd(b, r, c.script)
			}
			b.SetBytes(body)
		})
	}
}

// runToEnd runs script with a viewer reading every frame and returns how
// many bytes the job printed.
func runToEnd(b *testing.B, r *Runner, script string) int64 {
	e := enqueue(b, r, Spec{Script: script, Entrypoint: []string{"/bin/sh"}})
	n, err := drain(e)
	if err != nil {
		b.Fatal(err)
	}
	if end := waitDone(b, e); end.Status != runlet.StatusFinished {
		b.Fatalf("end state %+v", end)
	}
	// Each log is ~290 MB: keep one at a time.
	if err := errors.Join(r.Remove(e.ID()), os.Remove(e.LogPath())); err != nil {
		b.Fatal(err)
	}
	return n
}

// drain reads every frame as a viewer would and counts the job's bytes (the
// command and exit lines left out).
func drain(e *Execution) (int64, error) {
	c := e.Frames(1)
	defer c.Close()
	var total, first, last int64
	for {
		fr, err := c.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return total - first - last, nil
		}
		if err != nil {
			return 0, err
		}
		if fr.Seq == 1 {
			first = int64(len(fr.Data))
		}
		last = int64(len(fr.Data))
		total += last
	}
}

// BenchmarkFirstOutput is the time from Enqueue to the first byte the job
// prints, reported as ms/first-byte: with the default login shell (whose
// profile the machine decides) and with a plain /bin/sh (the runner's own
// cost: script file, log, terminal, process start).
//
//	go test -run='^$' -bench=FirstOutput -benchtime=20x ./runner
func BenchmarkFirstOutput(b *testing.B) {
	for _, c := range []struct {
		name       string
		entrypoint []string
	}{
		{"login-bash", nil},
		{"sh", []string{"/bin/sh"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := newRunner(b, Config{Parallel: 1})
			var sum time.Duration
			for b.Loop() {
				start := time.Now()
				e := enqueue(b, r, Spec{Script: "echo x", Entrypoint: c.entrypoint})
				cur := e.Frames(2) // frame 1 is the command line
				if _, err := cur.Next(context.Background()); err != nil {
					b.Fatal(err)
				}
				sum += time.Since(start)
				cur.Close()
				waitDone(b, e)
			}
			b.ReportMetric(float64(sum.Microseconds())/1000/float64(b.N), "ms/first-byte")
		})
	}
}
