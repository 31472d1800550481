package castlog

// The package's types, fixed first so that the daemon, the CLI, the server
// and the benchmarks could be written against them. The functions are in
// writer.go, reader.go, export.go and keys.go.

import "time"

const (
	// MaxSegmentBytes is the most text a segment holds.
	MaxSegmentBytes = 1 << 20
	// MaxSegmentAge is the longest a frame waits to be sealed.
	MaxSegmentAge = 10 * time.Second
)

// Header is the recording's asciicast header.
type Header struct {
	Width, Height int       // 0 means 80×24
	Timestamp     time.Time // the run's start: event times count from it
	Title         string
	Execution     string
	Device        string // the device's name
	Job           string
}

// Event is one output event: a frame's text.
type Event struct {
	Seq  uint64
	Time time.Duration // since Header.Timestamp
	Data string
}

// Segment is one segment as the index or its header describes it.
type Segment struct {
	Offset   int64 // where its header starts
	Length   int64 // header and ciphertext
	FirstSeq uint64
	LastSeq  uint64
	Start    time.Time
	End      time.Time
}

// Log is the layout of a log file: its segments, in order.
type Log struct {
	Segments    []Segment
	Complete    bool // it ends with an index
	Interrupted bool // the index says the run's end was not seen
	Torn        bool // no index, and a segment cut short at the end
	Size        int64
}

// ErrNoIdentity: none of the identities opens a segment (the log is
// encrypted to another key generation, or the identity is wrong).
var ErrNoIdentity = errNoIdentity

// ErrWrongPassphrase: the passphrase does not open a sealed identity.
var ErrWrongPassphrase = errWrongPassphrase
