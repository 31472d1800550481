package runner

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/runlet/runlet"
)

// The execution log file, version 1. It starts with the 8 bytes of logMagic
// and holds one record per frame, in sequence order, with no gaps:
//
//	seq     uint64, big-endian; the first frame is 1
//	time    int64, big-endian, Unix nanoseconds
//	length  uint32, big-endian
//	data    length bytes, the terminal output as read
//
// A record is written with one write call before its frame becomes visible
// to any viewer, so after a crash the file holds every frame anyone saw and
// at most one partial record at the end.
const logMagic = "RUNLOG1\n"

const (
	recordHeaderLen = 20
	// maxFrameLen bounds what a reader allocates for one record of a damaged
	// or foreign file; the runner's frames are at most readSize bytes.
	maxFrameLen = 16 << 20
)

// FrameWriter records an execution's frames. The runner calls WriteFrame for
// every frame, in order, before any cursor can return it.
type FrameWriter interface {
	WriteFrame(Frame) error
	Close() error
}

var _ FrameWriter = (*LogWriter)(nil)

// LogWriter writes the log file of one execution and keeps, in memory, the
// offset of every record so that cursors can read old frames back.
type LogWriter struct {
	path string
	f    *os.File
	buf  []byte // header and data of the record being written

	mu      sync.Mutex
	offsets []int64 // offsets[seq-1] is where frame seq starts
	end     int64
}

// CreateLog creates a new log file at path; it fails if the file exists.
func CreateLog(path string) (*LogWriter, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, diskFull(path, fmt.Errorf("create log: %w", err))
	}
	if _, err := f.WriteString(logMagic); err != nil {
		f.Close()
		return nil, diskFull(path, fmt.Errorf("write log %s: %w", path, err))
	}
	return &LogWriter{path: path, f: f, end: int64(len(logMagic))}, nil
}

// Path is the log file's path.
func (w *LogWriter) Path() string { return w.path }

// WriteFrame appends fr; its Seq must follow the previous frame's.
func (w *LogWriter) WriteFrame(fr Frame) error {
	w.mu.Lock()
	next, off := uint64(len(w.offsets))+1, w.end
	w.mu.Unlock()
	if fr.Seq != next {
		return fmt.Errorf("write log %s: frame %d out of order, want %d", w.path, fr.Seq, next)
	}
	w.buf = appendRecord(w.buf[:0], fr)
	if _, err := w.f.Write(w.buf); err != nil {
		// Cut a partial record off (a full disk), so that a frame written
		// later, the exit line, follows the last whole one.
		if w.f.Truncate(off) == nil {
			_, _ = w.f.Seek(off, io.SeekStart)
		}
		return diskFull(w.path, fmt.Errorf("write log %s: %w", w.path, err))
	}
	w.mu.Lock()
	w.offsets = append(w.offsets, off)
	w.end += int64(len(w.buf))
	w.mu.Unlock()
	return nil
}

// Close closes the file. Offset keeps working, for readers of the file.
func (w *LogWriter) Close() error {
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("close log %s: %w", w.path, err)
	}
	return nil
}

// Offset returns where the record of frame seq starts in the file.
func (w *LogWriter) Offset(seq uint64) (int64, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if seq == 0 || seq > uint64(len(w.offsets)) {
		return 0, false
	}
	return w.offsets[seq-1], true
}

func appendRecord(b []byte, fr Frame) []byte {
	b = binary.BigEndian.AppendUint64(b, fr.Seq)
	b = binary.BigEndian.AppendUint64(b, uint64(fr.Time.UnixNano()))
	b = binary.BigEndian.AppendUint32(b, uint32(len(fr.Data)))
	return append(b, fr.Data...)
}

// parseHeader decodes a record header and checks its length.
func parseHeader(h []byte) (Frame, int, error) {
	fr := Frame{
		Seq:  binary.BigEndian.Uint64(h[0:8]),
		Time: time.Unix(0, int64(binary.BigEndian.Uint64(h[8:16]))),
	}
	n := binary.BigEndian.Uint32(h[16:20])
	if n > maxFrameLen {
		return fr, 0, fmt.Errorf("frame %d claims %d bytes, more than a log holds", fr.Seq, n)
	}
	return fr, int(n), nil
}

// readFrameAt reads the record that starts at off.
func readFrameAt(r io.ReaderAt, off int64) (Frame, error) {
	var h [recordHeaderLen]byte
	if _, err := r.ReadAt(h[:], off); err != nil {
		return Frame{}, err
	}
	fr, n, err := parseHeader(h[:])
	if err != nil {
		return Frame{}, err
	}
	fr.Data = make([]byte, n)
	if _, err := r.ReadAt(fr.Data, off+recordHeaderLen); err != nil {
		return Frame{}, err
	}
	return fr, nil
}

// LogReader reads a log from the start, for instance to replay an
// execution that a previous runner wrote.
type LogReader struct {
	name   string
	closer io.Closer
	r      *bufio.Reader
	last   uint64
}

// OpenLog opens the log file at path for reading.
func OpenLog(path string) (*LogReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	l, err := NewLogReader(f, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	l.closer = f
	return l, nil
}

// NewLogReader reads a log from r (a decrypting reader, a download); name
// is what errors call it.
func NewLogReader(r io.Reader, name string) (*LogReader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic := make([]byte, len(logMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != logMagic {
		return nil, fmt.Errorf("open log %s: not a runlet execution log", name)
	}
	return &LogReader{name: name, r: br}, nil
}

// Next returns the next frame, or io.EOF after the last one. A record cut
// short (the writer stopped mid-write) is an error wrapping
// io.ErrUnexpectedEOF.
func (l *LogReader) Next() (Frame, error) {
	var h [recordHeaderLen]byte
	if _, err := io.ReadFull(l.r, h[:]); err != nil {
		if err == io.EOF {
			return Frame{}, io.EOF
		}
		return Frame{}, l.damaged(err)
	}
	fr, n, err := parseHeader(h[:])
	if err != nil {
		return Frame{}, l.damaged(err)
	}
	if fr.Seq != l.last+1 {
		return Frame{}, l.damaged(fmt.Errorf("frame %d follows frame %d", fr.Seq, l.last))
	}
	// CopyN grows the buffer with the bytes actually there, so a damaged
	// length costs no more than the file holds.
	var data bytes.Buffer
	if _, err := io.CopyN(&data, l.r, int64(n)); err != nil {
		return Frame{}, l.damaged(err)
	}
	fr.Data = data.Bytes()
	l.last = fr.Seq
	return fr, nil
}

func (l *LogReader) damaged(err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("read log %s after frame %d: %w", l.name, l.last, err)
}

// Close closes the file OpenLog opened; it does nothing for NewLogReader.
func (l *LogReader) Close() error {
	if l.closer == nil {
		return nil
	}
	return l.closer.Close()
}

// diskFull names a full disk in err, an error writing the log at path, so
// that the execution's reason says what to free.
func diskFull(path string, err error) error {
	if runlet.IsDiskFull(err) {
		return runlet.DiskFull("the execution log at "+path, err)
	}
	return err
}

// cannotRecord is the reason of an execution whose output cannot be
// written to its log.
func cannotRecord(err error) string {
	if runlet.ErrorCode(err) == runlet.EFULL {
		return "cannot record the output: " + runlet.ErrorMessage(err)
	}
	return fmt.Sprintf("cannot record the output: %v", err)
}
