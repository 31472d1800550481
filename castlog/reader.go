package castlog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"time"

	"filippo.io/age"
)

// ScanFile is Scan of the log file at path. A damaged file's error names
// the file; a missing one wraps fs.ErrNotExist.
func ScanFile(path string) (*Log, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	l, err := Scan(f, fi.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return l, nil
}

// Scan reads the layout of a log of size bytes: from its index, or by
// walking the headers when it has none. EINVALID (with a sentence naming
// the damage) for a file that is not a log or whose index is damaged. It
// never allocates more than size bytes for what a length field says.
func Scan(r io.ReaderAt, size int64) (*Log, error) {
	if size < int64(len(magic)) {
		return nil, damaged("this is not a run log: it is %d bytes long, shorter than the %q it starts with", size, magic)
	}
	head := make([]byte, len(magic))
	if err := readAt(r, head, 0); err != nil {
		return nil, err
	}
	if string(head) != magic {
		return nil, damaged("this is not a run log: it does not start with %q", magic)
	}
	if size >= int64(len(magic)+trailerLen) {
		tail := make([]byte, trailerLen)
		if err := readAt(r, tail, size-trailerLen); err != nil {
			return nil, err
		}
		if string(tail[8:]) == trailerMagic {
			return scanIndex(r, size, binary.BigEndian.Uint64(tail))
		}
	}
	return walk(r, size)
}

// scanIndex reads the index that starts at at.
func scanIndex(r io.ReaderAt, size int64, at uint64) (*Log, error) {
	end := uint64(size - trailerLen) // where the trailer starts
	if at < uint64(len(magic)) || at > end || end-at < indexHeadLen {
		return nil, damaged("the log's index is damaged: its trailer points at byte %d, outside the log", at)
	}
	head := make([]byte, indexHeadLen)
	if err := readAt(r, head, int64(at)); err != nil {
		return nil, err
	}
	if string(head[:4]) != indexMagic {
		return nil, damaged("the log's index is damaged: there is no index at byte %d, where its trailer points", at)
	}
	count := uint64(binary.BigEndian.Uint32(head[4:]))
	flags := binary.BigEndian.Uint32(head[8:])
	if (end-at-indexHeadLen)%entryLen != 0 || (end-at-indexHeadLen)/entryLen != count {
		return nil, damaged("the log's index is damaged: it says %d segments, but holds %d bytes of entries", count, end-at-indexHeadLen)
	}
	entries := make([]byte, count*entryLen) // within size: checked above
	if err := readAt(r, entries, int64(at)+indexHeadLen); err != nil {
		return nil, err
	}
	l := &Log{Complete: true, Interrupted: flags&flagInterrupt != 0, Size: size, Segments: make([]Segment, 0, count)}
	next := uint64(len(magic))
	for i := range count {
		e := entries[i*entryLen : (i+1)*entryLen]
		off := binary.BigEndian.Uint64(e)
		if off != next {
			return nil, damaged("the log's index is damaged: segment %d starts at byte %d, not %d", i+1, off, next)
		}
		stop := at
		if i+1 < count {
			stop = binary.BigEndian.Uint64(entries[(i+1)*entryLen:])
		}
		if stop < off+headerLen+1 || stop > at || stop-off-headerLen > math.MaxUint32 {
			return nil, damaged("the log's index is damaged: segment %d at byte %d has an impossible length", i+1, off)
		}
		h := parseRange(e[8:])
		h.length = uint32(stop - off - headerLen)
		l.Segments = append(l.Segments, h.segment(int64(off)))
		next = stop
	}
	if next != at {
		return nil, damaged("the log's index is damaged: its segments end at byte %d, but the index starts at %d", next, at)
	}
	if err := checkOrder(l.Segments, "the log's index is damaged"); err != nil {
		return nil, err
	}
	return l, nil
}

// walk reads the headers from byte 8 on, for a log without an index.
func walk(r io.ReaderAt, size int64) (*Log, error) {
	l := &Log{Size: size}
	h := make([]byte, headerLen)
	for off := int64(len(magic)); off < size; {
		if size-off < headerLen {
			l.Torn = true
			break
		}
		if err := readAt(r, h, off); err != nil {
			return nil, err
		}
		switch string(h[:4]) {
		case segMagic:
		case indexMagic: // an index cut short: the writer died writing it
			l.Torn = true
			return l, checkOrder(l.Segments, "the log is damaged")
		default:
			return nil, damaged("the log is damaged: byte %d is not the start of a segment", off)
		}
		sh := parseRange(h[8:])
		sh.length = binary.BigEndian.Uint32(h[4:])
		if int64(sh.length) > size-off-headerLen {
			l.Torn = true
			break
		}
		if sh.length == 0 {
			return nil, damaged("the log is damaged: the segment at byte %d is empty", off)
		}
		s := sh.segment(off)
		l.Segments = append(l.Segments, s)
		off += s.Length
	}
	return l, checkOrder(l.Segments, "the log is damaged")
}

// checkOrder checks what the headers say against each other: frames in
// order without gaps, times that do not go back.
func checkOrder(segs []Segment, what string) error {
	var (
		last uint64
		end  time.Time
	)
	for i, s := range segs {
		if (s.FirstSeq == 0) != (s.LastSeq == 0) || s.FirstSeq > s.LastSeq {
			return damaged("%s: segment %d says frames %d to %d", what, i+1, s.FirstSeq, s.LastSeq)
		}
		if !s.hasFrames() {
			continue
		}
		if last != 0 && s.FirstSeq != last+1 {
			return damaged("%s: segment %d starts at frame %d, after frame %d", what, i+1, s.FirstSeq, last)
		}
		if s.Start.After(s.End) || s.Start.Before(end) {
			return damaged("%s: the times of segment %d go back", what, i+1)
		}
		last, end = s.LastSeq, s.End
	}
	return nil
}

// Find returns the index of the segment holding frame seq, or of the
// first segment after it; len(Segments) when none.
func (l *Log) Find(seq uint64) int {
	return sort.Search(len(l.Segments), func(i int) bool {
		s := l.Segments[i]
		return s.hasFrames() && s.LastSeq >= seq
	})
}

// FindTime returns the index of the segment holding the output of time
// t, or the first after it; len(Segments) when none.
func (l *Log) FindTime(t time.Time) int {
	return sort.Search(len(l.Segments), func(i int) bool {
		s := l.Segments[i]
		return s.hasFrames() && !s.End.Before(t)
	})
}

// ReadSegment decrypts segment s with identities and parses its text:
// the header (only in the first segment; nil in the others) and its
// events, checked against s (sequence numbers in order, within the
// header's). EINVALID with a clear sentence for a damaged segment; an
// error wrapping ErrNoIdentity when no identity opens it.
func ReadSegment(r io.ReaderAt, s Segment, identities []age.Identity) (*Header, []Event, error) {
	h, _, events, err := readSegment(r, s, identities)
	return h, events, err
}

// readSegment is ReadSegment, with the header line as the log holds it.
func readSegment(r io.ReaderAt, s Segment, identities []age.Identity) (*Header, []byte, []Event, error) {
	if s.Offset < int64(len(magic)) || s.Length <= headerLen || s.Length-headerLen > math.MaxUint32 {
		return nil, nil, nil, damaged("the segment at byte %d is damaged: it has an impossible place or length", s.Offset)
	}
	hb := make([]byte, headerLen)
	if err := readAt(r, hb, s.Offset); err != nil {
		return nil, nil, nil, err
	}
	if !bytes.Equal(hb, appendSegHeader(nil, s.header())) {
		return nil, nil, nil, damaged("the segment at byte %d is damaged: its header does not match the log's index", s.Offset)
	}
	if len(identities) == 0 {
		return nil, nil, nil, fmt.Errorf("read the segment at byte %d: %w", s.Offset, ErrNoIdentity)
	}
	src := &errReaderAt{r: r}
	dec, err := age.Decrypt(io.NewSectionReader(src, s.Offset+headerLen, s.Length-headerLen), identities...)
	var text []byte
	if err == nil {
		text, err = io.ReadAll(dec)
	}
	if src.err != nil {
		return nil, nil, nil, fmt.Errorf("read the segment at byte %d: %w", s.Offset, src.err)
	}
	var noMatch *age.NoIdentityMatchError
	if errors.As(err, &noMatch) {
		return nil, nil, nil, fmt.Errorf("read the segment at byte %d: %w", s.Offset, ErrNoIdentity)
	}
	if err != nil {
		return nil, nil, nil, damaged("the segment at byte %d (frames %d to %d) is damaged: %v", s.Offset, s.FirstSeq, s.LastSeq, err)
	}
	h, raw, events, err := parseText(text, s.Offset == int64(len(magic)))
	if err != nil {
		return nil, nil, nil, damaged("the segment at byte %d is damaged: %v", s.Offset, err)
	}
	if err := checkEvents(s, events); err != nil {
		return nil, nil, nil, err
	}
	return h, raw, events, nil
}

// checkEvents checks a segment's events against its header.
func checkEvents(s Segment, events []Event) error {
	if len(events) == 0 {
		if s.hasFrames() {
			return damaged("the segment at byte %d is damaged: it holds no frame, its header says frames %d to %d", s.Offset, s.FirstSeq, s.LastSeq)
		}
		return nil
	}
	first, last := events[0].Seq, events[len(events)-1].Seq
	if first != s.FirstSeq || last != s.LastSeq {
		return damaged("the segment at byte %d is damaged: it holds frames %d to %d, its header says %d to %d", s.Offset, first, last, s.FirstSeq, s.LastSeq)
	}
	for i := 1; i < len(events); i++ {
		if events[i].Seq != events[i-1].Seq+1 {
			return damaged("the segment at byte %d is damaged: frame %d follows frame %d", s.Offset, events[i].Seq, events[i-1].Seq)
		}
	}
	return nil
}

// readAt fills b from off; a log shorter than it says is damaged.
func readAt(r io.ReaderAt, b []byte, off int64) error {
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return damaged("the log is damaged: it ends before byte %d", off+int64(len(b)))
	}
	if err != nil {
		return fmt.Errorf("read log: %w", err)
	}
	return nil
}

// errReaderAt remembers a read error other than the end of the data, so
// that a failing disk or network is not reported as a damaged segment.
type errReaderAt struct {
	r   io.ReaderAt
	err error
}

func (e *errReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := e.r.ReadAt(p, off)
	if err != nil && !errors.Is(err, io.EOF) && e.err == nil {
		e.err = err
	}
	return n, err
}
