package castlog

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/internal/testenv"
)

// t0 is the runs' start in the tests.
var t0 = time.Date(2026, 12, 8, 1, 0, 0, 0, time.UTC)

func TestMain(m *testing.M) {
	scryptWorkFactor = 10 // sealing at age's cost takes a second a key
	os.Exit(m.Run())
}

// newKey returns a fresh identity and its recipient.
func newKey(t testing.TB) (*age.X25519Identity, []age.Recipient) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id, []age.Recipient{id.Recipient()}
}

func testHeader() Header {
	return Header{Width: 120, Height: 40, Timestamp: t0, Title: "deploy on pi-1", Execution: "ex1", Device: "pi-1", Job: "deploy"}
}

// frameAt is frame seq's time in the tests: 10 ms apart.
func frameAt(seq uint64) time.Time { return t0.Add(time.Duration(seq) * 10 * time.Millisecond) }

// writeFrames writes frames first, first+1, … with data.
func writeFrames(t testing.TB, w *Writer, first uint64, data [][]byte) {
	t.Helper()
	for i, d := range data {
		seq := first + uint64(i)
		if err := w.WriteFrame(seq, frameAt(seq), d); err != nil {
			t.Fatalf("WriteFrame(%d): %v", seq, err)
		}
	}
}

// openLog reads the whole log at path: its layout, header and events.
func openLog(t testing.TB, path string, id age.Identity) (*Log, *Header, []Event) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return readLog(t, b, id)
}

func readLog(t testing.TB, b []byte, id age.Identity) (*Log, *Header, []Event) {
	t.Helper()
	r := bytes.NewReader(b)
	l, err := Scan(r, int64(len(b)))
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	var (
		h      *Header
		events []Event
	)
	for i, s := range l.Segments {
		sh, ev, err := ReadSegment(r, s, []age.Identity{id})
		if err != nil {
			t.Fatalf("ReadSegment(%d): %v", i, err)
		}
		if (i == 0) != (sh != nil) {
			t.Fatalf("segment %d: header %v", i, sh)
		}
		if sh != nil {
			h = sh
		}
		events = append(events, ev...)
	}
	return l, h, events
}

// decoded is what a reader gets of stream: UTF-8, invalid bytes as U+FFFD,
// an incomplete character at the very end dropped.
func decoded(stream []byte) string {
	whole, _ := splitIncomplete(stream)
	return string([]rune(string(whole)))
}

func joined(events []Event) string {
	var sb strings.Builder
	for _, e := range events {
		sb.WriteString(e.Data)
	}
	return sb.String()
}

func TestRoundTrip(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 8<<10) // 128 KiB
	tests := []struct {
		name     string
		frames   [][]byte
		maxBytes int
	}{
		{name: "no frames"},
		{name: "one frame", frames: [][]byte{[]byte("hello\r\n")}},
		{name: "empty frames", frames: [][]byte{{}, []byte("a"), {}}},
		{name: "many small", frames: repeatFrames(2000, func(i int) string { return fmt.Sprintf("line %d\r\n", i) }), maxBytes: 4 << 10},
		{name: "escapes and controls", frames: [][]byte{[]byte("\x1b[31mred\x1b[0m \"q\" \\ \t\x00\x07\x7f é 漢字 😀 \u2028")}},
		{name: "invalid UTF-8", frames: [][]byte{{0xff, 'a', 0xc3, 0x28, 0xe2, 0x28, 0xa1}, {0x80, 0x80}, []byte("ok")}},
		{name: "incomplete at the end", frames: [][]byte{[]byte("ab"), {0xe2, 0x82}}},
		{name: "big frames", frames: [][]byte{big, big, []byte("x"), big}, maxBytes: 64 << 10},
		{name: "one segment per frame", frames: repeatFrames(50, func(i int) string { return strings.Repeat("z", i) }), maxBytes: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, rcp := newKey(t)
			path := filepath.Join(t.TempDir(), "ex1.rcast")
			w, err := Create(path, rcp, testHeader())
			if err != nil {
				t.Fatal(err)
			}
			if tt.maxBytes > 0 {
				w.setLimits(tt.maxBytes, time.Hour)
			}
			writeFrames(t, w, 1, tt.frames)
			if got := w.LastSeq(); got != uint64(len(tt.frames)) {
				t.Errorf("LastSeq = %d, want %d", got, len(tt.frames))
			}
			if err := w.Close(false); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("mode %v, want 0600", fi.Mode().Perm())
			}
			l, h, events := openLog(t, path, id)
			if !l.Complete || l.Interrupted || l.Torn {
				t.Errorf("Complete %v Interrupted %v Torn %v, want true false false", l.Complete, l.Interrupted, l.Torn)
			}
			want := testHeader()
			want.Timestamp = t0.Local()
			if *h != want {
				t.Errorf("header %+v, want %+v", *h, want)
			}
			if len(events) != len(tt.frames) {
				t.Fatalf("%d events, want %d", len(events), len(tt.frames))
			}
			for i, e := range events {
				seq := uint64(i + 1)
				if e.Seq != seq || e.Time != frameAt(seq).Sub(t0) {
					t.Errorf("event %d: seq %d time %v, want %d %v", i, e.Seq, e.Time, seq, frameAt(seq).Sub(t0))
				}
			}
			if got, want := joined(events), decoded(bytes.Join(tt.frames, nil)); got != want {
				t.Errorf("text %q…, want %q…", trim(got), trim(want))
			}
			if tt.maxBytes > 0 && tt.maxBytes < 1<<20 && len(l.Segments) < 2 {
				t.Errorf("%d segments, want several", len(l.Segments))
			}
		})
	}
}

