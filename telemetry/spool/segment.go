package spool

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/runlet/runlet/internal/atomicfile"
)

// segmentExt ends a segment's file name.
const segmentExt = ".seg"

// IndexEvery is the distance in bytes between two entries of a segment's
// sparse index: a Read that does not continue the previous one scans at
// most this much before its first record.
const IndexEvery = 16 << 10

// segment is one segment file as the spool knows it. Its fields change
// under Spool.mu; f is closed under Spool.files' write lock only.
type segment struct {
	base  uint64 // from its name: a lower bound of its sequence numbers
	first uint64 // first record's seq (when count > 0)
	last  uint64 // last record's seq (when count > 0)
	count uint64
	size  int64 // bytes written and fsynced
	index []indexEntry
	path  string
	f     *os.File
}

// indexEntry says where a record starts in its segment.
type indexEntry struct {
	seq uint64
	off int64
}

func segmentName(base uint64) string {
	return fmt.Sprintf("%020d%s", base, segmentExt)
}

// parseSegmentName returns the base of a segment file's name.
func parseSegmentName(name string) (uint64, bool) {
	digits, ok := strings.CutSuffix(name, segmentExt)
	if !ok || len(digits) != 20 {
		return 0, false
	}
	base, err := strconv.ParseUint(digits, 10, 64)
	return base, err == nil
}

// note records that a record seq of n bytes was written at off.
func (g *segment) note(seq uint64, off int64) {
	if g.count == 0 {
		g.first = seq
	}
	g.last = seq
	g.count++
	if len(g.index) == 0 || off-g.index[len(g.index)-1].off >= IndexEvery {
		g.index = append(g.index, indexEntry{seq: seq, off: off})
	}
}

// pendingAfter is how many of its records are above floor.
func (g *segment) pendingAfter(floor uint64) uint64 {
	switch {
	case g.count == 0 || g.last <= floor:
		return 0
	case g.first > floor:
		return g.count
	}
	return g.last - floor
}

// offsetOf returns where to start scanning for record seq: the index
// entry at or before it.
func (g *segment) offsetOf(seq uint64) int64 {
	i := sort.Search(len(g.index), func(i int) bool { return g.index[i].seq > seq })
	if i == 0 {
		return 0
	}
	return g.index[i-1].off
}

// damage is what recovery found wrong in a segment.
type damage struct {
	off    int64  // where the first bad record starts
	cut    int64  // bytes cut from there to the end
	reason string // what was wrong
}

// loadSegment opens the segment at path, checks its records and builds
// its index. after is the last seq of the segments before it. A bad
// record and everything after it is cut off the file, and returned as
// damage; err is only for what stops the spool (a file that cannot be
// read or truncated).
func loadSegment(path string, base, after uint64, buf []byte) (*segment, *damage, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	g := &segment{base: base, path: path, f: f}
	sc := newScanner(f, fi.Size(), 0, buf)
	var dmg *damage
	for {
		off := sc.off
		seq, _, err := sc.next()
		if err == io.EOF {
			break
		}
		if err == nil {
			err = checkSeq(g, seq, after)
		}
		if err != nil {
			reason := err.Error()
			if err == errShort {
				reason = "the last record is cut short (torn write)"
			}
			dmg = &damage{off: off, cut: fi.Size() - off, reason: reason}
			break
		}
		g.note(seq, off)
	}
	g.size = sc.off
	if dmg != nil {
		g.size = dmg.off
		if err := f.Truncate(dmg.off); err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("cut the damaged end of %s: %w", path, err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("sync %s: %w", path, err)
		}
	}
	return g, dmg, nil
}

// checkSeq says what is wrong with seq as the next record of g.
func checkSeq(g *segment, seq, after uint64) error {
	switch {
	case g.count > 0 && seq != g.last+1:
		return fmt.Errorf("the record's sequence number %d does not follow %d", seq, g.last)
	case g.count == 0 && (seq < g.base || seq <= after):
		return fmt.Errorf("the first record's sequence number %d is below the segment's base %d or the previous segment's last %d", seq, g.base, after)
	}
	return nil
}

// listSegments returns the bases of the segment files in dir, ascending,
// and removes the temporary files a crash of atomicfile left behind.
func listSegments(dir string) ([]uint64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var bases []uint64
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), atomicfile.TempPrefix) {
			os.Remove(filepath.Join(dir, e.Name()))
			continue
		}
		if base, ok := parseSegmentName(e.Name()); ok && e.Type().IsRegular() {
			bases = append(bases, base)
		}
	}
	sort.Slice(bases, func(i, j int) bool { return bases[i] < bases[j] })
	return bases, nil
}
