// Package dir is the directory adapter of blob.Store (R-LOG-2), the
// embedded default: one file per object under a root directory (the
// server's <data dir>/blobs). A file holds a fixed header with the
// object's Meta, then its bytes, and is written beside its final name,
// fsynced and renamed over it, so that a crash or a concurrent reader sees
// the old object or the new one whole, body and Meta together.
package dir

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/blob"
)

// Type names the adapter (the scheme blob/connect gives it).
const Type = "dir"

// The files of the root: an object's file is its key's path with suffix
// appended, a temporary file starts with tempPrefix. Both use '~', which no
// key element may hold, so an object "a" and an object "a/b" (file "a~"
// and directory "a") never meet, and a temporary file is never an object.
const (
	suffix     = "~"
	tempPrefix = "~tmp-"
)

// header is the start of every object file: magic, the sha256 (32 bytes),
// the modification time in Unix nanoseconds (int64, big-endian; 0 for the
// zero time) and flags (reserved, zero).
const (
	magic     = "RLBLOB1\n"
	headerLen = len(magic) + sha256.Size + 8 + 8
)

// staleTemp is how old a temporary file must be before Open removes it as
// the leftover of a crash (a younger one may be another process's Put).
const staleTemp = time.Hour

// Store is a blob.Store in a directory.
type Store struct {
	root string
}

var _ blob.Store = (*Store)(nil)

// Open opens the store in root, creating the directory (0700) when it is
// missing, and removes temporary files left by a crash.
func Open(root string) (*Store, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("object store directory %s: %w", root, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("create object store directory %s: %w", abs, err)
	}
	s := &Store{root: abs}
	s.removeStaleTemps()
	return s, nil
}

// Root returns the store's directory.
func (s *Store) Root() string { return s.root }

func (s *Store) removeStaleTemps() {
	cutoff := time.Now().Add(-staleTemp)
	_ = filepath.WalkDir(s.root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasPrefix(d.Name(), tempPrefix) {
			return nil
		}
		if fi, err := d.Info(); err == nil && fi.ModTime().Before(cutoff) {
			_ = os.Remove(path)
		}
		return nil
	})
}

// path returns the file of key, which CheckKey has accepted.
func (s *Store) path(key string) string {
	return filepath.Join(s.root, filepath.FromSlash(key)+suffix)
}

