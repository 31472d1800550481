package spool

// tail keeps the last fsynced records in memory, as written, so that a
// reader that keeps up does not go to the files: the chunks each flush
// wrote, oldest first, about TailBytes in all.
type tail struct {
	chunks []tailChunk
	bytes  int
}

// tailChunk is the framed records first..first+count-1.
type tailChunk struct {
	first, count uint64
	b            []byte
}

// add keeps a copy of a chunk just written. A chunk larger than the
// tail empties it: the tail holds consecutive records only.
func (t *tail) add(first, count uint64, b []byte) {
	if len(b) > TailBytes {
		clear(t.chunks)
		t.chunks, t.bytes = t.chunks[:0], 0
		return
	}
	t.chunks = append(t.chunks, tailChunk{first: first, count: count, b: append([]byte(nil), b...)})
	t.bytes += len(b)
	drop := 0
	for t.bytes > TailBytes && len(t.chunks)-drop > 1 {
		t.bytes -= len(t.chunks[drop].b)
		drop++
	}
	if drop > 0 {
		n := copy(t.chunks, t.chunks[drop:])
		clear(t.chunks[n:])
		t.chunks = t.chunks[:n]
	}
}

// from returns the chunks holding start and what follows it, or nil when
// start is older than the tail.
func (t *tail) from(start uint64) []tailChunk {
	for i, c := range t.chunks {
		if start < c.first {
			return nil
		}
		if start < c.first+c.count {
			return t.chunks[i:len(t.chunks):len(t.chunks)]
		}
	}
	return nil
}
