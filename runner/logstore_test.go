package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/runlet/runlet"
)

// memLogs is a LogStore in memory, standing for a log kept other than in a
// plain file (encrypted, uploaded). Its readers see the frames written
// before they were opened, no later ones.
type memLogs struct {
	mu    sync.Mutex
	logs  map[string]*memLog
	opens int
}

type memLog struct {
	mu     sync.Mutex
	frames []Frame
	closed bool
}

func (m *memLogs) Create(id string) (FrameWriter, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.logs[id] != nil {
		return nil, fmt.Errorf("log %s exists", id)
	}
	l := &memLog{}
	m.logs[id] = l
	return l, nil
}

func (m *memLogs) Open(id string) (FrameReader, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.logs[id]
	if l == nil {
		return nil, fmt.Errorf("open log %s: %w", id, fs.ErrNotExist)
	}
	m.opens++
	return &memReader{frames: l.written()}, nil
}

func (m *memLogs) log(id string) *memLog {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.logs[id]
}

func (m *memLogs) openCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.opens
}

func (l *memLog) WriteFrame(fr Frame) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return errors.New("write to a closed log")
	}
	if want := uint64(len(l.frames)) + 1; fr.Seq != want {
		return fmt.Errorf("frame %d out of order, want %d", fr.Seq, want)
	}
	l.frames = append(l.frames, fr)
	return nil
}

func (l *memLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	return nil
}

func (l *memLog) written() []Frame {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.frames)
}

func (l *memLog) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

type memReader struct{ frames []Frame }

func (r *memReader) Next() (Frame, error) {
	if len(r.frames) == 0 {
		return Frame{}, io.EOF
	}
	fr := r.frames[0]
	r.frames = r.frames[1:]
	return fr, nil
}

func (r *memReader) Close() error { return nil }

// Config.Logs takes the place of the log files: every frame goes through
// it, and replays of frames the ring has let go (during the run and after
// the end) and ReadLog read them back from it.
func TestLogStore(t *testing.T) {
	logs := &memLogs{logs: map[string]*memLog{}}
	// No LogDir: the store is the only place the output goes. A ring of
	// one byte keeps only the last frame in memory.
	r, err := New(Config{Logs: logs, TempDir: t.TempDir(), RingBytes: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	e := enqueue(t, r, Spec{Script: `echo one; read -r x; echo "two $x"`})
	live := watch(t, e)
	live.waitFor(t, "one\r\n")

	// A viewer joining now finds the command line only in the store.
	c := e.Frames(1)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	first, err := c.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if first.Seq != 1 || logs.openCount() == 0 {
		t.Fatalf("first frame %d, %d opens of the store", first.Seq, logs.openCount())
	}

	if err := e.Input([]byte("go\r")); err != nil {
		t.Fatal(err)
	}
	if end := waitDone(t, e); end.Status != runlet.StatusFinished {
		t.Fatalf("end state %+v", end)
	}
	liveFrames := live.all(t)
	// The same viewer reads on past what its reader had seen: the store is
	// opened again.
	opens := logs.openCount()
	got := []Frame{first}
	for {
		fr, err := c.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fr)
	}
	if logs.openCount() == opens {
		t.Error("the viewer did not open the store again for the frames written after it opened it")
	}

	stored := logs.log(e.ID())
	if !stored.isClosed() {
		t.Error("the runner did not close the log")
	}
	want := stored.written()
	if string(want[len(want)-1].Data) != "\r\nExited with code: 0\r\n" {
		t.Fatalf("the store lacks the exit line: %q", want[len(want)-1].Data)
	}
	sameFrames(t, "live", liveFrames, want)
	sameFrames(t, "viewer that joined during the run", got, want)
	sameFrames(t, "replay after the end", frames(t, e, 2), want[1:])

	l, err := r.ReadLog(e.ID())
	if err != nil {
		t.Fatal(err)
	}
	var read []Frame
	for {
		fr, err := l.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		read = append(read, fr)
	}
	l.Close()
	sameFrames(t, "ReadLog", read, want)

	if p := e.LogPath(); p != "" {
		t.Errorf("LogPath %q for a log that is not a file", p)
	}
	if _, err := r.ReadLog("unknown"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadLog of an unknown execution: %v", err)
	}
	if _, err := r.ReadLog("../x"); runlet.ErrorCode(err) != runlet.EINVALID {
		t.Errorf("ReadLog of a bad id: %v", err)
	}
}

// ReadLog of the default store reads the log file an earlier runner of the
// same directory wrote.
func TestReadLogOfAnEarlierRunner(t *testing.T) {
	dir := t.TempDir()
	first := newRunner(t, Config{LogDir: dir})
	e := enqueue(t, first, Spec{Script: "echo hello"})
	waitDone(t, e)
	want := frames(t, e, 1)
	first.Close()

	r := newRunner(t, Config{LogDir: dir})
	l, err := r.ReadLog(e.ID())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var got []Frame
	for {
		fr, err := l.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fr)
	}
	sameFrames(t, "ReadLog", got, want)
	path := FileLogs{Dir: dir}.Path(e.ID())
	if _, err := os.Stat(path); err != nil || e.LogPath() != path {
		t.Errorf("log file %s (LogPath %s): %v", path, e.LogPath(), err)
	}
}

// plainWrapped is a LogStore that writes the files of FileLogs and, as the
// daemon's encrypted log does, something besides; its writers say which
// LogWriter writes the file (PlainLog), and its Open is never needed.
type plainWrapped struct {
	FileLogs
	opens int
}

type wrappedWriter struct{ FrameWriter }

func (w wrappedWriter) PlainLog() *LogWriter { return w.FrameWriter.(*LogWriter) }

func (p *plainWrapped) Create(id string) (FrameWriter, error) {
	w, err := p.FileLogs.Create(id)
	if err != nil {
		return nil, err
	}
	return wrappedWriter{w}, nil
}

func (p *plainWrapped) Open(id string) (FrameReader, error) {
	p.opens++ // the run goroutine never calls it; only this test reads
	return p.FileLogs.Open(id)
}

// A store whose writers are PlainLog is read at the frames' offsets in
// the file, as FileLogs is, not from its first frame through Open.
func TestPlainLogReadAtOffsets(t *testing.T) {
	logs := &plainWrapped{FileLogs: FileLogs{Dir: t.TempDir()}}
	r := newRunner(t, Config{Logs: logs, RingBytes: 1})
	e := enqueue(t, r, Spec{Script: `for i in 1 2 3 4 5; do echo "line $i"; done`})
	if end := waitDone(t, e); end.Status != runlet.StatusFinished {
		t.Fatalf("end state %+v", end)
	}
	got := frames(t, e, 3)
	checkSeqs(t, got, 3)
	if logs.opens != 0 {
		t.Errorf("the store was opened %d times; the file should be read at its offsets", logs.opens)
	}
	if p := e.LogPath(); p != logs.Path(e.ID()) {
		t.Errorf("LogPath %q, want %q", p, logs.Path(e.ID()))
	}
}
