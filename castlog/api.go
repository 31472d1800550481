package castlog

// The package's API, fixed first so that the daemon, the CLI, the server
// and the benchmarks can be written against it.

import (
	"io"
	"time"

	"filippo.io/age"
)

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

// ---- Signatures the castlog helper implements (stubs until then). ----

// Writer writes one log file. WriteFrame, Flush and Close may be called
// from different goroutines; the age timer seals from its own.
type Writer struct{ _ int }

// Create creates the log file at path (mode 0600, failing if it exists)
// with the header line in its first segment, encrypting to recipients.
func Create(path string, recipients []age.Recipient, h Header) (*Writer, error) { panic(todo) }

// Resume opens the log at path that a dead writer left without an index:
// it cuts a torn tail off, and appends after its last whole segment. Its
// LastSeq says which frames the caller must write again (from the
// plaintext frame log). A log that has no segment at all is started anew
// with h.
func Resume(path string, recipients []age.Recipient, h Header) (*Writer, error) { panic(todo) }

// WriteFrame adds frame seq (which must follow the last one written) at
// time t, sealing the segment when it is full.
func (w *Writer) WriteFrame(seq uint64, t time.Time, data []byte) error { panic(todo) }

// LastSeq is the last frame written (sealed or not); 0 before any.
func (w *Writer) LastSeq() uint64 { panic(todo) }

// Flush seals the open segment, if it holds any frame, and syncs the file.
func (w *Writer) Flush() error { panic(todo) }

// Close seals the open segment, writes the index (interrupted: the run's
// end was not seen) and syncs and closes the file.
func (w *Writer) Close(interrupted bool) error { panic(todo) }

// Abort closes the file as it is, without sealing or indexing: what a
// crash would leave (tests, and a run whose log cannot go on).
func (w *Writer) Abort() error { panic(todo) }

// Path is the file's path.
func (w *Writer) Path() string { panic(todo) }

// Scan reads the layout of a log of size bytes: from its index, or by
// walking the headers when it has none. EINVALID (with a sentence naming
// the damage) for a file that is not a log or whose index is damaged.
func Scan(r io.ReaderAt, size int64) (*Log, error) { panic(todo) }

// Find returns the index of the segment holding frame seq, or of the
// first segment after it; len(Segments) when none.
func (l *Log) Find(seq uint64) int { panic(todo) }

// FindTime returns the index of the segment holding the output of time
// t, or the first after it; len(Segments) when none.
func (l *Log) FindTime(t time.Time) int { panic(todo) }

// ReadSegment decrypts segment s with identities and parses its text:
// the header (only in the first segment; nil in the others) and its
// events, checked against s (sequence numbers in order, within the
// header's). EINVALID with a clear sentence for a damaged segment; an
// error wrapping ErrNoIdentity when no identity opens it.
func ReadSegment(r io.ReaderAt, s Segment, identities []age.Identity) (*Header, []Event, error) { panic(todo) }

// Export writes the log as a standard asciicast v2 file (events of three
// elements), decrypting with identities, from frame since (0: all).
func Export(w io.Writer, r io.ReaderAt, size int64, identities []age.Identity, since uint64) error { panic(todo) }

// ErrNoIdentity: none of the identities opens a segment (the log is
// encrypted to another key generation, or the identity is wrong).
var ErrNoIdentity = errNoIdentity

// GenerateKey makes a new X25519 log key: its recipient ("age1…"), its
// identity sealed with passphrase (age scrypt, armored), and the identity.
func GenerateKey(passphrase string) (recipient, sealed string, id *age.X25519Identity, err error) {
	panic(todo)
}

// Seal encrypts identity with passphrase (age scrypt, armored).
func Seal(id *age.X25519Identity, passphrase string) (string, error) { panic(todo) }

// Unseal opens a sealed identity. An error wrapping ErrWrongPassphrase
// when passphrase does not open it; EINVALID for text that is not a
// sealed identity.
func Unseal(sealed, passphrase string) (*age.X25519Identity, error) { panic(todo) }

// ErrWrongPassphrase: the passphrase does not open a sealed identity.
var ErrWrongPassphrase = errWrongPassphrase

// ParseRecipient parses an age X25519 recipient, EINVALID when it is not one.
func ParseRecipient(s string) (*age.X25519Recipient, error) { panic(todo) }

const todo = "castlog: not built yet"
