package daemon

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/castlog"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/runner"
)

// testLogs is a castLogs on a fresh home whose active key is a new one.
func testLogs(t *testing.T, dir home.Dir) (*castLogs, *age.X25519Identity) {
	t.Helper()
	// A key without its sealed half: scrypt is slow, and not what is tested.
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	rcp := id.Recipient().String()
	d := &Daemon{cfg: Config{Home: dir, Now: time.Now, Logger: slog.New(slog.DiscardHandler)}, log: slog.New(slog.DiscardHandler), device: "pi-1"}
	if err := d.openLogs(); err != nil {
		t.Fatal(err)
	}
	d.logs.keys.cur = logKey{Generation: 3, Recipient: rcp}
	return d.logs, id
}

func writeFrames(t *testing.T, w runner.FrameWriter, from, to uint64) {
	t.Helper()
	for seq := from; seq <= to; seq++ {
		if err := w.WriteFrame(runner.Frame{Seq: seq, Time: time.Now(), Data: fmt.Appendf(nil, "line %d\r\n", seq)}); err != nil {
			t.Fatal(err)
		}
	}
}

// readCast decrypts the encrypted log of exec and checks that it holds
// frames 1 to n in order.
func readCast(t *testing.T, dir home.Dir, exec string, id age.Identity, n uint64) *castlog.Log {
	t.Helper()
	path, _ := dir.CastPath(exec)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := bytes.NewReader(data)
	lg, err := castlog.Scan(r, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var last uint64
	for _, s := range lg.Segments {
		_, events, err := castlog.ReadSegment(r, s, []age.Identity{id})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			if e.Seq != last+1 || e.Data != fmt.Sprintf("line %d\r\n", e.Seq) {
				t.Fatalf("frame %d after %d: %q", e.Seq, last, e.Data)
			}
			last = e.Seq
		}
	}
	if last != n {
		t.Fatalf("the encrypted log holds frames 1 to %d, want 1 to %d", last, n)
	}
	return lg
}

// When the encrypted log fails mid-run (a full disk), the run goes on
// with its plaintext log, and the encrypted log is completed from it when
// the run ends: whole, and not marked interrupted.
func TestEncryptedLogFailureFallsBackOnPlaintext(t *testing.T) {
	dir := home.Dir(t.TempDir())
	l, id := testLogs(t, dir)
	fw, err := l.Create("x1")
	if err != nil {
		t.Fatal(err)
	}
	w := fw.(*castWriter)
	writeFrames(t, w, 1, 5)
	if err := w.cast.Abort(); err != nil { // its file is gone from under it
		t.Fatal(err)
	}
	writeFrames(t, w, 6, 9)
	if !w.failed || w.cast != nil {
		t.Fatal("a failing encrypted log was not given up")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	lg := readCast(t, dir, "x1", id, 9)
	if !lg.Complete || lg.Interrupted {
		t.Errorf("complete %v, interrupted %v; want a complete log of a run seen to its end", lg.Complete, lg.Interrupted)
	}
	e := queued(t, l, "x1")
	if e.State != runlet.LogUploaded || e.Generation != 3 {
		t.Errorf("queued %+v", e)
	}
	plain := l.plain.Path("x1")
	if _, err := os.Stat(plain); err != nil {
		t.Fatalf("the plaintext log went before the runner let the run go: %v", err)
	}
	l.release("x1")
	if _, err := os.Stat(plain); !os.IsNotExist(err) {
		t.Errorf("the plaintext log is still there after release: %v", err)
	}
}

func queued(t *testing.T, l *castLogs, exec string) upload {
	t.Helper()
	es, err := l.queue.list()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if e.Execution == exec {
			return e
		}
	}
	t.Fatalf("no upload queued for %s", exec)
	return upload{}
}

// What a kill -9 leaves (an encrypted log without an index, a plaintext
// log whose last frame is torn, a queue entry still "being written") is
// completed at the next start from the plaintext's whole frames, marked
// interrupted and queued; the plaintext goes. A log that was completed
// but whose plaintext was not removed yet only loses its plaintext.
func TestRecoverLogs(t *testing.T) {
	dir := home.Dir(t.TempDir())
	l, id := testLogs(t, dir)
	fw, err := l.Create("killed")
	if err != nil {
		t.Fatal(err)
	}
	w := fw.(*castWriter)
	writeFrames(t, w, 1, 3)
	if err := w.cast.Flush(); err != nil { // a sealed segment
		t.Fatal(err)
	}
	writeFrames(t, w, 4, 7)
	_ = w.cast.Abort()
	_ = w.plain.Close()
	plain := l.plain.Path("killed")
	f, err := os.OpenFile(plain, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.Write([]byte{0, 0, 0, 0, 0, 0, 0, 8, 1}) // frame 8, torn
	f.Close()

	done, err := l.Create("done")
	if err != nil {
		t.Fatal(err)
	}
	writeFrames(t, done, 1, 2)
	if err := done.Close(); err != nil {
		t.Fatal(err)
	}
	// Killed before release: the plaintext of "done" stays.

	l2, _ := testLogs(t, dir) // the next daemon, whose key is another
	l2.recoverLogs()
	lg := readCast(t, dir, "killed", id, 7)
	if !lg.Complete || !lg.Interrupted {
		t.Errorf("complete %v, interrupted %v; want a complete log marked interrupted", lg.Complete, lg.Interrupted)
	}
	if e := queued(t, l2, "killed"); e.State != runlet.LogInterrupted || e.Generation != 3 {
		t.Errorf("queued %+v; want interrupted, generation 3", e)
	}
	for _, x := range []string{"killed", "done"} {
		if _, err := os.Stat(l2.plain.Path(x)); !os.IsNotExist(err) {
			t.Errorf("the plaintext log of %s is still there: %v", x, err)
		}
	}
	readCast(t, dir, "done", id, 2)
	if e := queued(t, l2, "done"); e.State != runlet.LogUploaded {
		t.Errorf("queued %+v", e)
	}
	if names, _ := os.ReadDir(dir.LogDir()); len(names) != 2 {
		var s []string
		for _, n := range names {
			s = append(s, n.Name())
		}
		t.Errorf("log directory holds %s; want the two encrypted logs", strings.Join(s, ", "))
	}
}
