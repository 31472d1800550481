package spool

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// logBuffer is a slog handler's output, safe for concurrent use.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// open opens a spool in dir with opts and a logger into the returned
// buffer, closed at the end of the test.
func open(t testing.TB, dir string, opts Options) (*Spool, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	opts.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("open %s: %v", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s, logs
}

// rec is the data of the test record i.
func rec(i int) []byte {
	return fmt.Appendf(nil, "reading %06d {\"id\":%d,\"temp\":4.5,\"batt\":75}", i, i)
}

// appendN appends the records rec(from)…rec(from+n-1) one Append each.
func appendN(t testing.TB, s *Spool, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		if _, err := s.Append(context.Background(), rec(i)); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
}

// readAll reads every record after after, in reads of 100.
func readAll(t testing.TB, s *Spool, after uint64) []Record {
	t.Helper()
	var all []Record
	for {
		recs, err := s.Read(after, 100, 0)
		if err != nil {
			t.Fatalf("read after %d: %v", after, err)
		}
		if len(recs) == 0 {
			return all
		}
		all = append(all, recs...)
		after = recs[len(recs)-1].Seq
	}
}

// segmentFiles lists the segment files of dir.
func segmentFiles(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+segmentExt))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// diskBytes is the size of dir's segments.
func diskBytes(t testing.TB, dir string) int64 {
	t.Helper()
	var n int64
	for _, p := range segmentFiles(t, dir) {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		n += fi.Size()
	}
	return n
}

// copyDir copies the files of src into a new directory.
func copyDir(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// checkRecords fails t unless recs are rec(i) with seq i for i in
// first..first+len-1, and there are n of them.
func checkRecords(t testing.TB, recs []Record, first uint64, n int) {
	t.Helper()
	if len(recs) != n {
		t.Fatalf("read %d records, want %d", len(recs), n)
	}
	for i, r := range recs {
		want := first + uint64(i)
		if r.Seq != want || !bytes.Equal(r.Data, rec(int(want))) {
			t.Fatalf("record %d is seq %d %q, want seq %d %q", i, r.Seq, r.Data, want, rec(int(want)))
		}
	}
}

// appendBatches appends rec(from)…rec(from+n-1), 500 per Append.
func appendBatches(t testing.TB, s *Spool, from, n int) {
	t.Helper()
	for i := from; i < from+n; i += 500 {
		var batch [][]byte
		for j := i; j < min(i+500, from+n); j++ {
			batch = append(batch, rec(j))
		}
		first, err := s.Append(context.Background(), batch...)
		if err != nil || first != uint64(i) {
			t.Fatalf("append %d: first %d, %v", i, first, err)
		}
	}
}
