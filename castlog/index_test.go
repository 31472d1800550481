package castlog

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/runlet/runlet"
)

// completeLog writes a complete log of segments × 3 frames ("frame N").
func completeLog(t testing.TB, rcp []age.Recipient, segments int) (string, []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ex1.rcast")
	w, err := Create(path, rcp, testHeader())
	if err != nil {
		t.Fatal(err)
	}
	for i := range segments {
		first := uint64(3*i + 1)
		writeFrames(t, w, first, repeatFrames(3, func(j int) string { return fmt.Sprintf("frame %d\r\n", first+uint64(j)) }))
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(false); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, b
}

// TestIndexDamage: an index that disagrees with itself or with the file
// is refused, EINVALID with a sentence; the log is not read as if whole.
func TestIndexDamage(t *testing.T) {
	_, rcp := newKey(t)
	_, clean := completeLog(t, rcp, 4)
	size := int64(len(clean))
	at := int64(binary.BigEndian.Uint64(clean[size-trailerLen:]))
	entry := func(i int) int64 { return at + indexHeadLen + int64(i)*entryLen }
	tests := []struct {
		name   string
		change func(b []byte) []byte
	}{
		{"trailer points outside", func(b []byte) []byte { binary.BigEndian.PutUint64(b[size-trailerLen:], uint64(size)); return b }},
		{"trailer points into a segment", func(b []byte) []byte { binary.BigEndian.PutUint64(b[size-trailerLen:], uint64(at-40)); return b }},
		{"trailer points at 0", func(b []byte) []byte { binary.BigEndian.PutUint64(b[size-trailerLen:], 0); return b }},
		{"count too high", func(b []byte) []byte { binary.BigEndian.PutUint32(b[at+4:], 5); return b }},
		{"count huge", func(b []byte) []byte { binary.BigEndian.PutUint32(b[at+4:], 0xFFFFFFFF); return b }},
		{"count zero", func(b []byte) []byte { binary.BigEndian.PutUint32(b[at+4:], 0); return b }},
		{"first offset", func(b []byte) []byte { binary.BigEndian.PutUint64(b[entry(0):], 9); return b }},
		{"offsets swapped", func(b []byte) []byte {
			e1, e2 := bytes.Clone(b[entry(1):entry(1)+8]), bytes.Clone(b[entry(2):entry(2)+8])
			copy(b[entry(1):], e2)
			copy(b[entry(2):], e1)
			return b
		}},
		{"offset past the index", func(b []byte) []byte { binary.BigEndian.PutUint64(b[entry(3):], uint64(at+1)); return b }},
		{"frames overlap", func(b []byte) []byte { binary.BigEndian.PutUint64(b[entry(2)+8:], 5); return b }},
		{"frames missing", func(b []byte) []byte { binary.BigEndian.PutUint64(b[entry(2)+8:], 8); return b }},
		{"first after last", func(b []byte) []byte { binary.BigEndian.PutUint64(b[entry(1)+16:], 3); return b }},
		{"time goes back", func(b []byte) []byte { binary.BigEndian.PutUint64(b[entry(2)+24:], 1); return b }},
		{"no ridx", func(b []byte) []byte { b[at] = 'X'; return b }},
		{"extra bytes before the trailer", func(b []byte) []byte {
			return append(append(b[:size-trailerLen:size-trailerLen], 0, 0, 0, 0), clean[size-trailerLen:]...)
		}},
		{"not a log", func(b []byte) []byte { b[0] = 'X'; return b }},
		{"only the magic's start", func(b []byte) []byte { return b[:5] }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.change(bytes.Clone(clean))
			l, err := Scan(bytes.NewReader(b), int64(len(b)))
			if runlet.ErrorCode(err) != runlet.EINVALID {
				t.Fatalf("Scan: %v (%+v), want EINVALID", err, l)
			}
			if msg := err.Error(); !strings.Contains(msg, "damaged") && !strings.Contains(msg, "not a run log") {
				t.Errorf("message %q does not say what is wrong", msg)
			}
		})
	}
}

