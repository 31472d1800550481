package spool

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/runlet/runlet"
)

// Records come back in order with their sequence numbers, within the
// limits of a Read, from memory and from the files.
func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, dir, Options{})
	first, err := s.Append(context.Background(), rec(1), rec(2), rec(3))
	if err != nil || first != 1 {
		t.Fatalf("append: first %d, %v; want 1", first, err)
	}
	appendN(t, s, 4, 97)
	checkRecords(t, readAll(t, s, 0), 1, 100)
	recs, err := s.Read(10, 5, 0)
	if err != nil {
		t.Fatal(err)
	}
	checkRecords(t, recs, 11, 5)
	// A byte limit below one record still returns one.
	recs, err = s.Read(10, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	checkRecords(t, recs, 11, 1)
	recs, err = s.Read(10, 0, 3*len(rec(11)))
	if err != nil {
		t.Fatal(err)
	}
	checkRecords(t, recs, 11, 3)
	if recs, err := s.Read(100, 10, 0); err != nil || len(recs) != 0 {
		t.Fatalf("read after the last: %d records, %v", len(recs), err)
	}
	// Changing what Read returned changes nothing in the spool.
	recs[0].Data[0] = 'X'
	recs, _ = s.Read(10, 1, 0)
	checkRecords(t, recs, 11, 1)
	st := s.Stats()
	if st.Pending != 100 || st.Next != 101 || st.Acked != 0 || st.Dropped != 0 || st.Full {
		t.Fatalf("stats %+v", st)
	}
	// After a restart nothing is in memory: the files serve.
	s.Close()
	s, _ = open(t, dir, Options{})
	checkRecords(t, readAll(t, s, 0), 1, 100)
	recs, err = s.Read(50, 7, 0)
	if err != nil {
		t.Fatal(err)
	}
	checkRecords(t, recs, 51, 7)
}

// Reads far behind the tail in memory, across many segments, each
// starting anywhere (index, hint) come from the files.
func TestReadFromFiles(t *testing.T) {
	s, _ := open(t, t.TempDir(), Options{SegmentBytes: 64 << 10, MaxBytes: 64 << 20})
	const n = 30000 // ~2 MB, twice the tail
	batch := make([][]byte, 0, 500)
	for i := 1; i <= n; i += 500 {
		batch = batch[:0]
		for j := i; j < i+500; j++ {
			batch = append(batch, rec(j))
		}
		if _, err := s.Append(context.Background(), batch...); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(segmentFiles(t, s.Dir())); got < 20 {
		t.Fatalf("%d segments, want many", got)
	}
	checkRecords(t, readAll(t, s, 0), 1, n)
	for _, after := range []uint64{0, 1, 999, 1000, 12345, 29990} {
		recs, err := s.Read(after, 20, 0)
		if err != nil {
			t.Fatal(err)
		}
		checkRecords(t, recs, after+1, min(20, n-int(after)))
	}
}

// Sequence numbers continue after a restart, even when everything was
// acknowledged and the segments deleted.
func TestRestartContinues(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, dir, Options{SegmentBytes: 1 << 10, MaxBytes: 1 << 20})
	appendN(t, s, 1, 50)
	s.Close()
	s, _ = open(t, dir, Options{SegmentBytes: 1 << 10, MaxBytes: 1 << 20})
	appendN(t, s, 51, 50)
	checkRecords(t, readAll(t, s, 0), 1, 100)
	if err := s.Ack(100); err != nil {
		t.Fatal(err)
	}
	if got := segmentFiles(t, dir); len(got) != 1 {
		t.Fatalf("segments after acknowledging all: %v, want the active one only", got)
	}
	s.Close()
	s, _ = open(t, dir, Options{SegmentBytes: 1 << 10, MaxBytes: 1 << 20})
	if st := s.Stats(); st.Next != 101 || st.Pending != 0 || st.Acked != 100 {
		t.Fatalf("stats after restart %+v, want next 101, nothing pending, acked 100", st)
	}
	first, err := s.Append(context.Background(), rec(101))
	if err != nil || first != 101 {
		t.Fatalf("append after restart: %d, %v; want 101", first, err)
	}
	checkRecords(t, readAll(t, s, 0), 101, 1)
}