func repeatFrames(n int, f func(i int) string) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = []byte(f(i))
	}
	return out
}

func trim(s string) string {
	if len(s) > 80 {
		return s[:80]
	}
	return s
}

// TestSplitUTF8 cuts a text at every byte into two frames: a character
// cut in two goes with the second frame.
func TestSplitUTF8(t *testing.T) {
	text := "hé漢😀!"
	id, rcp := newKey(t)
	dir := t.TempDir()
	for cut := 0; cut <= len(text); cut++ {
		path := filepath.Join(dir, fmt.Sprintf("%d.rcast", cut))
		w, err := Create(path, rcp, testHeader())
		if err != nil {
			t.Fatal(err)
		}
		writeFrames(t, w, 1, [][]byte{[]byte(text[:cut]), []byte(text[cut:])})
		if err := w.Close(false); err != nil {
			t.Fatal(err)
		}
		_, _, events := openLog(t, path, id)
		first := text[:cut]
		for len(first) > 0 && !utf8ValidEnd(first) {
			first = first[:len(first)-1]
		}
		if events[0].Data != first || events[1].Data != text[len(first):] {
			t.Errorf("cut at %d: events %q %q, want %q %q", cut, events[0].Data, events[1].Data, first, text[len(first):])
		}
	}
}

func utf8ValidEnd(s string) bool { return strings.ToValidUTF8(s, "\ufffd") == s }

