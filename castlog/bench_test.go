package castlog_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/runlet/runlet/castlog"
	"github.com/runlet/runlet/runner"
)

// The cost of the encrypted log, as `go test -run '^$' -bench . ./castlog/`
// measures it on one core; bench/logs measures it through a real runner
// and server.

// termOutput is n bytes of what a build prints: coloured lines.
func termOutput(n int) []byte {
	b := make([]byte, 0, n+128)
	for i := 0; len(b) < n; i++ {
		b = fmt.Appendf(b, "\x1b[32m[%06d]\x1b[0m compiling github.com/runlet/runlet/pkg%d ... ok\r\n", i, i%97)
	}
	return b[:n]
}

func benchKey(b *testing.B) (*age.X25519Identity, []age.Recipient) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		b.Fatal(err)
	}
	return id, []age.Recipient{id.Recipient()}
}

// BenchmarkWriteFrames writes 4 KiB frames to the encrypted log and, as
// the baseline, to the runner's plaintext frame log (which the daemon
// keeps beside it during a run).
func BenchmarkWriteFrames(b *testing.B) {
	frame := termOutput(4 << 10)
	start := time.Now()
	b.Run("castlog", func(b *testing.B) {
		_, rcp := benchKey(b)
		w, err := castlog.Create(filepath.Join(b.TempDir(), "ex.rcast"), rcp, castlog.Header{Timestamp: start})
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(frame)))
		seq := uint64(0)
		for b.Loop() {
			seq++
			if err := w.WriteFrame(seq, start.Add(time.Duration(seq)*time.Microsecond), frame); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(false); err != nil {
			b.Fatal(err)
		}
	})
	b.Run("plain", func(b *testing.B) {
		w, err := runner.CreateLog(filepath.Join(b.TempDir(), "ex.log"))
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(frame)))
		seq := uint64(0)
		for b.Loop() {
			seq++
			if err := w.WriteFrame(runner.Frame{Seq: seq, Time: start, Data: frame}); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	})
}

// makeBigLog writes a log of 100 MB of output.
func makeBigLog(b *testing.B) (string, *age.X25519Identity) {
	id, rcp := benchKey(b)
	path := filepath.Join(b.TempDir(), "big.rcast")
	w, err := castlog.Create(path, rcp, castlog.Header{Timestamp: time.Now()})
	if err != nil {
		b.Fatal(err)
	}
	frame := termOutput(4 << 10)
	start := time.Now()
	for seq := uint64(1); seq <= 100<<20/uint64(len(frame)); seq++ {
		if err := w.WriteFrame(seq, start.Add(time.Duration(seq)*time.Microsecond), frame); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(false); err != nil {
		b.Fatal(err)
	}
	return path, id
}

// BenchmarkReadFirstScreen opens a 100 MB log and reads its first
// segment: what a reader does before the first screen shows.
func BenchmarkReadFirstScreen(b *testing.B) {
	path, id := makeBigLog(b)
	ids := []age.Identity{id}
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		fi, err := f.Stat()
		if err != nil {
			b.Fatal(err)
		}
		l, err := castlog.Scan(f, fi.Size())
		if err != nil {
			b.Fatal(err)
		}
		h, events, err := castlog.ReadSegment(f, l.Segments[0], ids)
		if err != nil || h == nil || len(events) == 0 {
			b.Fatalf("first segment: %v, %d events", err, len(events))
		}
		f.Close()
	}
}
