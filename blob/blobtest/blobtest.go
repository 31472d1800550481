// Package blobtest is the contract suite every blob.Store adapter passes
// (R-LOG-2): put, stat and ranged reads, whole replacement under
// concurrent readers, refusal of a body that does not match its length or
// sha256 (keeping the old object), missing objects, idempotent delete,
// listing in key order, bad keys, metadata, cancellation and a large
// object streamed.
package blobtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/blob"
)

// Run runs the suite; open returns a new, empty store for each test (and
// closes it in t.Cleanup when it must be closed).
func Run(t *testing.T, open func(t *testing.T) blob.Store) {
	tests := []struct {
		name string
		fn   func(*testing.T, blob.Store)
	}{
		{"PutStatOpen", testPutStatOpen},
		{"Ranges", testRanges},
		{"Empty", testEmpty},
		{"Missing", testMissing},
		{"Mismatch", testMismatch},
		{"Replace", testReplace},
		{"ConcurrentReplace", testConcurrentReplace},
		{"Delete", testDelete},
		{"List", testList},
		{"BadKeys", testBadKeys},
		{"Meta", testMeta},
		{"Cancel", testCancel},
		{"Large", testLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, open(t))
		})
	}
}

// Sum is the lower-case hex sha256 of b.
func Sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Put stores b as key with its own sha256 and modified, failing t on an
// error.
func Put(t testing.TB, s blob.Store, key string, b []byte, modified time.Time) blob.Info {
	t.Helper()
	info, err := s.Put(context.Background(), key, bytes.NewReader(b), int64(len(b)), blob.Meta{SHA256: Sum(b), Modified: modified})
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
	return info
}