func TestSegmentBySize(t *testing.T) {
	id, rcp := newKey(t)
	path := filepath.Join(t.TempDir(), "ex1.rcast")
	w, err := Create(path, rcp, testHeader())
	if err != nil {
		t.Fatal(err)
	}
	const maxBytes = 8 << 10
	w.setLimits(maxBytes, time.Hour)
	frame := bytes.Repeat([]byte("y"), 1000)
	writeFrames(t, w, 1, repeatFrames(100, func(int) string { return string(frame) }))
	// Sealed segments are in the file before Close: a crash keeps them.
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	l, err := Scan(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if l.Complete || l.Torn || len(l.Segments) < 10 {
		t.Fatalf("before Close: %d segments, complete %v torn %v; want at least 10, false, false", len(l.Segments), l.Complete, l.Torn)
	}
	if err := w.Close(false); err != nil {
		t.Fatal(err)
	}
	l, _, events := openLog(t, path, id)
	if len(events) != 100 {
		t.Fatalf("%d events, want 100", len(events))
	}
	for i, s := range l.Segments {
		if s.FirstSeq == 0 || s.LastSeq < s.FirstSeq {
			t.Errorf("segment %d: frames %d to %d", i, s.FirstSeq, s.LastSeq)
		}
		if !s.Start.Equal(frameAt(s.FirstSeq)) || !s.End.Equal(frameAt(s.LastSeq)) {
			t.Errorf("segment %d: times %v to %v, want %v to %v", i, s.Start, s.End, frameAt(s.FirstSeq), frameAt(s.LastSeq))
		}
		// A segment holds at most maxBytes of text plus the frame that
		// filled it: about 9 events of 1 KiB.
		if n := int(s.LastSeq - s.FirstSeq + 1); n > maxBytes/len(frame)+1 {
			t.Errorf("segment %d holds %d frames", i, n)
		}
	}
}

// TestSegmentByAge: a frame is sealed MaxSegmentAge after it was written,
// with no other write, Flush or Close.
func TestSegmentByAge(t *testing.T) {
	id, rcp := newKey(t)
	path := filepath.Join(t.TempDir(), "ex1.rcast")
	w, err := Create(path, rcp, testHeader())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	w.setLimits(MaxSegmentBytes, 20*time.Millisecond)
	writeFrames(t, w, 1, [][]byte{[]byte("first")})
	waitSegments(t, path, 1)
	writeFrames(t, w, 2, [][]byte{[]byte("second"), []byte("third")})
	waitSegments(t, path, 2)
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	l, _, events := openLog(t, path, id)
	if l.Complete || l.Torn || len(l.Segments) != 2 {
		t.Fatalf("%d segments, complete %v, torn %v; want 2, false, false", len(l.Segments), l.Complete, l.Torn)
	}
	if got := joined(events); got != "firstsecondthird" {
		t.Errorf("text %q", got)
	}
}

// waitSegments waits until the log at path holds n sealed segments.
func waitSegments(t *testing.T, path string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		l, err := Scan(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Segments) >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %d segments; the log has %d", n, len(l.Segments))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// crashedLog writes a log of several sealed segments and an unsealed one,
// and aborts it, as a killed daemon would leave it.
func crashedLog(t testing.TB, rcp []age.Recipient, segments int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ex1.rcast")
	w, err := Create(path, rcp, testHeader())
	if err != nil {
		t.Fatal(err)
	}
	seq := uint64(1)
	for i := range segments {
		writeFrames(t, w, seq, repeatFrames(i+1, func(j int) string { return fmt.Sprintf("segment %d frame %d\r\n", i, j) }))
		seq += uint64(i + 1)
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	writeFrames(t, w, seq, [][]byte{[]byte("never sealed")})
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestTornTail cuts a log at every byte of its last segment: it reads as
// its whole segments, torn.
func TestTornTail(t *testing.T) {
	id, rcp := newKey(t)
	b, err := os.ReadFile(crashedLog(t, rcp, 3))
	if err != nil {
		t.Fatal(err)
	}
	full, _, _ := readLog(t, b, id)
	if full.Torn || len(full.Segments) != 3 {
		t.Fatalf("%d segments, torn %v; want 3, false", len(full.Segments), full.Torn)
	}
	last := full.Segments[2]
	for n := last.Offset; n < int64(len(b)); n++ {
		cut := b[:n]
		r := bytes.NewReader(cut)
		l, err := Scan(r, n)
		if err != nil {
			t.Fatalf("cut at %d: %v", n, err)
		}
		if l.Torn != (n > last.Offset) || len(l.Segments) != 2 {
			t.Fatalf("cut at %d: %d segments, torn %v", n, len(l.Segments), l.Torn)
		}
		for i, s := range l.Segments {
			if s != full.Segments[i] {
				t.Fatalf("cut at %d: segment %d %+v, want %+v", n, i, s, full.Segments[i])
			}
			if (n-last.Offset)%16 != 0 {
				continue // decrypting at every cut is slow under -race
			}
			if _, _, err := ReadSegment(r, s, []age.Identity{id}); err != nil {
				t.Fatalf("cut at %d: segment %d: %v", n, i, err)
			}
		}
	}
}

func TestResume(t *testing.T) {
	id, rcp := newKey(t)
	path := crashedLog(t, rcp, 3) // frames 1 to 6 sealed, 7 lost
	// Tear the tail as well: Resume cuts it.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("rseg\x00\x00\x10")); err != nil {
		t.Fatal(err)
	}
	f.Close()

	w, err := Resume(path, rcp, testHeader())
	if err != nil {
		t.Fatal(err)
	}
	if got := w.LastSeq(); got != 6 {
		t.Fatalf("LastSeq = %d, want 6", got)
	}
	if err := w.WriteFrame(8, frameAt(8), nil); err == nil {
		t.Error("WriteFrame(8) after 6: no error")
	}
	writeFrames(t, w, 7, [][]byte{[]byte("seven"), []byte("eight")})
	if err := w.Close(true); err != nil {
		t.Fatal(err)
	}
	l, h, events := openLog(t, path, id)
	if !l.Complete || !l.Interrupted || len(l.Segments) != 4 {
		t.Errorf("%d segments, complete %v, interrupted %v; want 4, true, true", len(l.Segments), l.Complete, l.Interrupted)
	}
	if h == nil || h.Execution != "ex1" {
		t.Errorf("header %+v", h)
	}
	for i, e := range events {
		if e.Seq != uint64(i+1) || e.Time != frameAt(e.Seq).Sub(t0) {
			t.Errorf("event %d: seq %d time %v", i, e.Seq, e.Time)
		}
	}
	if len(events) != 8 || events[7].Data != "eight" {
		t.Errorf("%d events, last %+v", len(events), events[len(events)-1])
	}

	_, err = Resume(path, rcp, testHeader())
	if runlet.ErrorCode(err) != runlet.EINVALID || !strings.Contains(err.Error(), "complete") {
		t.Errorf("Resume of a complete log: %v, want EINVALID naming it complete", err)
	}
}

// TestResumeNoSegment: a log whose first segment was never sealed starts
// anew, with the header line.
func TestResumeNoSegment(t *testing.T) {
	for _, tail := range []string{"", "rseg", "rseg\x00\x00\x01\x00 and some"} {
		id, rcp := newKey(t)
		path := filepath.Join(t.TempDir(), "ex1.rcast")
		if err := os.WriteFile(path, []byte(magic+tail), 0o600); err != nil {
			t.Fatal(err)
		}
		w, err := Resume(path, rcp, testHeader())
		if err != nil {
			t.Fatal(err)
		}
		if w.LastSeq() != 0 {
			t.Errorf("LastSeq = %d", w.LastSeq())
		}
		writeFrames(t, w, 1, [][]byte{[]byte("one")})
		if err := w.Close(true); err != nil {
			t.Fatal(err)
		}
		_, h, events := openLog(t, path, id)
		if h == nil || len(events) != 1 || events[0].Data != "one" {
			t.Errorf("tail %q: header %v, events %+v", tail, h, events)
		}
	}
}

// TestDamagedSegment flips bytes in one segment: it is refused with a
// clear EINVALID, the others still read.
func TestDamagedSegment(t *testing.T) {
	id, rcp := newKey(t)
	path := crashedLog(t, rcp, 3)
	clean, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	l, err := Scan(bytes.NewReader(clean), int64(len(clean)))
	if err != nil {
		t.Fatal(err)
	}
	s := l.Segments[1]
	tests := []struct {
		name string
		at   int64 // in the segment
		want string
	}{
		{"ciphertext end", s.Length - 5, "is damaged"},
		{"ciphertext middle", s.Length - 20, "is damaged"},
		{"header MAC", headerLen + 150, "is damaged"},
		{"header's frame range", 10, "does not match"},
		{"age version line", headerLen + 3, "is damaged"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := bytes.Clone(clean)
			b[s.Offset+tt.at] ^= 0x55
			r := bytes.NewReader(b)
			_, _, err := ReadSegment(r, s, []age.Identity{id})
			if runlet.ErrorCode(err) != runlet.EINVALID || !strings.Contains(err.Error(), tt.want) || errors.Is(err, ErrNoIdentity) {
				t.Errorf("ReadSegment: %v, want EINVALID saying %q", err, tt.want)
			}
			for _, i := range []int{0, 2} {
				if _, _, err := ReadSegment(r, l.Segments[i], []age.Identity{id}); err != nil {
					t.Errorf("segment %d: %v", i, err)
				}
			}
		})
	}
}

func TestWrongIdentity(t *testing.T) {
	_, rcp := newKey(t)
	other, _ := newKey(t)
	path := crashedLog(t, rcp, 1)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := bytes.NewReader(b)
	l, err := Scan(r, int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	for _, ids := range [][]age.Identity{{other}, nil} {
		if _, _, err := ReadSegment(r, l.Segments[0], ids); !errors.Is(err, ErrNoIdentity) {
			t.Errorf("ReadSegment with %d identities: %v, want ErrNoIdentity", len(ids), err)
		}
	}
}

// TestTwoRecipients: a log encrypted to two generations reads with either.
func TestTwoRecipients(t *testing.T) {
	id1, r1 := newKey(t)
	id2, r2 := newKey(t)
	path := filepath.Join(t.TempDir(), "ex1.rcast")
	w, err := Create(path, append(r1, r2...), testHeader())
	if err != nil {
		t.Fatal(err)
	}
	writeFrames(t, w, 1, [][]byte{[]byte("both")})
	if err := w.Close(false); err != nil {
		t.Fatal(err)
	}
	for _, id := range []age.Identity{id1, id2} {
		if _, _, events := openLog(t, path, id); joined(events) != "both" {
			t.Errorf("events %+v", events)
		}
	}
}

func TestCreateRefuses(t *testing.T) {
	_, rcp := newKey(t)
	path := filepath.Join(t.TempDir(), "ex1.rcast")
	if _, err := Create(path, nil, testHeader()); runlet.ErrorCode(err) != runlet.EINVALID {
		t.Errorf("Create without recipients: %v, want EINVALID", err)
	}
	w, err := Create(path, rcp, testHeader())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Create(path, rcp, testHeader()); !errors.Is(err, os.ErrExist) {
		t.Errorf("Create over a log: %v, want ErrExist", err)
	}
	if err := w.WriteFrame(2, t0, nil); runlet.ErrorCode(err) != runlet.EINVALID {
		t.Errorf("WriteFrame(2) first: %v, want EINVALID", err)
	}
	if err := w.Close(false); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFrame(1, t0, nil); !errors.Is(err, os.ErrClosed) {
		t.Errorf("WriteFrame after Close: %v, want ErrClosed", err)
	}
	if err := w.Abort(); err != nil {
		t.Errorf("Abort after Close: %v", err)
	}
}

// TestDiskFull: a seal that finds the disk full fails with EFULL naming
// the log; the frames stay in memory, and are sealed once there is room.
func TestDiskFull(t *testing.T) {
	dir := testenv.SmallDisk(t, 4<<20)
	id, rcp := newKey(t)
	path := filepath.Join(dir, "ex1.rcast")
	w, err := Create(path, rcp, testHeader())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	w.setLimits(256<<10, time.Hour)
	writeFrames(t, w, 1, [][]byte{[]byte("before")})
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	free := testenv.FillDisk(t, dir, 0)
	frame := bytes.Repeat([]byte("x"), 64<<10)
	var full error
	seq := uint64(2)
	for ; seq < 10 && full == nil; seq++ {
		full = w.WriteFrame(seq, frameAt(seq), frame)
	}
	if full == nil { // the encoder may not have reached the seal yet
		full = w.Flush()
	}
	if runlet.ErrorCode(full) != runlet.EFULL || !strings.Contains(full.Error(), path) {
		t.Fatalf("WriteFrame on a full disk: %v, want EFULL naming %s", full, path)
	}
	free()
	writeFrames(t, w, seq, [][]byte{[]byte("after")})
	if err := w.Close(false); err != nil {
		t.Fatal(err)
	}
	_, _, events := openLog(t, path, id)
	if len(events) != int(seq) || events[0].Data != "before" || events[seq-1].Data != "after" {
		t.Errorf("%d events, want %d from before to after", len(events), seq)
	}
}

// TestTimesNeverGoBack: a clock set back, or a frame before the header's
// timestamp, gives the time before it, never a negative one.
func TestTimesNeverGoBack(t *testing.T) {
	id, rcp := newKey(t)
	path := filepath.Join(t.TempDir(), "ex1.rcast")
	w, err := Create(path, rcp, testHeader())
	if err != nil {
		t.Fatal(err)
	}
	times := []time.Time{t0.Add(-time.Hour), t0.Add(2 * time.Second), t0.Add(time.Second), t0.Add(3 * time.Second)}
	for i, at := range times {
		if err := w.WriteFrame(uint64(i+1), at, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(false); err != nil {
		t.Fatal(err)
	}
	_, _, events := openLog(t, path, id)
	want := []time.Duration{0, 2 * time.Second, 2 * time.Second, 3 * time.Second}
	for i, e := range events {
		if e.Time != want[i] {
			t.Errorf("event %d at %v, want %v", i, e.Time, want[i])
		}
	}
}
