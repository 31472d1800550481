package runner

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/runlet/runlet"
)

// randomFile writes n pseudo-random bytes (the same for every run) to a new
// file and returns its path and contents.
func randomFile(t testing.TB, n int) (string, []byte) {
	t.Helper()
	data := make([]byte, n)
	rng := rand.NewChaCha8([32]byte{'r', 'u', 'n', 'l', 'e', 't'})
	_, _ = rng.Read(data)
	path := filepath.Join(t.TempDir(), "data.bin")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, data
}

// The 50 MB job: every byte of its output is in the frames, live
// and replayed from the log. base64 -w0 prints no newline, so the terminal
// passes its output unchanged (it turns only \n into \r\n).
func TestFiftyMegabytesAllAccountedFor(t *testing.T) {
	path, data := randomFile(t, 37_500_000)
	want := []byte(base64.StdEncoding.EncodeToString(data))
	if len(want) != 50_000_000 {
		t.Fatalf("expected output is %d bytes", len(want))
	}
	wantSum := sha256.Sum256(want)

	r := newRunner(t, Config{RingBytes: 256 << 10})
	e := enqueue(t, r, Spec{Script: "base64 -w0 " + path, Entrypoint: []string{"/bin/sh"}})
	// A viewer from the start, reading as the job runs.
	type result struct {
		fs  []Frame
		err error
	}
	live := make(chan result, 1)
	go func() {
		fs, err := readFrames(e, 1)
		live <- result{fs, err}
	}()
	end := waitDone(t, e)
	if end.Status != runlet.StatusFinished || end.ExitCode != 0 {
		t.Fatalf("end state %+v", end)
	}
	res := <-live
	if res.err != nil {
		t.Fatal(res.err)
	}
	fs := res.fs
	checkSeqs(t, fs, 1)
	if got := e.LastSeq(); got != uint64(len(fs)) {
		t.Errorf("LastSeq %d, but %d frames came", got, len(fs))
	}
	if got := string(fs[len(fs)-1].Data); got != "\r\nExited with code: 0\r\n" {
		t.Errorf("last frame %q", got)
	}
	h, size := sha256.New(), 0
	for _, f := range fs[1 : len(fs)-1] {
		if len(f.Data) > readSize {
			t.Fatalf("frame %d holds %d bytes, more than %d", f.Seq, len(f.Data), readSize)
		}
		h.Write(f.Data)
		size += len(f.Data)
	}
	if !bytes.Equal(h.Sum(nil), wantSum[:]) {
		t.Fatalf("the frames hold %d bytes that differ from the %d expected", size, len(want))
	}
	t.Logf("%d bytes in %d frames", size, len(fs))

	// Replays of the ended execution come from the log file.
	rng := rand.New(rand.NewPCG(1, 2))
	for _, from := range []uint64{uint64(len(fs)), 1 + rng.Uint64N(uint64(len(fs)))} {
		sameFrames(t, fmt.Sprintf("replay from %d", from), frames(t, e, from), fs[from-1:])
	}
	sameFrames(t, "OpenLog", readLog(t, e.LogPath()), fs)
}

// sameFrames fails unless got and want hold the same frames.
func sameFrames(t testing.TB, what string, got, want []Frame) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d frames, want %d", what, len(got), len(want))
		return
	}
	for i := range got {
		if got[i].Seq != want[i].Seq || !bytes.Equal(got[i].Data, want[i].Data) {
			t.Errorf("%s: frame %d (seq %d) differs", what, i, want[i].Seq)
			return
		}
	}
}

func readLog(t testing.TB, path string) []Frame {
	t.Helper()
	l, err := OpenLog(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var out []Frame
	for {
		fr, err := l.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fr)
	}
}