// Read reads n bytes of key from off, failing t on an error.
func Read(t testing.TB, s blob.Store, key string, off, n int64) ([]byte, blob.Info) {
	t.Helper()
	rc, info, err := s.Open(context.Background(), key, off, n)
	if err != nil {
		t.Fatalf("open %s at %d (%d bytes): %v", key, off, n, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return b, info
}

func wantCode(t testing.TB, what string, err error, code string) {
	t.Helper()
	if got := runlet.ErrorCode(err); got != code {
		t.Fatalf("%s: error %v (code %q), want code %q", what, err, got, code)
	}
}

// Stamp is a modification time with nanoseconds, for tests.
var Stamp = time.Date(2026, 3, 4, 5, 6, 7, 891_234_567, time.UTC)

func body(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func testPutStatOpen(t *testing.T, s blob.Store) {
	b := body(1000, 1)
	info := Put(t, s, "ws/w1/logs/e1/d1.rcast", b, Stamp)
	if info.Key != "ws/w1/logs/e1/d1.rcast" || info.Size != 1000 || info.SHA256 != Sum(b) {
		t.Fatalf("put returned %+v", info)
	}
	st, err := s.Stat(context.Background(), "ws/w1/logs/e1/d1.rcast")
	if err != nil {
		t.Fatal(err)
	}
	if st.Key != info.Key || st.Size != 1000 || st.SHA256 != Sum(b) || !st.Modified.Equal(Stamp) {
		t.Fatalf("stat %+v, want size 1000, sha256 %s, modified %v", st, Sum(b), Stamp)
	}
	got, oi := Read(t, s, "ws/w1/logs/e1/d1.rcast", 0, -1)
	if !bytes.Equal(got, b) {
		t.Fatalf("read %d bytes, not what was put", len(got))
	}
	if oi.Size != 1000 || oi.SHA256 != Sum(b) || !oi.Modified.Equal(Stamp) {
		t.Fatalf("open's info %+v", oi)
	}
}

func testRanges(t *testing.T, s blob.Store) {
	b := body(5000, 2)
	Put(t, s, "r/obj", b, Stamp)
	for _, c := range []struct{ off, n, want int64 }{
		{0, -1, 5000}, {0, 5000, 5000}, {0, 1, 1}, {1, 10, 10}, {4990, 10, 10},
		{4990, 100, 10}, {4990, -1, 10}, {4999, 1, 1}, {5000, -1, 0}, {5000, 10, 0}, {100, 0, 0}, {2500, 1 << 62, 2500},
	} {
		got, info := Read(t, s, "r/obj", c.off, c.n)
		if int64(len(got)) != c.want || !bytes.Equal(got, b[c.off:c.off+c.want]) {
			t.Errorf("open at %d for %d: %d bytes, want %d of the object's", c.off, c.n, len(got), c.want)
		}
		if info.Size != 5000 || info.SHA256 != Sum(b) {
			t.Errorf("open at %d for %d: info %+v, want the whole object's size and sum", c.off, c.n, info)
		}
	}
	for _, off := range []int64{5001, 1 << 40, -1} {
		rc, _, err := s.Open(context.Background(), "r/obj", off, -1)
		if err == nil {
			rc.Close()
		}
		wantCode(t, fmt.Sprintf("open at %d", off), err, runlet.EINVALID)
	}
}

func testEmpty(t *testing.T, s blob.Store) {
	Put(t, s, "e/empty", nil, Stamp)
	got, info := Read(t, s, "e/empty", 0, -1)
	if len(got) != 0 || info.Size != 0 || info.SHA256 != Sum(nil) {
		t.Fatalf("empty object: %d bytes, info %+v", len(got), info)
	}
	rc, _, err := s.Open(context.Background(), "e/empty", 1, -1)
	if err == nil {
		rc.Close()
	}
	wantCode(t, "open an empty object at 1", err, runlet.EINVALID)
}

func testMissing(t *testing.T, s blob.Store) {
	ctx := context.Background()
	Put(t, s, "m/present", []byte("x"), Stamp)
	_, err := s.Stat(ctx, "m/absent")
	wantCode(t, "stat a missing object", err, runlet.ENOTFOUND)
	rc, _, err := s.Open(ctx, "m/absent", 0, -1)
	if err == nil {
		rc.Close()
	}
	wantCode(t, "open a missing object", err, runlet.ENOTFOUND)
	rc, _, err = s.Open(ctx, "m/absent", 5, 3)
	if err == nil {
		rc.Close()
	}
	wantCode(t, "open a missing object at 5", err, runlet.ENOTFOUND)
	_, err = s.Stat(ctx, "nowhere/at/all")
	wantCode(t, "stat under a missing prefix", err, runlet.ENOTFOUND)
}

// A body that is not what its size and sha256 say is refused, and the
// object that was there stays whole.
func testMismatch(t *testing.T, s blob.Store) {
	ctx := context.Background()
	old := []byte("the old object")
	Put(t, s, "x/kept", old, Stamp)
	b := body(3000, 3)
	other := body(3000, 4)
	cases := []struct {
		name string
		r    io.Reader
		size int64
		sum  string
	}{
		{"wrong sha256", bytes.NewReader(b), 3000, Sum(other)},
		{"short body", bytes.NewReader(b[:2000]), 3000, Sum(b)},
		{"long body", bytes.NewReader(b), 2000, Sum(b[:2000])},
		{"sha256 not hex", bytes.NewReader(b), 3000, "not-a-sum"},
		{"sha256 missing", bytes.NewReader(b), 3000, ""},
		{"negative size", bytes.NewReader(b), -1, Sum(b)},
	}
	for _, c := range cases {
		for _, key := range []string{"x/kept", "x/new"} {
			_, err := s.Put(ctx, key, c.r, c.size, blob.Meta{SHA256: c.sum, Modified: Stamp.Add(time.Hour)})
			wantCode(t, c.name+" into "+key, err, runlet.EINVALID)
			if n, ok := c.r.(*bytes.Reader); ok {
				_, _ = n.Seek(0, io.SeekStart)
			}
		}
		got, info := Read(t, s, "x/kept", 0, -1)
		if !bytes.Equal(got, old) || info.SHA256 != Sum(old) || !info.Modified.Equal(Stamp) {
			t.Fatalf("%s: the old object became %q %+v", c.name, got, info)
		}
		_, err := s.Stat(ctx, "x/new")
		wantCode(t, c.name+": stat the refused object", err, runlet.ENOTFOUND)
	}
	var keys []string
	if err := s.List(ctx, "", func(i blob.Info) error { keys = append(keys, i.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keys, []string{"x/kept"}) {
		t.Fatalf("after refused puts the store lists %q, want only x/kept", keys)
	}
}

func testReplace(t *testing.T, s blob.Store) {
	Put(t, s, "rep/obj", body(4000, 5), Stamp)
	nb := []byte("shorter")
	Put(t, s, "rep/obj", nb, Stamp.Add(time.Minute))
	got, info := Read(t, s, "rep/obj", 0, -1)
	if !bytes.Equal(got, nb) || info.Size != int64(len(nb)) || info.SHA256 != Sum(nb) || !info.Modified.Equal(Stamp.Add(time.Minute)) {
		t.Fatalf("after replace: %q %+v", got, info)
	}
}

// Readers during replacements see one version whole, with its own meta.
func testConcurrentReplace(t *testing.T, s blob.Store) {
	versions := [][]byte{body(200_000, 10), body(150_000, 11), body(250_000, 12)}
	sums := map[string]bool{}
	for _, v := range versions {
		sums[Sum(v)] = true
	}
	Put(t, s, "c/obj", versions[0], Stamp)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 3 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				rc, info, err := s.Open(ctx, "c/obj", 0, -1)
				if err != nil {
					if ctx.Err() == nil {
						errs <- err
					}
					return
				}
				b, err := io.ReadAll(rc)
				rc.Close()
				if err != nil {
					if ctx.Err() == nil {
						errs <- err
					}
					return
				}
				if got := Sum(b); !sums[got] || got != info.SHA256 || int64(len(b)) != info.Size {
					errs <- fmt.Errorf("a reader saw %d bytes with sha256 %s, info %+v: not one whole version", len(b), got, info)
					return
				}
			}
		})
	}
	for i := range 12 {
		Put(t, s, "c/obj", versions[i%len(versions)], Stamp.Add(time.Duration(i)*time.Second))
	}
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func testDelete(t *testing.T, s blob.Store) {
	ctx := context.Background()
	Put(t, s, "d/a/obj", []byte("a"), Stamp)
	Put(t, s, "d/b", []byte("b"), Stamp)
	for range 2 {
		if err := s.Delete(ctx, "d/a/obj"); err != nil {
			t.Fatalf("delete: %v", err)
		}
	}
	if err := s.Delete(ctx, "never/was"); err != nil {
		t.Fatalf("delete a missing object: %v", err)
	}
	_, err := s.Stat(ctx, "d/a/obj")
	wantCode(t, "stat a deleted object", err, runlet.ENOTFOUND)
	if got, _ := Read(t, s, "d/b", 0, -1); string(got) != "b" {
		t.Fatalf("the other object reads %q", got)
	}
	// The key can be used again; the prefix it held is free too.
	Put(t, s, "d/a/obj", []byte("again"), Stamp)
	if got, _ := Read(t, s, "d/a/obj", 0, -1); string(got) != "again" {
		t.Fatalf("put after delete reads %q", got)
	}
	if err := s.Delete(ctx, "d/a/obj"); err != nil {
		t.Fatal(err)
	}
	Put(t, s, "d/a", []byte("a file where a folder was"), Stamp)
}

func testList(t *testing.T, s blob.Store) {
	ctx := context.Background()
	keys := []string{"ws/a/logs/e1/d1.rcast", "ws/a/logs/e1/d2.rcast", "ws/a/logs/e1-x/d", "ws/a/logs/e1.x", "ws/a/logs/e10/d", "ws/a/logs0", "ws/a/logs-", "ws/ab/x", "ws/b/logs/e1/d1.rcast", "ws/a/logs/e1/d1.rcast.x"}
	for i, k := range slices.Backward(keys) {
		Put(t, s, k, []byte(k), Stamp.Add(time.Duration(i)*time.Second))
	}
	list := func(prefix string) []string {
		var got []string
		err := s.List(ctx, prefix, func(i blob.Info) error {
			if i.Size != int64(len(i.Key)) || i.SHA256 != Sum([]byte(i.Key)) || i.Modified.IsZero() {
				t.Errorf("list %q: %+v does not describe the object", prefix, i)
			}
			got = append(got, i.Key)
			return nil
		})
		if err != nil {
			t.Fatalf("list %q: %v", prefix, err)
		}
		return got
	}
	sorted := slices.Clone(keys)
	slices.Sort(sorted)
	for _, prefix := range []string{"", "ws/", "ws/a", "ws/a/", "ws/a/logs/e1", "ws/a/logs/e1/", "ws/a/logs/e1/d1.rcast", "ws/b/logs/e1/d1.rcast/", "zz", "ws/c/"} {
		var want []string
		for _, k := range sorted {
			if strings.HasPrefix(k, prefix) {
				want = append(want, k)
			}
		}
		if got := list(prefix); !slices.Equal(got, want) {
			t.Errorf("list %q:\n got %q\nwant %q", prefix, got, want)
		}
	}
	stop := errors.New("enough")
	n := 0
	err := s.List(ctx, "ws/", func(blob.Info) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("list stopped by fn: %v after %d calls, want the fn's error after 1", err, n)
	}
}

func testBadKeys(t *testing.T, s blob.Store) {
	ctx := context.Background()
	for _, key := range []string{"", "/a", "a/", "a//b", "../a", "a/../b", "a/./b", ".", "..", `a\b`, "a b", "a~", "ä", strings.Repeat("a", blob.MaxKey+1), strings.Repeat("a", blob.MaxElement+1), "a/" + strings.Repeat("a", blob.MaxElement+1) + "/b"} {
		_, err := s.Put(ctx, key, strings.NewReader("x"), 1, blob.Meta{SHA256: Sum([]byte("x"))})
		wantCode(t, fmt.Sprintf("put %q", key), err, runlet.EINVALID)
		_, err = s.Stat(ctx, key)
		wantCode(t, fmt.Sprintf("stat %q", key), err, runlet.EINVALID)
		rc, _, err := s.Open(ctx, key, 0, -1)
		if err == nil {
			rc.Close()
		}
		wantCode(t, fmt.Sprintf("open %q", key), err, runlet.EINVALID)
		wantCode(t, fmt.Sprintf("delete %q", key), s.Delete(ctx, key), runlet.EINVALID)
	}
	longest := strings.Repeat("k", blob.MaxElement)
	for len(longest)+1+blob.MaxElement <= blob.MaxKey {
		longest += "/" + strings.Repeat("k", blob.MaxElement)
	}
	longest += "/" + strings.Repeat("k", blob.MaxKey-len(longest)-1)
	Put(t, s, longest, []byte("longest"), Stamp)
	if got, _ := Read(t, s, longest, 0, -1); string(got) != "longest" {
		t.Fatalf("the longest key reads %q", got)
	}
}

func testMeta(t *testing.T, s blob.Store) {
	ctx := context.Background()
	local := time.Date(2026, 1, 2, 3, 4, 5, 123_456_789, time.FixedZone("X", 5*3600))
	for i, m := range []time.Time{local, Stamp, {}} {
		key := fmt.Sprintf("meta/%d", i)
		b := []byte(key)
		Put(t, s, key, b, m)
		info, err := s.Stat(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if info.SHA256 != Sum(b) {
			t.Errorf("%s: sha256 %q, want %q", key, info.SHA256, Sum(b))
		}
		if d := info.Modified.Sub(m); info.Modified.IsZero() != m.IsZero() || d < -time.Millisecond || d > time.Millisecond {
			t.Errorf("%s: modified %v, want %v to the millisecond", key, info.Modified, m)
		}
	}
}

// A Put whose context is cancelled mid-body stores nothing, whether the
// key is new or holds an object. The body goes on giving bytes after the
// cancel: the adapter must see the context, not a failing reader.
func testCancel(t *testing.T, s blob.Store) {
	b := body(1<<20, 6)
	Put(t, s, "cancel/kept", []byte("old"), Stamp)
	for _, key := range []string{"cancel/new", "cancel/kept"} {
		ctx, cancel := context.WithCancel(context.Background())
		r := &cancelAfter{r: bytes.NewReader(b), n: 256 << 10, cancel: cancel}
		_, err := s.Put(ctx, key, r, int64(len(b)), blob.Meta{SHA256: Sum(b), Modified: Stamp})
		cancel()
		if err == nil {
			t.Fatalf("put %s with its context cancelled mid-body succeeded", key)
		}
	}
	_, err := s.Stat(context.Background(), "cancel/new")
	wantCode(t, "stat the cancelled object", err, runlet.ENOTFOUND)
	if got, _ := Read(t, s, "cancel/kept", 0, -1); string(got) != "old" {
		t.Fatalf("a cancelled replace left %d bytes, want the old object", len(got))
	}
}

// cancelAfter cancels its context once n bytes were read.
type cancelAfter struct {
	r      io.Reader
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.n -= n; c.n <= 0 {
		c.cancel()
	}
	return n, err
}

// A 20 MiB object goes in from a stream (never a whole buffer here) and
// comes back the same.
func testLarge(t *testing.T, s blob.Store) {
	if testing.Short() {
		t.Skip("-short")
	}
	const size = 20 << 20
	h := sha256.New()
	_, _ = io.Copy(h, stream(size))
	sum := hex.EncodeToString(h.Sum(nil))
	info, err := s.Put(context.Background(), "big/obj", stream(size), size, blob.Meta{SHA256: sum, Modified: Stamp})
	if err != nil {
		t.Fatalf("put 20 MiB: %v", err)
	}
	if info.Size != size || info.SHA256 != sum {
		t.Fatalf("put 20 MiB: %+v", info)
	}
	rc, _, err := s.Open(context.Background(), "big/obj", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	h.Reset()
	n, err := io.Copy(h, rc)
	if err != nil || n != size || hex.EncodeToString(h.Sum(nil)) != sum {
		t.Fatalf("read back %d bytes (%v), sha256 %x, want %d bytes with %s", n, err, h.Sum(nil), size, sum)
	}
	tail, _ := Read(t, s, "big/obj", size-100, -1)
	want, _ := io.ReadAll(io.NewSectionReader(readerAt{}, size-100, 100))
	if !bytes.Equal(tail, want) {
		t.Fatal("the last 100 bytes differ")
	}
}

// stream is size bytes made on the fly (no io.Seeker, no io.ReaderAt, so
// no adapter can cheat by seeking).
func stream(size int64) io.Reader {
	return struct{ io.Reader }{io.NewSectionReader(readerAt{}, 0, size)}
}

// readerAt gives byte i as a function of i.
type readerAt struct{}

func (readerAt) ReadAt(p []byte, off int64) (int, error) {
	for i := range p {
		x := uint64(off + int64(i))
		p[i] = byte(x*2654435761>>13 ^ x)
	}
	return len(p), nil
}
