// Package s3 is the S3 adapter of blob.Store (R-LOG-2): objects in a
// bucket of any S3 API (MinIO, AWS S3) through minio-go, under an optional
// key prefix, each with user metadata "sha256" and "modified".
//
// A Put is one PUT request (no multipart upload, so S3 makes it visible
// whole or not at all; an object is at most 5 GiB). Two checks keep a bad
// body out: the request carries x-amz-checksum-sha256, the announced
// sha256, so the server refuses a body that does not match it; and the
// adapter hashes the body as it streams it and, when the length or the
// hash is wrong, fails the read before the last byte leaves, so the
// request never completes.
package s3

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/blob"
)

// Type names the adapter (the scheme blob/connect gives it).
const Type = "s3"

// MaxSize is the largest object: S3's limit of a single PUT.
const MaxSize = 5 << 30

// The user metadata keys (x-amz-meta-sha256, x-amz-meta-modified).
const (
	metaSHA256   = "sha256"
	metaModified = "modified"
)

// Config says where the bucket is and how to reach it.
type Config struct {
	// Endpoint is host:port of the S3 API.
	Endpoint  string
	AccessKey string
	SecretKey string
	Bucket    string
	// Prefix is put before every key ("runlet/" keeps objects under
	// runlet/ in a shared bucket); a '/' is added when it lacks one.
	Prefix string
	// Secure speaks HTTPS.
	Secure bool
	// Region is the bucket's region ("" lets the server say).
	Region string
	// Transport, when set, carries the requests (tests).
	Transport http.RoundTripper
}

// Store is a blob.Store in an S3 bucket.
type Store struct {
	client *minio.Client
	core   minio.Core
	bucket string
	prefix string
	where  string // "the object store at http://host:port (bucket b)", for messages
}

var _ blob.Store = (*Store)(nil)

// Open connects to the S3 API of c and creates the bucket when it is
// missing. It fails with EUNAVAILABLE when the endpoint cannot be reached.
func Open(ctx context.Context, c Config) (*Store, error) {
	if c.Endpoint == "" || c.Bucket == "" {
		return nil, runlet.Errorf(runlet.EINVALID, "object store: an S3 endpoint and a bucket are required")
	}
	scheme := "http"
	if c.Secure {
		scheme = "https"
	}
	client, err := minio.New(c.Endpoint, &minio.Options{
		Creds:           credentials.NewStaticV4(c.AccessKey, c.SecretKey, ""),
		Secure:          c.Secure,
		Region:          c.Region,
		Transport:       c.Transport,
		TrailingHeaders: true, // needed to send x-amz-checksum-sha256
		MaxRetries:      3,
	})
	if err != nil {
		return nil, runlet.Errorf(runlet.EINVALID, "object store %s://%s: %v", scheme, c.Endpoint, err)
	}
	prefix := c.Prefix
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	s := &Store{
		client: client,
		core:   minio.Core{Client: client},
		bucket: c.Bucket,
		prefix: prefix,
		where:  fmt.Sprintf("the object store at %s://%s (bucket %s)", scheme, c.Endpoint, c.Bucket),
	}
	ok, err := client.BucketExists(ctx, c.Bucket)
	if err != nil {
		return nil, s.fail("open", "", err)
	}
	if !ok {
		err := client.MakeBucket(ctx, c.Bucket, minio.MakeBucketOptions{Region: c.Region})
		if err != nil && !isCode(err, "BucketAlreadyOwnedByYou", "BucketAlreadyExists") {
			return nil, s.fail("create the bucket", "", err)
		}
	}
	return s, nil
}

