package castlog

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkOverhead reports what the format costs in bytes, per MiB of a
// job's output (coloured build lines in 4 KiB frames): "text-B/MiB" is
// the asciicast text (JSON escaping and the event framing), "cipher-B/MiB"
// the file's bytes beyond that text (age's headers and tags, the segment
// headers, the index), "file-B/MiB" the file's size.
func BenchmarkOverhead(b *testing.B) {
	id, rcp := newKey(b)
	const total = 16 << 20
	frame := make([]byte, 0, 4<<10)
	for i := 0; len(frame) < cap(frame); i++ {
		frame = fmt.Appendf(frame, "\x1b[32m[%06d]\x1b[0m compiling github.com/runlet/runlet/pkg%d ... ok\r\n", i, i%97)
	}
	frame = frame[:4<<10]
	var (
		size, text int64
		path       string
	)
	for b.Loop() {
		path = filepath.Join(b.TempDir(), "ex.rcast")
		h := normalize(testHeader())
		w, err := Create(path, rcp, h)
		if err != nil {
			b.Fatal(err)
		}
		text = int64(len(appendHeaderLine(nil, h)))
		var line []byte
		for seq := uint64(1); seq <= total/uint64(len(frame)); seq++ {
			if err := w.WriteFrame(seq, frameAt(seq), frame); err != nil {
				b.Fatal(err)
			}
			line = appendEvent(line[:0], seq, frameAt(seq).Sub(h.Timestamp), frame)
			text += int64(len(line))
		}
		if err := w.Close(false); err != nil {
			b.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			b.Fatal(err)
		}
		size = fi.Size()
	}
	if _, _, events := openLog(b, path, id); len(events) != total/len(frame) || joined(events) != string(bytes.Repeat(frame, len(events))) {
		b.Fatal("the log does not read back")
	}
	const mib = float64(total) / (1 << 20)
	b.ReportMetric(float64(text-total)/mib, "text-B/MiB")
	b.ReportMetric(float64(size-text)/mib, "cipher-B/MiB")
	b.ReportMetric(float64(size)/mib, "file-B/MiB")
	b.ReportMetric(0, "ns/op")
}
