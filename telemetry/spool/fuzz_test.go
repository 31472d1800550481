package spool

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// parseRecord never panics, and what it accepts encodes back to the same
// bytes.
func FuzzParseRecord(f *testing.F) {
	f.Add(appendRecord(nil, 1, rec(1)))
	f.Add(appendRecord(nil, 1<<40, nil))
	f.Add(appendRecord(nil, 7, rec(7))[:20])
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0xff}, 40))
	f.Fuzz(func(t *testing.T, b []byte) {
		seq, data, n, err := parseRecord(b)
		if err != nil {
			return
		}
		if n > len(b) || n != headerSize+len(data) {
			t.Fatalf("size %d of %d bytes, data %d", n, len(b), len(data))
		}
		if again := appendRecord(nil, seq, data); !bytes.Equal(again, b[:n]) {
			t.Fatalf("record %d re-encodes as %x, read from %x", seq, again, b[:n])
		}
	})
}

// Whatever a segment file holds, Open recovers without failing, keeps
// consecutive valid records only, and the spool takes more.
// ci-fuzztime: 3000x
func FuzzRecover(f *testing.F) {
	var good []byte
	for i := 1; i <= 5; i++ {
		good = appendRecord(good, uint64(i), rec(i))
	}
	f.Add(good)
	f.Add(good[:len(good)-3])
	f.Add(append(bytes.Clone(good), 0, 0, 0, 0, 0, 0))
	f.Add(appendRecord(appendRecord(nil, 3, rec(3)), 9, rec(9)))
	f.Add([]byte("not a spool at all"))
	f.Fuzz(func(t *testing.T, seg []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, segmentName(1)), seg, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Open(dir, Options{MaxBytes: 1 << 20, SegmentBytes: 64 << 10})
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		defer s.Close()
		recs, err := s.Read(0, 0, 0)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		var want []byte
		for i, r := range recs {
			if i > 0 && r.Seq != recs[i-1].Seq+1 {
				t.Fatalf("record %d follows %d", r.Seq, recs[i-1].Seq)
			}
			want = appendRecord(want, r.Seq, r.Data)
		}
		if !bytes.HasPrefix(seg, want) {
			t.Fatalf("recovered records that are not the file's start")
		}
		first, err := s.Append(t.Context(), []byte("more"))
		if err != nil {
			t.Fatalf("append: %v", err)
		}
		if len(recs) > 0 && first <= recs[len(recs)-1].Seq {
			t.Fatalf("next record %d, after %d", first, recs[len(recs)-1].Seq)
		}
	})
}
