package runner

import "github.com/runlet/runlet/home"

// LogStore keeps the logs of executions: the runner writes every frame of
// an execution to its log before any viewer sees it, and reads the log back
// to replay frames it no longer holds in memory. The default is FileLogs;
// Config.Logs replaces it (a log encrypted as it is written).
type LogStore interface {
	// Create starts the log of execution id; it fails if that log exists.
	Create(id string) (FrameWriter, error)
	// Open reads the log of execution id from its first frame. The error
	// wraps fs.ErrNotExist when there is no such log.
	//
	// Open may be called while the log is being written. The runner then
	// asks the reader only for frames that have left its memory (more than
	// Config.RingBytes of output came after them); when the reader ends
	// before such a frame, the runner opens the log again, once.
	Open(id string) (FrameReader, error)
}

// FrameReader reads an execution's frames back, in order.
type FrameReader interface {
	// Next returns the next frame, or io.EOF after the last one. A log cut
	// short mid-frame (a crash) is an error wrapping io.ErrUnexpectedEOF.
	Next() (Frame, error)
	Close() error
}

var (
	_ LogStore    = FileLogs{}
	_ FrameReader = (*LogReader)(nil)
)

// FileLogs is the default LogStore: the log of execution id is the file
// home.LogFile names in Dir (<Dir>/<id>.log), written by CreateLog and read
// by OpenLog.
type FileLogs struct {
	Dir string
}

// Path is where the log of execution id is, "" for an id that cannot name
// a file in Dir.
func (l FileLogs) Path(id string) string {
	p, err := home.LogFile(l.Dir, id)
	if err != nil {
		return ""
	}
	return p
}

// Create creates the log file of execution id. EINVALID: an id that
// cannot name a file in Dir.
func (l FileLogs) Create(id string) (FrameWriter, error) {
	p, err := home.LogFile(l.Dir, id)
	if err != nil {
		return nil, err
	}
	w, err := CreateLog(p)
	if err != nil {
		return nil, err // not a nil *LogWriter in a non-nil FrameWriter
	}
	return w, nil
}

// Open opens the log file of execution id for reading. EINVALID: an id
// that cannot name a file in Dir.
func (l FileLogs) Open(id string) (FrameReader, error) {
	p, err := home.LogFile(l.Dir, id)
	if err != nil {
		return nil, err
	}
	r, err := OpenLog(p)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// PlainLog is a FrameWriter of a LogStore that writes the log file of
// FileLogs as a LogWriter does, and something else besides (the daemon's
// encrypted log): the runner reads frames back from that file at their
// offsets, as for FileLogs, rather than through LogStore.Open from the
// first frame.
type PlainLog interface {
	FrameWriter
	// PlainLog is the writer of the log file, nil when there is none.
	PlainLog() *LogWriter
}

// fileOf is the LogWriter of w's log file, nil when w writes none.
func fileOf(w FrameWriter) *LogWriter {
	switch l := w.(type) {
	case *LogWriter:
		return l
	case PlainLog:
		return l.PlainLog()
	}
	return nil
}