func TestFind(t *testing.T) {
	_, rcp := newKey(t)
	_, b := completeLog(t, rcp, 4) // frames 1-3, 4-6, 7-9, 10-12
	l, err := Scan(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	for seq, want := range map[uint64]int{0: 0, 1: 0, 3: 0, 4: 1, 6: 1, 7: 2, 12: 3, 13: 4, 1000: 4} {
		if got := l.Find(seq); got != want {
			t.Errorf("Find(%d) = %d, want %d", seq, got, want)
		}
	}
	for at, want := range map[time.Time]int{
		{}:                               0,
		t0:                               0,
		frameAt(3):                       0,
		frameAt(3).Add(time.Millisecond): 1,
		frameAt(6):                       1,
		frameAt(12):                      3,
		frameAt(13):                      4,
	} {
		if got := l.FindTime(at); got != want {
			t.Errorf("FindTime(%v) = %d, want %d", at, got, want)
		}
	}
	empty := &Log{Segments: []Segment{{Offset: 8, Length: 100}}}
	if empty.Find(1) != 1 || empty.FindTime(t0) != 1 {
		t.Error("a log of the header line alone finds a frame")
	}
}

// TestExport: the export is an asciicast v2 file: a header object, then
// [time, "o", data] events.
func TestExport(t *testing.T) {
	id, rcp := newKey(t)
	_, b := completeLog(t, rcp, 3)
	for _, since := range []uint64{0, 1, 5, 9, 10} {
		t.Run(fmt.Sprint("since ", since), func(t *testing.T) {
			var out bytes.Buffer
			if err := Export(&out, bytes.NewReader(b), int64(len(b)), []age.Identity{id}, since); err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(&out)
			if !sc.Scan() {
				t.Fatal("no header line")
			}
			var h map[string]any
			if err := json.Unmarshal(sc.Bytes(), &h); err != nil || h["version"] != 2.0 || h["width"] != 120.0 || h["timestamp"] != float64(t0.Unix()) {
				t.Fatalf("header %s: %v", sc.Bytes(), err)
			}
			want := max(since, 1)
			for sc.Scan() {
				var ev []any
				if err := json.Unmarshal(sc.Bytes(), &ev); err != nil || len(ev) != 3 || ev[1] != "o" {
					t.Fatalf("event %s: %v", sc.Bytes(), err)
				}
				if d, _ := ev[0].(float64); d != frameAt(want).Sub(t0).Seconds() {
					t.Errorf("event time %v, want %v", ev[0], frameAt(want).Sub(t0).Seconds())
				}
				if ev[2] != fmt.Sprintf("frame %d\r\n", want) {
					t.Errorf("event %q, want frame %d", ev[2], want)
				}
				want++
			}
			if want != 10 {
				t.Errorf("exported up to frame %d, want 9", want-1)
			}
		})
	}
	other, _ := newKey(t)
	if err := Export(&bytes.Buffer{}, bytes.NewReader(b), int64(len(b)), []age.Identity{other}, 0); !errors.Is(err, ErrNoIdentity) {
		t.Errorf("Export with another key: %v, want ErrNoIdentity", err)
	}
}

// TestConcurrentWriter flushes from other goroutines while frames are
// written, with the age timer sealing too (run with -race).
func TestConcurrentWriter(t *testing.T) {
	id, rcp := newKey(t)
	path := filepath.Join(t.TempDir(), "ex1.rcast")
	w, err := Create(path, rcp, testHeader())
	if err != nil {
		t.Fatal(err)
	}
	w.setLimits(2<<10, time.Millisecond)
	var wg sync.WaitGroup
	done := make(chan struct{})
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				if err := w.Flush(); err != nil {
					t.Error(err)
					return
				}
				_ = w.LastSeq()
			}
		})
	}
	const n = 500
	writeFrames(t, w, 1, repeatFrames(n, func(i int) string { return fmt.Sprintf("%d ", i) }))
	close(done)
	wg.Wait()
	if err := w.Close(false); err != nil {
		t.Fatal(err)
	}
	_, _, events := openLog(t, path, id)
	if len(events) != n {
		t.Fatalf("%d events, want %d", len(events), n)
	}
}

// TestIndexCut: a log cut inside its index (the writer died writing it)
// reads as its segments, torn, and Resume completes it again.
func TestIndexCut(t *testing.T) {
	id, rcp := newKey(t)
	path, clean := completeLog(t, rcp, 2)
	size := int64(len(clean))
	at := int64(binary.BigEndian.Uint64(clean[size-trailerLen:]))
	for n := at; n < size; n++ {
		l, err := Scan(bytes.NewReader(clean[:n]), n)
		if err != nil || len(l.Segments) != 2 || l.Complete || l.Torn != (n > at) {
			t.Fatalf("cut at %d: %+v, %v; want 2 segments, torn", n, l, err)
		}
	}
	if err := os.Truncate(path, at+20); err != nil {
		t.Fatal(err)
	}
	w, err := Resume(path, rcp, testHeader())
	if err != nil {
		t.Fatal(err)
	}
	writeFrames(t, w, 7, [][]byte{[]byte("frame 7\r\n")})
	if err := w.Close(true); err != nil {
		t.Fatal(err)
	}
	l, _, events := openLog(t, path, id)
	if !l.Complete || !l.Interrupted || len(events) != 7 {
		t.Errorf("%d events, complete %v, interrupted %v", len(events), l.Complete, l.Interrupted)
	}
}