// Put implements blob.Store.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, meta blob.Meta) (blob.Info, error) {
	if err := blob.CheckKey(key); err != nil {
		return blob.Info{}, err
	}
	if size < 0 || size > MaxSize {
		return blob.Info{}, runlet.Errorf(runlet.EINVALID, "object %s: size %d is outside 0 to %d bytes", key, size, int64(MaxSize))
	}
	sum, err := hex.DecodeString(meta.SHA256)
	if err != nil || len(sum) != sha256.Size {
		return blob.Info{}, runlet.Errorf(runlet.EINVALID, "object %s: sha256 %q is not 64 hex digits", key, meta.SHA256)
	}
	md := map[string]string{
		metaSHA256:              hex.EncodeToString(sum),
		"x-amz-checksum-sha256": base64.StdEncoding.EncodeToString(sum),
	}
	if !meta.Modified.IsZero() {
		md[metaModified] = meta.Modified.UTC().Format(time.RFC3339Nano)
	}
	body := &checkedReader{ctx: ctx, r: r, left: size, want: sum, h: sha256.New(), key: key}
	_, err = s.client.PutObject(ctx, s.bucket, s.prefix+key, body, size, minio.PutObjectOptions{
		UserMetadata:     md,
		DisableMultipart: true,
		ContentType:      "application/octet-stream",
	})
	if bad := body.failed(); bad != nil {
		return blob.Info{}, bad
	}
	if err != nil {
		if isCode(err, "XMinioParentIsObject", "XMinioObjectExistsAsDirectory") {
			return blob.Info{}, runlet.Errorf(runlet.EINVALID, "object %s: an object of that name is also a folder of others, or one of its folders is an object", key)
		}
		if isCode(err, "BadDigest", "XAmzContentChecksumMismatch", "XAmzContentSHA256Mismatch", "InvalidDigest", "IncompleteBody") {
			return blob.Info{}, runlet.Errorf(runlet.EINVALID, "object %s: the store refused the body: %v", key, err)
		}
		return blob.Info{}, s.fail("store object", key, err)
	}
	return blob.Info{Key: key, Size: size, Meta: blob.Meta{SHA256: hex.EncodeToString(sum), Modified: parseModified(md[metaModified])}}, nil
}

// checkedReader reads exactly left bytes of r, hashing them, and fails
// the read that would give the last of them when the body is short, long
// or not the announced sha256: the request then never completes.
type checkedReader struct {
	ctx  context.Context // a cancelled Put stops reading, so the request never completes
	r    io.Reader
	left int64
	want []byte
	h    hash.Hash
	key  string

	mu  sync.Mutex // the transport may read the body after PutObject returned
	bad error      // the EINVALID reason, once found
}

func (c *checkedReader) failed() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bad
}

func (c *checkedReader) fail(err error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bad = err
	return err
}

func (c *checkedReader) Read(p []byte) (int, error) {
	if bad := c.failed(); bad != nil {
		return 0, bad
	}
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	if c.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.h.Write(p[:n])
	c.left -= int64(n)
	if c.left > 0 {
		if err == io.EOF {
			return 0, c.fail(runlet.Errorf(runlet.EINVALID, "object %s: the body ended %d bytes short", c.key, c.left))
		}
		return n, err
	}
	// The last bytes: check before they go (and the context once more:
	// a Put cancelled now must not complete).
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	var one [1]byte
	if m, _ := io.ReadFull(c.r, one[:]); m > 0 {
		return 0, c.fail(runlet.Errorf(runlet.EINVALID, "object %s: the body is longer than announced", c.key))
	}
	if got := c.h.Sum(nil); !bytes.Equal(got, c.want) {
		return 0, c.fail(runlet.Errorf(runlet.EINVALID, "object %s: the body's sha256 is %x, not %x as announced", c.key, got, c.want))
	}
	return n, nil
}

// Open implements blob.Store: one GET with a Range. An off at the end
// (S3 answers 416) is told from one past it by a Stat.
func (s *Store) Open(ctx context.Context, key string, off, n int64) (io.ReadCloser, blob.Info, error) {
	if err := blob.CheckKey(key); err != nil {
		return nil, blob.Info{}, err
	}
	if off < 0 {
		return nil, blob.Info{}, runlet.Errorf(runlet.EINVALID, "object %s: offset %d is negative", key, off)
	}
	if n == 0 {
		return s.empty(ctx, key, off)
	}
	var opts minio.GetObjectOptions
	switch {
	case n > 0 && n <= math.MaxInt64-off:
		opts.Set("Range", fmt.Sprintf("bytes=%d-%d", off, off+n-1))
	case off > 0:
		opts.Set("Range", fmt.Sprintf("bytes=%d-", off))
	}
	rc, oi, h, err := s.core.GetObject(ctx, s.bucket, s.prefix+key, opts)
	if err != nil {
		if isCode(err, "InvalidRange") {
			return s.empty(ctx, key, off)
		}
		return nil, blob.Info{}, s.fail("read object", key, err)
	}
	info := s.info(key, oi)
	if total, ok := rangeTotal(h.Get("Content-Range")); ok {
		info.Size = total
	}
	return rc, info, nil
}

// empty answers a read of nothing at off: an empty reader when off is
// within or at the end of the object, EINVALID past it.
func (s *Store) empty(ctx context.Context, key string, off int64) (io.ReadCloser, blob.Info, error) {
	info, err := s.Stat(ctx, key)
	if err != nil {
		return nil, blob.Info{}, err
	}
	if off > info.Size {
		return nil, blob.Info{}, runlet.Errorf(runlet.EINVALID, "object %s: offset %d is outside its %d bytes", key, off, info.Size)
	}
	return io.NopCloser(strings.NewReader("")), info, nil
}

