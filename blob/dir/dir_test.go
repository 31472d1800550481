package dir_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet/blob"
	"github.com/runlet/runlet/blob/blobtest"
	"github.com/runlet/runlet/blob/dir"
)

func open(t *testing.T) blob.Store {
	s, err := dir.Open(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestContract(t *testing.T) { blobtest.Run(t, open) }

// Files are 0600 and directories 0700, under the root only; no temporary
// file stays behind; emptied directories go.
func TestFiles(t *testing.T) {
	root := filepath.Join(t.TempDir(), "blobs")
	s, err := dir.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	blobtest.Put(t, s, "ws/w/logs/e/d.rcast", []byte("cipher"), time.Now())
	_, err = s.Put(context.Background(), "ws/w/logs/e/bad", strings.NewReader("x"), 1, blob.Meta{SHA256: blobtest.Sum([]byte("y"))})
	if err == nil {
		t.Fatal("a bad body was stored")
	}
	var files []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700 | fs.ModeDir
		} else {
			files = append(files, strings.TrimPrefix(p, root))
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 {
		t.Fatalf("files under the root: %q, want the one object", files)
	}
	if err := s.Delete(context.Background(), "ws/w/logs/e/d.rcast"); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(root); len(entries) != 0 {
		t.Fatalf("after the last delete the root holds %d entries", len(entries))
	}
}

// A temporary file a crash left long ago goes at the next Open; a young
// one (another Put's) stays; neither is an object.
func TestStaleTemp(t *testing.T) {
	root := t.TempDir()
	old := filepath.Join(root, "~tmp-crashed")
	young := filepath.Join(root, "~tmp-writing")
	for _, p := range []string{old, young} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	long := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(old, long, long); err != nil {
		t.Fatal(err)
	}
	s, err := dir.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("the stale temporary file is still there (%v)", err)
	}
	if _, err := os.Stat(young); err != nil {
		t.Errorf("the young temporary file went: %v", err)
	}
	n := 0
	if err := s.List(context.Background(), "", func(blob.Info) error { n++; return nil }); err != nil || n != 0 {
		t.Fatalf("list: %d objects (%v), want none", n, err)
	}
}

// A file that is not an object (no header) is an error, never data.
func TestDamagedFile(t *testing.T) {
	root := t.TempDir()
	s, err := dir.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "junk~"), []byte("no header"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(context.Background(), "junk"); err == nil || !bytes.Contains([]byte(err.Error()), []byte("header")) {
		t.Fatalf("stat a damaged file: %v, want an error about its header", err)
	}
}
