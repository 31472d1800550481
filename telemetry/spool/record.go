package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// Record is one record of the spool.
type Record struct {
	// Seq is its sequence number, assigned by Append.
	Seq uint64
	// Data is what was appended. Each Read returns its own copy.
	Data []byte
}

// headerSize is the framing of a record on disk: length, CRC-32C, seq.
const headerSize = 16

// MaxRecord bounds the data of one record (and Options.SegmentBytes
// bounds it further: a record and its header fit in one segment).
const MaxRecord = 1 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// appendRecord appends the record seq, data to b, framed.
func appendRecord(b []byte, seq uint64, data []byte) []byte {
	var h [headerSize]byte
	binary.LittleEndian.PutUint32(h[0:4], uint32(len(data)))
	binary.LittleEndian.PutUint64(h[8:16], seq)
	binary.LittleEndian.PutUint32(h[4:8], checksum(h[:], data))
	b = append(b, h[:]...)
	return append(b, data...)
}

// checksum is the CRC-32C of a record: its length, its seq and its data.
func checksum(h []byte, data []byte) uint32 {
	c := crc32.Update(0, castagnoli, h[0:4])
	c = crc32.Update(c, castagnoli, h[8:16])
	return crc32.Update(c, castagnoli, data)
}

// errShort: b ends inside the record (a torn tail, or a read to extend).
var errShort = errors.New("the record is cut short")

// parseRecord decodes the record at the start of b and returns its size
// on disk. Its data aliases b. The error is errShort when b ends before
// the record does, or says what is wrong with it.
func parseRecord(b []byte) (seq uint64, data []byte, n int, err error) {
	if len(b) < headerSize {
		return 0, nil, 0, errShort
	}
	length := binary.LittleEndian.Uint32(b[0:4])
	if length > MaxRecord {
		return 0, nil, 0, fmt.Errorf("the record's length, %d bytes, is above the limit of %d", length, MaxRecord)
	}
	n = headerSize + int(length)
	if len(b) < n {
		return 0, nil, 0, errShort
	}
	data = b[headerSize:n]
	if want, got := binary.LittleEndian.Uint32(b[4:8]), checksum(b, data); want != got {
		return 0, nil, 0, fmt.Errorf("the record's checksum is wrong (%08x written, %08x computed)", want, got)
	}
	return binary.LittleEndian.Uint64(b[8:16]), data, n, nil
}

// readError is a failed read of the disk, not a damaged record.
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// scanner reads the records of a segment file in order, from a buffer it
// refills with ReadAt; it never holds more than a chunk (or one record,
// if larger) of the file.
type scanner struct {
	r      io.ReaderAt
	size   int64 // bytes of the file to read: the rest is not durable yet
	buf    []byte
	bufOff int64 // file offset of buf[0]
	off    int64 // file offset of the next record
}

// chunk is how much a scanner reads at once.
const chunk = 64 << 10

func newScanner(r io.ReaderAt, size, off int64, buf []byte) *scanner {
	return &scanner{r: r, size: size, off: off, bufOff: off, buf: buf[:0]}
}

// next returns the record at s.off and moves past it. Its data aliases
// the scanner's buffer, valid until the next call. At the end of the file
// it returns io.EOF; a record cut short by the end of the file is
// errShort; any other error is a damaged record or a failed read.
func (s *scanner) next() (seq uint64, data []byte, err error) {
	for {
		rel := int(s.off - s.bufOff)
		seq, data, n, err := parseRecord(s.buf[rel:])
		if err == nil {
			s.off += int64(n)
			return seq, data, nil
		}
		if err != errShort {
			return 0, nil, err
		}
		if s.off >= s.size {
			return 0, nil, io.EOF
		}
		if s.bufOff+int64(len(s.buf)) >= s.size {
			return 0, nil, errShort
		}
		if err := s.fill(); err != nil {
			return 0, nil, err
		}
	}
}

// fill reads the file from s.off: a chunk, or the whole record at s.off
// if it is larger.
func (s *scanner) fill() error {
	want := chunk
	if rest := s.buf[s.off-s.bufOff:]; len(rest) >= headerSize {
		if l := int(binary.LittleEndian.Uint32(rest[0:4])) + headerSize; l > want {
			want = l
		}
	}
	if left := s.size - s.off; int64(want) > left {
		want = int(left)
	}
	if cap(s.buf) < want {
		s.buf = make([]byte, want)
	}
	s.buf = s.buf[:want]
	s.bufOff = s.off
	n, err := s.r.ReadAt(s.buf, s.off)
	if err != nil && err != io.EOF {
		return &readError{err}
	}
	if n < want {
		// The file is shorter than said: what is missing is cut short.
		s.buf, s.size = s.buf[:n], s.off+int64(n)
	}
	return nil
}
