package castlog

import (
	"bufio"
	"fmt"
	"io"

	"filippo.io/age"
)

// Export writes the log as a standard asciicast v2 file (events of three
// elements), decrypting with identities, from frame since (0: all). The
// header line is the log's own (its "runlet" key is an extra key, which
// asciicast v2 allows). A torn or interrupted log exports its whole
// segments.
func Export(w io.Writer, r io.ReaderAt, size int64, identities []age.Identity, since uint64) error {
	l, err := Scan(r, size)
	if err != nil {
		return err
	}
	if len(l.Segments) == 0 {
		return damaged("the log holds no segment: there is nothing to export")
	}
	_, raw, events, err := readSegment(r, l.Segments[0], identities)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.Write(raw)
	bw.WriteByte('\n')
	i := l.Find(since)
	if i == 0 {
		i = 1 // the first segment's events are read already
	} else {
		events = nil
	}
	var line []byte
	for {
		for _, e := range events {
			if e.Seq < since {
				continue
			}
			line = appendExportEvent(line[:0], e)
			if _, err := bw.Write(line); err != nil {
				return fmt.Errorf("export log: %w", err)
			}
		}
		if i >= len(l.Segments) {
			break
		}
		if _, events, err = ReadSegment(r, l.Segments[i], identities); err != nil {
			return err
		}
		i++
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("export log: %w", err)
	}
	return nil
}

// appendExportEvent appends e as asciicast v2's `[time, "o", data]`.
func appendExportEvent(b []byte, e Event) []byte {
	b = appendEvent(b, e.Seq, e.Time, []byte(e.Data))
	// appendEvent ends in ", seq]\n": cut the sequence number off.
	for j := len(b) - 1; j >= 0; j-- {
		if b[j] == ',' {
			return append(b[:j], "]\n"...)
		}
	}
	return b
}
