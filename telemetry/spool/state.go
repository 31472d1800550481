package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"

	"github.com/runlet/runlet/internal/atomicfile"
)

// stateFile is the name of the cursors' file in a spool's directory.
const stateFile = "cursor"

// state is what the spool keeps beside its segments.
type state struct {
	// Acked: every record ≤ Acked was confirmed by the broker.
	Acked uint64
	// DroppedThrough: every record ≤ it was dropped for lack of room or
	// skipped as damaged (or acknowledged before).
	DroppedThrough uint64
	// Dropped counts the records dropped for lack of room, ever.
	Dropped uint64
	// Damaged counts the records skipped because they were found
	// damaged when read.
	Damaged uint64
	// LastDrop is the unix time in milliseconds of the last drop, or 0.
	LastDrop int64
}

// floor is the seq below which (inclusive) nothing is pending.
func (st state) floor() uint64 { return max(st.Acked, st.DroppedThrough) }

// The cursor file holds two slots of slotSize bytes; each write goes to
// the slot its generation's parity names, so that a torn write leaves
// the other, previous state whole. A slot is
//
//	magic "RSC1" | generation | acked | dropped through | dropped | damaged | last drop (unix ms) | CRC-32C of the bytes before it
//
// (integers uint64 little endian; the CRC uint32), zero padded.
const (
	slotSize  = 64
	slotMagic = "RSC1"
	slotUsed  = 4 + 6*8 + 4
)

// cursorFile is the open cursor file and the generation last written.
type cursorFile struct {
	f   *os.File
	gen uint64
}

// openCursor opens (creating it) dir's cursor file and reads the newest
// whole slot. A file with no whole slot is the zero state, and an error
// that says so when the file was not empty, for the log.
func openCursor(dir string) (*cursorFile, state, error) {
	path := filepath.Join(dir, stateFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, state{}, fmt.Errorf("open the telemetry outbox's cursor: %w", err)
	}
	if err := atomicfile.SyncDir(dir); err != nil {
		f.Close()
		return nil, state{}, fmt.Errorf("sync the telemetry outbox %s: %w", dir, err)
	}
	c := &cursorFile{f: f}
	var b [2 * slotSize]byte
	n, err := f.ReadAt(b[:], 0)
	if err != nil && err != io.EOF {
		f.Close()
		return nil, state{}, fmt.Errorf("read the telemetry outbox's cursor %s: %w", path, err)
	}
	var best state
	found := false
	for i := range 2 {
		if (i+1)*slotSize > n {
			break
		}
		st, gen, ok := decodeSlot(b[i*slotSize : (i+1)*slotSize])
		if ok && (!found || gen > c.gen) {
			best, c.gen, found = st, gen, true
		}
	}
	if !found && n > 0 {
		return c, state{}, errors.New("the telemetry outbox's cursor file " + path + " is damaged: records already sent may be sent again")
	}
	return c, best, nil
}

// write makes st the state on disk: the next generation, in its slot,
// fsynced.
func (c *cursorFile) write(st state) error {
	gen := c.gen + 1
	b := encodeSlot(st, gen)
	if _, err := c.f.WriteAt(b[:], int64(gen%2)*slotSize); err != nil {
		return fmt.Errorf("write the telemetry outbox's cursor: %w", err)
	}
	if err := c.f.Sync(); err != nil {
		return fmt.Errorf("sync the telemetry outbox's cursor: %w", err)
	}
	c.gen = gen
	return nil
}

func (c *cursorFile) close() error { return c.f.Close() }

func encodeSlot(st state, gen uint64) [slotSize]byte {
	var b [slotSize]byte
	copy(b[0:4], slotMagic)
	for i, v := range []uint64{gen, st.Acked, st.DroppedThrough, st.Dropped, st.Damaged, uint64(st.LastDrop)} {
		binary.LittleEndian.PutUint64(b[4+8*i:], v)
	}
	binary.LittleEndian.PutUint32(b[slotUsed-4:], crc32.Checksum(b[:slotUsed-4], castagnoli))
	return b
}

func decodeSlot(b []byte) (st state, gen uint64, ok bool) {
	if string(b[0:4]) != slotMagic || binary.LittleEndian.Uint32(b[slotUsed-4:]) != crc32.Checksum(b[:slotUsed-4], castagnoli) {
		return state{}, 0, false
	}
	u := func(i int) uint64 { return binary.LittleEndian.Uint64(b[4+8*i:]) }
	st = state{Acked: u(1), DroppedThrough: u(2), Dropped: u(3), Damaged: u(4), LastDrop: int64(u(5))}
	return st, u(0), true
}
