package spool

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// lastRecord writes n records in one segment of a new spool, closes it,
// and returns its directory, the segment file and where its last record
// starts.
func lastRecord(t *testing.T, n int) (dir, seg string, start int64) {
	t.Helper()
	dir = t.TempDir()
	s, _ := open(t, dir, Options{})
	appendN(t, s, 1, n)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	segs := segmentFiles(t, dir)
	if len(segs) != 1 {
		t.Fatalf("segments %v, want one", segs)
	}
	fi, err := os.Stat(segs[0])
	if err != nil {
		t.Fatal(err)
	}
	return dir, filepath.Base(segs[0]), fi.Size() - int64(headerSize+len(rec(n)))
}

// reopen opens a copy of dir after damage did its work, and checks that
// the records 1..n-1 are all there and numbering goes on above n.
func reopen(t *testing.T, dir string, n int, damage func(path string)) (logs string) {
	t.Helper()
	cp := copyDir(t, dir)
	damage(filepath.Join(cp, segmentFiles(t, dir)[0][len(dir)+1:]))
	s, l := open(t, cp, Options{})
	checkRecords(t, readAll(t, s, 0), 1, n-1)
	first, err := s.Append(t.Context(), rec(1000))
	if err != nil {
		t.Fatal(err)
	}
	if first < uint64(n) {
		t.Fatalf("after recovery the next record got %d, want ≥ %d", first, n)
	}
	recs, err := s.Read(uint64(n-1), 10, 0)
	if err != nil || len(recs) != 1 || recs[0].Seq != first || string(recs[0].Data) != string(rec(1000)) {
		t.Fatalf("read after recovery: %v, %v", recs, err)
	}
	s.Close()
	// And once more: what recovery wrote is itself clean.
	s, l2 := open(t, cp, Options{})
	if got := len(readAll(t, s, 0)); got != n {
		t.Fatalf("second reopen: %d records, want %d", got, n)
	}
	if strings.Contains(l2.String(), "damaged") {
		t.Fatalf("second reopen found damage again:\n%s", l2)
	}
	s.Close()
	return l.String()
}

// A kill -9 or a power loss tears the last record at any byte: the spool
// reopens with every record before it, cuts the torn one and says so.
func TestTornTail(t *testing.T) {
	const n = 20
	dir, seg, start := lastRecord(t, n)
	end := start + int64(headerSize+len(rec(n)))
	for off := start; off < end; off++ {
		logs := reopen(t, dir, n, func(path string) {
			if err := os.Truncate(path, off); err != nil {
				t.Fatal(err)
			}
		})
		damaged := strings.Contains(logs, "level=WARN") && strings.Contains(logs, seg)
		if damaged != (off > start) {
			t.Fatalf("truncated at %d (the record starts at %d): damage reported %v\n%s", off, start, damaged, logs)
		}
	}
}

// A flipped byte anywhere in the last record makes it damaged: cut and
// reported, the records before it kept.
func TestFlippedByte(t *testing.T) {
	const n = 20
	dir, seg, start := lastRecord(t, n)
	end := start + int64(headerSize+len(rec(n)))
	for off := start; off < end; off++ {
		logs := reopen(t, dir, n, func(path string) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			b[off] ^= 0x55
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
		})
		if !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, seg) {
			t.Fatalf("byte %d flipped: no damage reported\n%s", off, logs)
		}
	}
}

// Damage in the middle of a segment loses what follows it in that
// segment only, and never lets a number be given twice.
func TestDamageInTheMiddle(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentBytes: 1 << 10, MaxBytes: 1 << 20}
	s, _ := open(t, dir, opts)
	appendN(t, s, 1, 100)
	s.Close()
	segs := segmentFiles(t, dir)
	victim := segs[len(segs)/2]
	b, err := os.ReadFile(victim)
	if err != nil {
		t.Fatal(err)
	}
	b[headerSize+1] ^= 0xff // the data of its first record
	if err := os.WriteFile(victim, b, 0o600); err != nil {
		t.Fatal(err)
	}
	s, logs := open(t, dir, opts)
	recs := readAll(t, s, 0)
	var prev uint64
	lost := 0
	for _, r := range recs {
		if r.Seq != prev+1 {
			lost += int(r.Seq - prev - 1)
		}
		if string(r.Data) != string(rec(int(r.Seq))) {
			t.Fatalf("record %d holds %q", r.Seq, r.Data)
		}
		prev = r.Seq
	}
	if prev != 100 || lost == 0 || lost > 20 {
		t.Fatalf("last record %d, %d lost", prev, lost)
	}
	if !strings.Contains(logs.String(), filepath.Base(victim)) {
		t.Fatalf("damage not reported:\n%s", logs)
	}
	if first, err := s.Append(t.Context(), rec(101)); err != nil || first != 101 {
		t.Fatalf("append: %d, %v; want 101", first, err)
	}
}