// Put implements blob.Store: the bytes go, after the header, to a
// temporary file in the key's directory, hashed on the way; only when
// their length and sha256 match is the file fsynced and renamed over the
// key's file (and the directory fsynced).
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, meta blob.Meta) (blob.Info, error) {
	if err := blob.CheckKey(key); err != nil {
		return blob.Info{}, err
	}
	sum, err := checkMeta(key, size, meta)
	if err != nil {
		return blob.Info{}, err
	}
	final := s.path(key)
	tmp, err := s.createTemp(filepath.Dir(final))
	if err != nil {
		return blob.Info{}, s.fail("store object "+key, err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if err := writeObject(ctx, tmp, key, r, size, sum, meta.Modified); err != nil {
		tmp.Close()
		return blob.Info{}, s.fail("store object "+key, err)
	}
	if err := tmp.Close(); err != nil {
		return blob.Info{}, s.fail("store object "+key, err)
	}
	if err := ctx.Err(); err != nil {
		return blob.Info{}, fmt.Errorf("store object %s: %w", key, err)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return blob.Info{}, s.fail("store object "+key, err)
	}
	syncDir(filepath.Dir(final))
	return blob.Info{Key: key, Size: size, Meta: blob.Meta{SHA256: hex.EncodeToString(sum), Modified: roundTrip(meta.Modified)}}, nil
}

// checkMeta returns the sha256 meta names, refusing a malformed one or a
// negative size with EINVALID.
func checkMeta(key string, size int64, meta blob.Meta) ([]byte, error) {
	if size < 0 {
		return nil, runlet.Errorf(runlet.EINVALID, "object %s: size %d is negative", key, size)
	}
	sum, err := hex.DecodeString(meta.SHA256)
	if err != nil || len(sum) != sha256.Size {
		return nil, runlet.Errorf(runlet.EINVALID, "object %s: sha256 %q is not 64 hex digits", key, meta.SHA256)
	}
	return sum, nil
}

// createTemp makes a temporary file in dir, creating dir. A Delete may
// remove an empty directory between the two: then it tries again.
func (s *Store) createTemp(dir string) (*os.File, error) {
	var err error
	for range 5 {
		if err = os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
		var f *os.File
		if f, err = os.CreateTemp(dir, tempPrefix+"*"); err == nil {
			return f, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	return nil, err
}

// writeObject writes the header and size bytes of r to f, checking that r
// holds exactly size bytes with sha256 sum, then fsyncs f.
func writeObject(ctx context.Context, f *os.File, key string, r io.Reader, size int64, sum []byte, modified time.Time) error {
	if _, err := f.Write(encodeHeader(sum, modified)); err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(ctxReader{ctx, r}, size))
	if err != nil {
		return fmt.Errorf("read the body: %w", err)
	}
	if n < size {
		return runlet.Errorf(runlet.EINVALID, "object %s: the body ended after %d of its %d bytes", key, n, size)
	}
	if extra, err := io.ReadFull(ctxReader{ctx, r}, make([]byte, 1)); extra > 0 {
		return runlet.Errorf(runlet.EINVALID, "object %s: the body is longer than its %d bytes", key, size)
	} else if err != nil && err != io.EOF {
		return fmt.Errorf("read the body: %w", err)
	}
	if got := h.Sum(nil); !bytes.Equal(got, sum) {
		return runlet.Errorf(runlet.EINVALID, "object %s: the body's sha256 is %x, not %x as announced", key, got, sum)
	}
	return f.Sync()
}

// ctxReader stops reading once its context is done, so that a cancelled
// Put stops mid-body.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func encodeHeader(sum []byte, modified time.Time) []byte {
	b := make([]byte, 0, headerLen)
	b = append(b, magic...)
	b = append(b, sum...)
	var nanos int64
	if !modified.IsZero() {
		nanos = modified.UnixNano()
	}
	b = binary.BigEndian.AppendUint64(b, uint64(nanos))
	return binary.BigEndian.AppendUint64(b, 0)
}

// roundTrip is the time as a header keeps it.
func roundTrip(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return time.Unix(0, t.UnixNano()).UTC()
}

// readHeader reads the header of an object's open file and describes it.
func readHeader(f *os.File, key string) (blob.Info, error) {
	fi, err := f.Stat()
	if err != nil {
		return blob.Info{}, err
	}
	b := make([]byte, headerLen)
	if _, err := io.ReadFull(f, b); err != nil || string(b[:len(magic)]) != magic {
		return blob.Info{}, fmt.Errorf("object %s: %s is not an object file (bad header)", key, f.Name())
	}
	info := blob.Info{Key: key, Size: fi.Size() - int64(headerLen)}
	info.SHA256 = hex.EncodeToString(b[len(magic) : len(magic)+sha256.Size])
	if nanos := int64(binary.BigEndian.Uint64(b[len(magic)+sha256.Size:])); nanos != 0 {
		info.Modified = time.Unix(0, nanos).UTC()
	}
	return info, nil
}

// open opens key's file and reads its header.
func (s *Store) open(key string) (*os.File, blob.Info, error) {
	if err := blob.CheckKey(key); err != nil {
		return nil, blob.Info{}, err
	}
	f, err := os.Open(s.path(key))
	if err != nil {
		return nil, blob.Info{}, s.fail("read object "+key, err)
	}
	info, err := readHeader(f, key)
	if err != nil {
		f.Close()
		return nil, blob.Info{}, err
	}
	return f, info, nil
}

// Open implements blob.Store. The reader holds the file open, so a Put
// replacing the object meanwhile does not change what it reads.
func (s *Store) Open(ctx context.Context, key string, off, n int64) (io.ReadCloser, blob.Info, error) {
	if err := ctx.Err(); err != nil {
		return nil, blob.Info{}, err
	}
	f, info, err := s.open(key)
	if err != nil {
		return nil, blob.Info{}, err
	}
	if off < 0 || off > info.Size {
		f.Close()
		return nil, blob.Info{}, runlet.Errorf(runlet.EINVALID, "object %s: offset %d is outside its %d bytes", key, off, info.Size)
	}
	if n < 0 || n > info.Size-off {
		n = info.Size - off
	}
	return section{io.NewSectionReader(f, int64(headerLen)+off, n), f}, info, nil
}

type section struct {
	*io.SectionReader
	f *os.File
}

func (s section) Close() error { return s.f.Close() }

// Stat implements blob.Store.
func (s *Store) Stat(ctx context.Context, key string) (blob.Info, error) {
	if err := ctx.Err(); err != nil {
		return blob.Info{}, err
	}
	f, info, err := s.open(key)
	if err != nil {
		return blob.Info{}, err
	}
	f.Close()
	return info, nil
}

// Delete implements blob.Store, and removes the directories it leaves
// empty (a Put that meets one being removed creates it again).
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := blob.CheckKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p := s.path(key)
	if err := os.Remove(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return s.fail("delete object "+key, err)
	}
	dir := filepath.Dir(p)
	syncDir(dir)
	for dir != s.root && strings.HasPrefix(dir, s.root) {
		if os.Remove(dir) != nil { // not empty (or gone): stop
			break
		}
		dir = filepath.Dir(dir)
	}
	return nil
}

// List implements blob.Store. It walks the directory of prefix (up to its
// last '/'), then sorts the keys, since a directory walk's order is not
// the keys' ('/' sorts after '-' and '.').
func (s *Store) List(ctx context.Context, prefix string, fn func(blob.Info) error) error {
	base := ""
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		base = prefix[:i]
		if err := blob.CheckKey(base); err != nil {
			return nil // no key has this prefix
		}
	}
	start := filepath.Join(s.root, filepath.FromSlash(base))
	var keys []string
	err := filepath.WalkDir(start, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed meanwhile
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() || strings.HasPrefix(name, tempPrefix) || !strings.HasSuffix(name, suffix) {
			return nil
		}
		rel, err := filepath.Rel(s.root, path)
		if err != nil {
			return err
		}
		if key := strings.TrimSuffix(filepath.ToSlash(rel), suffix); strings.HasPrefix(key, prefix) {
			keys = append(keys, key)
		}
		return nil
	})
	if err != nil {
		return s.fail("list objects under "+prefix, err)
	}
	slices.Sort(keys)
	for _, key := range keys {
		info, err := s.Stat(ctx, key)
		if runlet.ErrorCode(err) == runlet.ENOTFOUND {
			continue // deleted since the walk
		}
		if err != nil {
			return err
		}
		if err := fn(info); err != nil {
			return err
		}
	}
	return nil
}

// Close implements blob.Store; a directory needs no closing.
func (s *Store) Close() error { return nil }

// fail turns an operating system error into the store's: a missing file
// is ENOTFOUND, a full disk EFULL, anything else wrapped for the log.
func (s *Store) fail(what string, err error) error {
	var re *runlet.Error
	switch {
	case errors.As(err, &re):
		return err
	case errors.Is(err, fs.ErrNotExist):
		return runlet.Errorf(runlet.ENOTFOUND, "%s: no such object", what)
	case runlet.IsDiskFull(err):
		return runlet.DiskFull("the object store at "+s.root, err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: %w", what, err)
	}
	return fmt.Errorf("%s in %s: %w", what, s.root, err)
}

// syncDir makes a rename or removal in dir durable; some systems cannot
// sync a directory, and then it is as durable as they make it.
func syncDir(dir string) {
	if f, err := os.Open(dir); err == nil {
		_ = f.Sync()
		f.Close()
	}
}
