// Package blob is the object store contract (R-LOG-2): where the server
// keeps run logs, which are ciphertext (the devices encrypt them). Two
// adapters implement it, each passing the one contract suite in
// blob/blobtest: blob/dir, a directory (the embedded default, on the
// server's data directory) and blob/s3, any S3 API (MinIO, AWS S3) through
// minio-go. blob/connect opens one from a URL.
package blob

import (
	"context"
	"io"
	"time"
)

// Meta is what an object carries besides its bytes: the sha256 of the
// bytes (lower-case hex) and when its writer last modified them.
type Meta struct {
	SHA256   string
	Modified time.Time
}

// Info describes a stored object.
type Info struct {
	Key  string
	Size int64
	Meta
}

// Store keeps objects by key. Keys are slash-separated paths of
// [A-Za-z0-9._-] elements, none "." or ".." (CheckKey); the caller (the
// log service) names them, and never makes a key that is also the folder
// of others ("a" and "a/b"): MinIO refuses that (EINVALID). Every method returns *runlet.Error values:
// ENOTFOUND for a missing object, EINVALID for a bad key or a body that
// does not match its Meta, EUNAVAILABLE when the store cannot be reached
// (S3 down: a caller retries), and any other error as internal.
type Store interface {
	// Put stores size bytes read from r as key with meta, replacing an
	// existing object whole: readers see the old object or the new one,
	// never part of one. Put reads r to the end and checks the bytes'
	// length and sha256 against size and meta.SHA256 before the object
	// becomes visible; on a mismatch (EINVALID) or any failure nothing
	// is stored and an existing object stays.
	Put(ctx context.Context, key string, r io.Reader, size int64, meta Meta) (Info, error)
	// Open reads key from byte off, n bytes (n < 0: to the end). An off
	// beyond the end is EINVALID. The caller closes the reader.
	Open(ctx context.Context, key string, off, n int64) (io.ReadCloser, Info, error)
	// Stat describes key.
	Stat(ctx context.Context, key string) (Info, error)
	// Delete removes key; a missing key is no error.
	Delete(ctx context.Context, key string) error
	// List calls fn for each object whose key starts with prefix, in key
	// order, until fn returns an error (which List returns).
	List(ctx context.Context, prefix string, fn func(Info) error) error
	// Close releases the store.
	Close() error
}