// Recovery deletes segments an interrupted Ack left behind, and a
// damaged state file is reported, not fatal.
func TestRecoveryFinishesAck(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentBytes: 1 << 10, MaxBytes: 1 << 20}
	s, _ := open(t, dir, opts)
	appendN(t, s, 1, 100)
	s.Close()
	before := len(segmentFiles(t, dir))
	c, st, err := openCursor(dir)
	if err != nil || st.Acked != 0 {
		t.Fatalf("cursor: %+v, %v", st, err)
	}
	if err := c.write(state{Acked: 60}); err != nil {
		t.Fatal(err)
	}
	c.close()
	s, _ = open(t, dir, opts)
	checkRecords(t, readAll(t, s, 0), 61, 40)
	if after := len(segmentFiles(t, dir)); after >= before {
		t.Fatalf("%d segments, %d before: the acknowledged ones were not deleted", after, before)
	}
	s.Close()
	if err := os.WriteFile(filepath.Join(dir, stateFile), []byte("{garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, logs := open(t, dir, opts)
	recs := readAll(t, s, 0)
	if len(recs) < 40 || recs[len(recs)-1].Seq != 100 {
		t.Fatalf("after a damaged state: %d records", len(recs))
	}
	if !strings.Contains(logs.String(), "level=ERROR") {
		t.Fatalf("damaged state not reported:\n%s", logs)
	}
	if first, err := s.Append(t.Context(), rec(101)); err != nil || first != 101 {
		t.Fatalf("append: %d, %v; want 101", first, err)
	}
}

// Damage that appears after Open (bit rot) is found by Read: the damaged
// record and those up to the next index entry are skipped, counted and
// logged, and reading goes on.
func TestDamageFoundByRead(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentBytes: 128 << 10, MaxBytes: 64 << 20}
	s, _ := open(t, dir, opts)
	appendBatches(t, s, 1, 5000)
	s.Close()
	s, logs := open(t, dir, opts)
	first := segmentFiles(t, dir)[0]
	b, err := os.ReadFile(first)
	if err != nil {
		t.Fatal(err)
	}
	b[40<<10] ^= 0x01 // about record 620, between two index entries
	if err := os.WriteFile(first, b, 0o600); err != nil {
		t.Fatal(err)
	}
	recs := readAll(t, s, 0)
	var prev uint64
	missing := 0
	for _, r := range recs {
		if string(r.Data) != string(rec(int(r.Seq))) {
			t.Fatalf("record %d holds %q", r.Seq, r.Data)
		}
		missing += int(r.Seq - prev - 1)
		prev = r.Seq
	}
	st := s.Stats()
	if prev != 5000 || missing == 0 || missing > IndexEvery/headerSize || st.Damaged != uint64(missing) {
		t.Fatalf("last %d, %d missing, stats %+v", prev, missing, st)
	}
	if !strings.Contains(logs.String(), "level=ERROR") {
		t.Fatalf("damage not logged:\n%s", logs)
	}
	t.Logf("%d records lost to one flipped bit", missing)
}

// A torn write of the cursor leaves the previous one.
func TestCursorTornWrite(t *testing.T) {
	dir := t.TempDir()
	c, _, err := openCursor(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, acked := range []uint64{10, 20, 30} {
		if err := c.write(state{Acked: acked, Dropped: acked / 10}); err != nil {
			t.Fatal(err)
		}
	}
	c.close()
	path := filepath.Join(dir, stateFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for off := range slotUsed { // generation 3 is in slot 1
		torn := append([]byte(nil), b...)
		torn[slotSize+off] ^= 0x20
		if err := os.WriteFile(path, torn, 0o600); err != nil {
			t.Fatal(err)
		}
		c, st, err := openCursor(dir)
		if err != nil || st.Acked != 20 || st.Dropped != 2 {
			t.Fatalf("slot 1 damaged at %d: %+v, %v; want the state of generation 2", off, st, err)
		}
		c.close()
	}
	if err := os.WriteFile(path, b[:slotSize+10], 0o600); err != nil {
		t.Fatal(err)
	}
	c, st, err := openCursor(dir)
	if err != nil || st.Acked != 20 {
		t.Fatalf("slot 1 cut short: %+v, %v", st, err)
	}
	c.close()
}
