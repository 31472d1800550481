package castlog

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"filippo.io/age"
)

// fuzzIdentity is a fixed key, so that mutations of the seed logs reach
// the parsing of decrypted text.
const fuzzIdentity = "AGE-SECRET-KEY-184JMZMVQH3E6U0PSL869004Y3U2NYV7R30EU99CSEDNPH02YUVFSZW44VU"

func fuzzSeeds(f *testing.F) (*age.X25519Identity, [][]byte) {
	id, err := age.ParseX25519Identity(fuzzIdentity)
	if err != nil {
		f.Fatal(err)
	}
	rcp := []age.Recipient{id.Recipient()}
	dir := f.TempDir()
	var seeds [][]byte
	for i, segments := range []int{0, 1, 3} {
		path := filepath.Join(dir, string(rune('a'+i))+".rcast")
		w, err := Create(path, rcp, testHeader())
		if err != nil {
			f.Fatal(err)
		}
		for s := range segments {
			writeFrames(f, w, uint64(2*s+1), [][]byte{[]byte("out\r\n"), {0xe2, 0x82}})
			if err := w.Flush(); err != nil {
				f.Fatal(err)
			}
		}
		if err := w.Close(i == 2); err != nil {
			f.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, b)
		if len(b) > 16 {
			seeds = append(seeds, b[:len(b)-16]) // no trailer: walked
		}
	}
	seeds = append(seeds, []byte(magic), []byte(magic+"rseg"), []byte(magic+"ridx"), []byte("RCAST01"))
	return id, seeds
}

// FuzzScan: any bytes are scanned without a panic or an allocation beyond
// the file's size, and what Scan accepts lies within the file.
func FuzzScan(f *testing.F) {
	id, seeds := fuzzSeeds(f)
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		l, err := Scan(r, int64(len(b)))
		runtime.ReadMemStats(&after)
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 4*uint64(len(b))+64<<10 {
			t.Fatalf("Scan of %d bytes allocated %d", len(b), grew)
		}
		if err != nil {
			return
		}
		end := int64(len(magic))
		for i, s := range l.Segments {
			if s.Offset != end || s.Length <= headerLen || s.Offset+s.Length > int64(len(b)) {
				t.Fatalf("segment %d %+v outside the file of %d bytes", i, s, len(b))
			}
			end += s.Length
			_, _, _ = ReadSegment(r, s, []age.Identity{id}) // no panic
		}
		if l.Find(0) > len(l.Segments) || l.FindTime(time.Time{}) > len(l.Segments) {
			t.Fatal("Find out of range")
		}
	})
}

// FuzzReadSegmentText: the line parser takes any text without a panic,
// and what it accepts is written back the same.
func FuzzReadSegmentText(f *testing.F) {
	h := appendHeaderLine(nil, normalize(testHeader()))
	ev := appendEvent(nil, 7, 1234567*time.Microsecond, []byte("a\x1b[0m\"\\é\xff"))
	f.Add(append(bytes.Clone(h), ev...), true)
	f.Add(ev, false)
	f.Add([]byte(`[0.5, "o", "x", 1]`+"\n"+`[1e3, "o", "\u001b", 2]`+"\n"), false)
	f.Add([]byte(`[-1, "o", "x", 1]`+"\n"), false)
	f.Add([]byte(`{"version":2}`+"\n"), true)
	f.Fuzz(func(t *testing.T, text []byte, first bool) {
		hdr, _, events, err := parseText(text, first)
		if err != nil {
			return
		}
		if first != (hdr != nil) {
			t.Fatalf("first %v, header %v", first, hdr)
		}
		var again []byte
		for _, e := range events {
			again = appendEvent(again, e.Seq, e.Time, []byte(e.Data))
		}
		_, _, back, err := parseText(again, false)
		if err != nil {
			t.Fatalf("written back, %q does not parse: %v", again, err)
		}
		for i := range events {
			if back[i] != events[i] {
				t.Fatalf("event %d: %+v written back is %+v", i, events[i], back[i])
			}
		}
	})
}

// FuzzAppendString: the JSON string encoder agrees with encoding/json's
// decoder: bytes that are not UTF-8 become U+FFFD, each.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "\x1b[1m\"q\"\\\t\r\n\x00\x7f", "é漢😀", "\xff\xc3\x28\xe2\x82\xed\xa0\x80", "\u2028\u2029"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		enc := appendString(nil, b)
		var got string
		if err := json.Unmarshal(enc, &got); err != nil {
			t.Fatalf("%q encodes as %s, not JSON: %v", b, enc, err)
		}
		if want := string([]rune(string(b))); got != want {
			t.Fatalf("%q encodes as %s, decoded %q, want %q", b, enc, got, want)
		}
	})
}