// rangeTotal reads the object's size from "bytes a-b/total".
func rangeTotal(cr string) (int64, bool) {
	_, total, ok := strings.Cut(cr, "/")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(total, 10, 64)
	return n, err == nil
}

// Stat implements blob.Store.
func (s *Store) Stat(ctx context.Context, key string) (blob.Info, error) {
	if err := blob.CheckKey(key); err != nil {
		return blob.Info{}, err
	}
	oi, err := s.client.StatObject(ctx, s.bucket, s.prefix+key, minio.StatObjectOptions{})
	if err != nil {
		return blob.Info{}, s.fail("read object", key, err)
	}
	return s.info(key, oi), nil
}

func (s *Store) info(key string, oi minio.ObjectInfo) blob.Info {
	md := oi.UserMetadata
	if md == nil {
		md = oi.UserMetadataStripped
	}
	info := blob.Info{Key: key, Size: oi.Size}
	for k, v := range md {
		switch strings.ToLower(strings.TrimPrefix(strings.ToLower(k), "x-amz-meta-")) {
		case metaSHA256:
			info.SHA256 = v
		case metaModified:
			info.Modified = parseModified(v)
		}
	}
	return info
}

func parseModified(v string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// Delete implements blob.Store.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := blob.CheckKey(key); err != nil {
		return err
	}
	if err := s.client.RemoveObject(ctx, s.bucket, s.prefix+key, minio.RemoveObjectOptions{}); err != nil && !isCode(err, "NoSuchKey") {
		return s.fail("delete object", key, err)
	}
	return nil
}

// List implements blob.Store. S3 lists in key order (UTF-8 binary). The
// metadata comes with the listing from MinIO; from other S3 servers, by a
// Stat of each object.
func (s *Store) List(ctx context.Context, prefix string, fn func(blob.Info) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the listing when fn stops early
	for oi := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix + prefix, Recursive: true, WithMetadata: true}) {
		if oi.Err != nil {
			return s.fail("list objects under", prefix, oi.Err)
		}
		key := strings.TrimPrefix(oi.Key, s.prefix)
		if blob.CheckKey(key) != nil {
			continue // not one of ours
		}
		info := s.info(key, oi)
		if info.SHA256 == "" {
			var err error
			if info, err = s.Stat(ctx, key); runlet.ErrorCode(err) == runlet.ENOTFOUND {
				continue
			} else if err != nil {
				return err
			}
		}
		if err := fn(info); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// Close implements blob.Store.
func (s *Store) Close() error {
	return nil // nothing to release: requests are per call
}

// isCode reports whether err is an S3 error response with one of codes.
func isCode(err error, codes ...string) bool {
	code := minio.ToErrorResponse(err).Code
	for _, c := range codes {
		if code == c {
			return true
		}
	}
	return false
}

// fail turns a minio-go error into the store's: a missing object is
// ENOTFOUND, an endpoint that cannot be reached EUNAVAILABLE (with the
// endpoint named), anything else wrapped for the log.
func (s *Store) fail(what, key string, err error) error {
	subject := what
	if key != "" {
		subject += " " + key
	}
	var re *runlet.Error
	switch {
	case errors.As(err, &re):
		return err
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("%s: %w", subject, err)
	case isCode(err, "NoSuchKey", "NotFound"):
		return runlet.Errorf(runlet.ENOTFOUND, "%s: no such object", subject)
	case isCode(err, "NoSuchBucket"):
		return runlet.Errorf(runlet.ENOTFOUND, "%s: the bucket is gone from %s", subject, s.where)
	case unreachable(err):
		return fmt.Errorf("%w: %w", runlet.Errorf(runlet.EUNAVAILABLE, "%s: %s cannot be reached; try again later", subject, s.where), err)
	case isCode(err, "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
		return fmt.Errorf("%s: %s refused the credentials: %w", subject, s.where, err)
	}
	return fmt.Errorf("%s: %s: %w", subject, s.where, err)
}

// unreachable reports an error of the network, not of S3: refused,
// reset, timed out, a deadline spent waiting, a connection cut mid-answer,
// or a server that answers "unavailable".
func unreachable(err error) bool {
	var oe *net.OpError
	var ne net.Error
	switch {
	case errors.As(err, &oe), errors.As(err, &ne) && ne.Timeout():
		return true
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET):
		return true
	case isCode(err, "ServiceUnavailable", "SlowDown", "XMinioServerNotInitialized"):
		return true
	}
	code := minio.ToErrorResponse(err).StatusCode
	return code == http.StatusServiceUnavailable || code == http.StatusBadGateway || code == http.StatusGatewayTimeout
}