// Ack persists the cursor and deletes the segments wholly acknowledged.
func TestAckDeletesSegments(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, dir, Options{SegmentBytes: 1 << 10, MaxBytes: 1 << 20})
	appendN(t, s, 1, 200)
	before := len(segmentFiles(t, dir))
	if before < 10 {
		t.Fatalf("%d segments, want many", before)
	}
	if err := s.Ack(0); err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(120); err != nil {
		t.Fatal(err)
	}
	after := len(segmentFiles(t, dir))
	if after >= before || after > before*100/200+2 {
		t.Fatalf("%d segments after acknowledging 120 of 200, from %d", after, before)
	}
	if err := s.Ack(100); err != nil { // going back does nothing
		t.Fatal(err)
	}
	if err := s.Ack(201); runlet.ErrorCode(err) != runlet.EINVALID {
		t.Fatalf("ack beyond the last: %v, want EINVALID", err)
	}
	checkRecords(t, readAll(t, s, 0), 121, 80)
	if st := s.Stats(); st.Pending != 80 || st.Acked != 120 || st.DiskBytes != diskBytes(t, dir) {
		t.Fatalf("stats %+v (disk %d)", st, diskBytes(t, dir))
	}
	s.Close()
	s, _ = open(t, dir, Options{SegmentBytes: 1 << 10, MaxBytes: 1 << 20})
	checkRecords(t, readAll(t, s, 0), 121, 80)
	if st := s.Stats(); st.Pending != 80 || st.Acked != 120 {
		t.Fatalf("stats after restart %+v", st)
	}
}

// A full spool drops its oldest segments, counts and logs the records
// dropped, keeps accepting, and never holds more than its bound on disk.
func TestFullDropsOldest(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentBytes: 1 << 10, MaxBytes: 8 << 10}
	s, logs := open(t, dir, opts)
	const n = 400 // 26 KB of records for a bound of 8 KiB
	for i := 1; i <= n; i++ {
		appendN(t, s, i, 1)
		if d := diskBytes(t, dir); d > opts.MaxBytes {
			t.Fatalf("after record %d: %d bytes on disk, above the bound %d", i, d, opts.MaxBytes)
		}
	}
	st := s.Stats()
	if !st.Full || st.Dropped == 0 || st.LastDrop.IsZero() {
		t.Fatalf("stats %+v, want full with drops", st)
	}
	recs := readAll(t, s, 0)
	oldest := recs[0].Seq
	checkRecords(t, recs, oldest, n-int(oldest)+1)
	if st.Dropped != oldest-1 || st.Pending != uint64(len(recs)) {
		t.Fatalf("dropped %d, pending %d; the oldest kept is %d of %d", st.Dropped, st.Pending, oldest, n)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "bound=8192") {
		t.Fatalf("no warning with the bound in the log:\n%s", logs)
	}
	// A reader whose cursor is in a dropped segment goes on at the
	// oldest record kept.
	recs, err := s.Read(5, 1, 0)
	if err != nil || len(recs) != 1 || recs[0].Seq != oldest {
		t.Fatalf("read after 5: %v, %v; want the oldest kept, %d", recs, err, oldest)
	}
	if err := s.Wait(context.Background(), 5); err != nil {
		t.Fatal(err)
	}
	// The count survives a restart.
	s.Close()
	s, _ = open(t, dir, opts)
	if got := s.Stats(); got.Dropped != st.Dropped || got.Pending != st.Pending {
		t.Fatalf("after restart: dropped %d pending %d, want %d %d", got.Dropped, got.Pending, st.Dropped, st.Pending)
	}
	// Acknowledged records are not counted as dropped.
	for i := n + 1; i <= n+150; i++ {
		first, err := s.Append(context.Background(), rec(i))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Ack(first); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.Stats(); got.Dropped != st.Dropped {
		t.Fatalf("dropped %d after acknowledging everything, want still %d", got.Dropped, st.Dropped)
	}
}

