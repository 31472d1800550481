package castlog

import (
	"encoding/binary"
	"time"
)

// The file's binary parts, as doc.go specifies them.
const (
	magic          = "RCAST01\n"
	segMagic       = "rseg"
	indexMagic     = "ridx"
	trailerMagic   = "RCASTEND"
	headerLen      = 40 // a segment's header
	entryLen       = 40 // an index entry
	indexHeadLen   = 12 // "ridx", count, flags
	trailerLen     = 16 // at, "RCASTEND"
	flagInterrupt  = 1
	defaultWidth   = 80
	defaultHeight  = 24
	formatVersion  = 1
	asciicastV2    = 2
	maxSealedBytes = 64 << 10 // a sealed identity is a few hundred bytes
)

// segHeader is a segment's header (and, with offset, an index entry).
type segHeader struct {
	length     uint32
	firstSeq   uint64
	lastSeq    uint64
	start, end int64
}

func appendSegHeader(b []byte, h segHeader) []byte {
	b = append(b, segMagic...)
	b = binary.BigEndian.AppendUint32(b, h.length)
	return appendRange(b, h)
}

func appendRange(b []byte, h segHeader) []byte {
	b = binary.BigEndian.AppendUint64(b, h.firstSeq)
	b = binary.BigEndian.AppendUint64(b, h.lastSeq)
	b = binary.BigEndian.AppendUint64(b, uint64(h.start))
	return binary.BigEndian.AppendUint64(b, uint64(h.end))
}

// parseRange reads firstSeq, lastSeq, start and end from 32 bytes.
func parseRange(b []byte) segHeader {
	return segHeader{
		firstSeq: binary.BigEndian.Uint64(b[0:]),
		lastSeq:  binary.BigEndian.Uint64(b[8:]),
		start:    int64(binary.BigEndian.Uint64(b[16:])),
		end:      int64(binary.BigEndian.Uint64(b[24:])),
	}
}

// segment turns a header found at off into a Segment.
func (h segHeader) segment(off int64) Segment {
	return Segment{
		Offset:   off,
		Length:   headerLen + int64(h.length),
		FirstSeq: h.firstSeq,
		LastSeq:  h.lastSeq,
		Start:    fromNanos(h.start),
		End:      fromNanos(h.end),
	}
}

// header is s's header as the file spells it.
func (s Segment) header() segHeader {
	return segHeader{
		length:   uint32(s.Length - headerLen),
		firstSeq: s.FirstSeq,
		lastSeq:  s.LastSeq,
		start:    nanos(s.Start),
		end:      nanos(s.End),
	}
}

// hasFrames reports whether the segment holds any frame (the first one may
// hold only the asciicast header line).
func (s Segment) hasFrames() bool { return s.LastSeq != 0 }

// nanos is t in Unix nanoseconds, 0 for the zero time ("none").
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}
