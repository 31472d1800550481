// Package connect opens the object store a URL names (R-LOG-2), picking
// the adapter by scheme: `runlet server --blobs URL` (env RUNLET_BLOBS)
// comes here.
//
//	dir:///var/lib/runlet/blobs    a directory (blob/dir); a plain path too
//	s3://ACCESS:SECRET@host:port/bucket?prefix=P&region=R&secure=false
//	s3+http://ACCESS:SECRET@host:port/bucket   S3 over plain HTTP
//
// s3:// speaks HTTPS unless secure=false. Errors never show the secret.
package connect

import (
	"context"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/blob"
	"github.com/runlet/runlet/blob/dir"
	"github.com/runlet/runlet/blob/s3"
	"github.com/runlet/runlet/internal/redact"
)

// Open opens the store rawURL names.
func Open(ctx context.Context, rawURL string) (blob.Store, error) {
	scheme, _, hasScheme := strings.Cut(rawURL, "://")
	if !hasScheme {
		if rawURL == "" {
			return nil, runlet.Errorf(runlet.EINVALID, "object store: the URL is empty (a directory, dir:///path or s3://…)")
		}
		return openDir(rawURL)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, runlet.Errorf(runlet.EINVALID, "object store URL %s does not parse; escape special characters in the access key and secret with %%XX", redact.URL(rawURL))
	}
	switch strings.ToLower(scheme) {
	case "dir", "file":
		if u.Host != "" && u.Host != "localhost" {
			return nil, runlet.Errorf(runlet.EINVALID, "object store URL %s: want dir:///absolute/path (three slashes)", redact.URL(rawURL))
		}
		return openDir(u.Path)
	case "s3", "s3+http", "s3+https":
		c, err := S3Config(u)
		if err != nil {
			return nil, err
		}
		return s3.Open(ctx, c)
	}
	return nil, runlet.Errorf(runlet.EINVALID, "object store URL %s: unknown scheme %q (want dir, s3 or s3+http)", redact.URL(rawURL), scheme)
}

func openDir(path string) (blob.Store, error) {
	if path == "" {
		return nil, runlet.Errorf(runlet.EINVALID, "object store: the directory is empty")
	}
	return dir.Open(filepath.FromSlash(path))
}

// S3Config reads an s3://, s3+http:// or s3+https:// URL.
func S3Config(u *url.URL) (s3.Config, error) {
	shown := redact.URL(u.String())
	c := s3.Config{Endpoint: u.Host, Secure: !strings.EqualFold(u.Scheme, "s3+http")}
	if u.User != nil {
		c.AccessKey = u.User.Username()
		c.SecretKey, _ = u.User.Password()
	}
	c.Bucket, c.Prefix, _ = strings.Cut(strings.Trim(u.Path, "/"), "/")
	q := u.Query()
	if p := q.Get("prefix"); p != "" {
		if c.Prefix != "" {
			c.Prefix += "/"
		}
		c.Prefix += strings.Trim(p, "/")
	}
	c.Region = q.Get("region")
	if v := q.Get("secure"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return s3.Config{}, runlet.Errorf(runlet.EINVALID, "object store URL %s: secure=%q is not true or false", shown, v)
		}
		c.Secure = b
	}
	for k := range q {
		if k != "prefix" && k != "region" && k != "secure" {
			return s3.Config{}, runlet.Errorf(runlet.EINVALID, "object store URL %s: unknown parameter %q (prefix, region, secure)", shown, k)
		}
	}
	switch {
	case c.Endpoint == "":
		return s3.Config{}, runlet.Errorf(runlet.EINVALID, "object store URL %s: no host:port", shown)
	case c.Bucket == "":
		return s3.Config{}, runlet.Errorf(runlet.EINVALID, "object store URL %s: no bucket (s3://ACCESS:SECRET@host:port/bucket)", shown)
	}
	return c, nil
}