// Concurrent appenders each see their records in their order, and no
// sequence number is given twice or skipped.
func TestConcurrentAppenders(t *testing.T) {
	s, _ := open(t, t.TempDir(), Options{SegmentBytes: 16 << 10, MaxBytes: 16 << 20})
	const writers, each = 8, 300
	var wg sync.WaitGroup
	seqs := make([][]uint64, writers)
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				data := []byte{byte(w), byte(i >> 8), byte(i)}
				n := 1 + i%3
				recs := make([][]byte, n)
				for j := range recs {
					recs[j] = data
				}
				first, err := s.Append(context.Background(), recs...)
				if err != nil {
					errs <- err
					return
				}
				for j := range n {
					seqs[w] = append(seqs[w], first+uint64(j))
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	all := readAll(t, s, 0)
	if uint64(len(all)) != s.Stats().Next-1 {
		t.Fatalf("read %d records, next is %d", len(all), s.Stats().Next)
	}
	bySeq := make(map[uint64][]byte, len(all))
	for i, r := range all {
		if r.Seq != uint64(i+1) {
			t.Fatalf("record %d has seq %d: a gap or a repeat", i, r.Seq)
		}
		bySeq[r.Seq] = r.Data
	}
	for w, got := range seqs {
		last := -1
		for _, q := range got {
			d := bySeq[q]
			if len(d) != 3 || int(d[0]) != w {
				t.Fatalf("seq %d given to writer %d holds %v", q, w, d)
			}
			i := int(d[1])<<8 | int(d[2])
			if i < last {
				t.Fatalf("writer %d: record %d after %d", w, i, last)
			}
			last = i
		}
	}
}

// Wait returns at once when a record is there, wakes on an Append, and
// ends with its context or the spool.
func TestWait(t *testing.T) {
	s, _ := open(t, t.TempDir(), Options{})
	woke := make(chan error, 1)
	go func() { woke <- s.Wait(context.Background(), 0) }()
	appendN(t, s, 1, 1)
	if err := <-woke; err != nil {
		t.Fatal(err)
	}
	if err := s.Wait(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { woke <- s.Wait(ctx, 1) }()
	cancel()
	if err := <-woke; !errors.Is(err, context.Canceled) {
		t.Fatalf("wait with a cancelled context: %v", err)
	}
	go func() { woke <- s.Wait(context.Background(), 1) }()
	s.Close()
	if err := <-woke; err != ErrClosed {
		t.Fatalf("wait on a closed spool: %v", err)
	}
	if _, err := s.Append(context.Background(), rec(1)); err != ErrClosed {
		t.Fatalf("append on a closed spool: %v", err)
	}
}

// One process at a time: a second Open of the directory is a conflict.
func TestOneOpenAtATime(t *testing.T) {
	dir := t.TempDir()
	open(t, dir, Options{})
	_, err := Open(dir, Options{})
	if runlet.ErrorCode(err) != runlet.ECONFLICT {
		t.Fatalf("second open: %v, want ECONFLICT", err)
	}
}

// Bad options and records are refused with a sentence.
func TestRefusals(t *testing.T) {
	if _, err := Open(t.TempDir(), Options{MaxBytes: 1 << 20, SegmentBytes: 1 << 20}); runlet.ErrorCode(err) != runlet.EINVALID {
		t.Fatalf("segment as large as the bound: %v, want EINVALID", err)
	}
	s, _ := open(t, filepath.Join(t.TempDir(), "spool"), Options{MaxBytes: 8 << 10, SegmentBytes: 1 << 10})
	if _, err := s.Append(context.Background(), make([]byte, 2000)); runlet.ErrorCode(err) != runlet.EINVALID {
		t.Fatalf("record larger than a segment: %v, want EINVALID", err)
	}
	if first, err := s.Append(context.Background()); first != 0 || err != nil {
		t.Fatalf("empty append: %d, %v", first, err)
	}
	if fi, err := os.Stat(s.Dir()); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("directory mode %v, %v; want 0700", fi.Mode(), err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), "LOCK")); err != nil {
		t.Fatal(err)
	}
}

// A group larger than the tail in memory empties it; reads across it
// still see every record once, in order.
func TestLargeGroupAndTail(t *testing.T) {
	s, _ := open(t, t.TempDir(), Options{})
	appendN(t, s, 1, 10)
	big := make([][]byte, 0, 20000)
	for i := 11; i < 11+20000; i++ {
		big = append(big, rec(i))
	}
	if first, err := s.Append(context.Background(), big...); err != nil || first != 11 {
		t.Fatalf("append: %d, %v", first, err)
	}
	appendN(t, s, 20011, 10)
	checkRecords(t, readAll(t, s, 0), 1, 20020)
	checkRecords(t, readAll(t, s, 5), 6, 20015)
	checkRecords(t, readAll(t, s, 20012), 20013, 8)
}
