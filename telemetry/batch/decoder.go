package batch

import (
	"encoding/binary"
	"fmt"
	"time"
)

// decoder reads a body, keeping the first error: once failed, it reads
// zeros, so that a decoding loop needs no check per field.
type decoder struct {
	p    []byte
	err  error
	zero [8]byte
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrFormat, what)
	}
	d.p = nil
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.p)
	if n <= 0 {
		d.fail("a number is cut short or too long")
		return 0
	}
	d.p = d.p[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.p)
	if n <= 0 {
		d.fail("a number is cut short or too long")
		return 0
	}
	d.p = d.p[n:]
	return v
}

// bytes returns the next n bytes (zeros once failed).
func (d *decoder) bytes(n uint64) []byte {
	if n > uint64(len(d.p)) {
		d.fail("the body is cut short")
	}
	if d.err != nil {
		if n <= uint64(len(d.zero)) {
			return d.zero[:n]
		}
		return make([]byte, 0)
	}
	b := d.p[:n]
	d.p = d.p[n:]
	return b
}

// count reads a count of things that take at least least bytes each,
// refusing one larger than the rest of the body can hold.
func (d *decoder) count(what string, least int) int {
	n := d.uvarint()
	if n > uint64(len(d.p)/least) {
		d.fail(fmt.Sprintf("%d %s cannot fit in %d bytes", n, what, len(d.p)))
		return 0
	}
	return int(n)
}

// runletTime turns unix milliseconds into a time, in UTC.
func runletTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