// R-INT-3: a viewer that joins late replays from any sequence number,
// whether the ring still holds the frames or only the log does, and then
// follows live; a viewer that does not read never holds the job back.
func TestReplayFromRingAndLogWhileRunning(t *testing.T) {
	path, _ := randomFile(t, 600_000)
	r := newRunner(t, Config{RingBytes: 64 << 10})
	e := enqueue(t, r, Spec{Script: "base64 " + path + `; read -p "more? " x; echo "then $x"`})
	idle := e.Frames(1) // opened now, read only at the end
	defer idle.Close()
	live := watch(t, e)
	live.waitFor(t, "more? ")

	live.mu.Lock()
	seen := append([]Frame(nil), live.frames...)
	live.mu.Unlock()
	e.mu.Lock()
	first := e.ring.first()
	e.mu.Unlock()
	if first <= 2 {
		t.Fatalf("the ring still holds frame %d: the test needs more output to reach the log", first)
	}
	last := seen[len(seen)-1].Seq
	for _, from := range []uint64{1, first / 2, first - 1, first, (first + last) / 2, last} {
		c := e.Frames(from)
		got := make([]Frame, 0, last-from+1)
		for range last - from + 1 {
			fr, err := c.Next(context.Background())
			if err != nil {
				t.Fatalf("replay from %d: %v", from, err)
			}
			got = append(got, fr)
		}
		c.Close()
		checkSeqs(t, got, from)
		if !bytes.Equal(joined(got), joined(seen[from-1:])) {
			t.Errorf("replay from %d (ring starts at %d) differs from what the live viewer saw", from, first)
		}
	}

	if err := e.Input([]byte("yes\r")); err != nil {
		t.Fatal(err)
	}
	waitDone(t, e)
	all := live.all(t)
	if !bytes.Contains(joined(all), []byte("then yes\r\n")) {
		t.Errorf("the end of the output is missing:\n%q", joined(all[len(all)-3:]))
	}
	var slow []Frame
	for {
		fr, err := idle.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		slow = append(slow, fr)
	}
	if !bytes.Equal(joined(slow), joined(all)) {
		t.Error("the viewer that read late saw other bytes than the live one")
	}
	if !bytes.Equal(joined(readLog(t, e.LogPath())), joined(all)) {
		t.Error("the log differs from the live frames")
	}
}

// A cursor waiting for a frame gives up with its context.
func TestCursorFollowsContext(t *testing.T) {
	r := newRunner(t, Config{})
	e := enqueue(t, r, Spec{Script: `read -p "wait " x`})
	c := e.Frames(1)
	defer c.Close()
	watch(t, e).waitFor(t, "wait ")
	ctx, cancel := context.WithCancel(context.Background())
	n := e.LastSeq()
	for range n {
		if _, err := c.Next(ctx); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	if _, err := c.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Next with a cancelled context: %v", err)
	}
	if err := e.Input([]byte("\r")); err != nil {
		t.Fatal(err)
	}
	waitDone(t, e)
}

func TestLogFormatErrors(t *testing.T) {
	dir := t.TempDir()
	w, err := CreateLog(filepath.Join(dir, "x.log"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CreateLog(filepath.Join(dir, "x.log")); err == nil {
		t.Error("CreateLog overwrote an existing log")
	}
	if err := w.WriteFrame(Frame{Seq: 2, Data: []byte("x")}); err == nil {
		t.Error("a frame out of order was written")
	}
	for i := uint64(1); i <= 3; i++ {
		if err := w.WriteFrame(Frame{Seq: i, Data: bytes.Repeat([]byte{'a' + byte(i)}, int(i))}); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()

	full, err := os.ReadFile(w.Path())
	if err != nil {
		t.Fatal(err)
	}
	if got := readLog(t, w.Path()); len(got) != 3 || string(got[2].Data) != "ddd" {
		t.Errorf("read back %v", got)
	}
	cut := filepath.Join(dir, "cut.log")
	if err := os.WriteFile(cut, full[:len(full)-1], 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := OpenLog(cut)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var lastErr error
	for range 3 {
		if _, lastErr = l.Next(); lastErr != nil {
			break
		}
	}
	if !errors.Is(lastErr, io.ErrUnexpectedEOF) {
		t.Errorf("a cut log reads with %v, want io.ErrUnexpectedEOF", lastErr)
	}
	other := filepath.Join(dir, "other.log")
	if err := os.WriteFile(other, []byte("hello world"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenLog(other); err == nil {
		t.Error("a file that is not a log opens")
	}
}

// FuzzLogReader: a damaged or foreign log file never panics the reader nor
// makes it allocate without bound.
func FuzzLogReader(f *testing.F) {
	f.Add([]byte(logMagic))
	f.Add(appendRecord([]byte(logMagic), Frame{Seq: 1, Data: []byte("hi")}))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := NewLogReader(bytes.NewReader(b), "fuzz")
		if err != nil {
			return
		}
		for {
			if _, err := l.Next(); err != nil {
				return
			}
		}
	})
}
