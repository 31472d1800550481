package connect_test

import (
	"context"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/blob/blobtest"
	"github.com/runlet/runlet/blob/connect"
	"github.com/runlet/runlet/blob/dir"
	"github.com/runlet/runlet/blob/s3"
	"github.com/runlet/runlet/internal/testenv"
)

// A directory is named by dir:///abs, file:///abs or a plain path, and
// each opens the same store.
func TestOpenDir(t *testing.T) {
	root := filepath.Join(t.TempDir(), "blobs")
	ctx := context.Background()
	first, err := connect.Open(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	blobtest.Put(t, first, "k", []byte("v"), blobtest.Stamp)
	for _, u := range []string{root, "dir://" + filepath.ToSlash(root), "file://" + filepath.ToSlash(root)} {
		s, err := connect.Open(ctx, u)
		if err != nil {
			t.Fatalf("open %s: %v", u, err)
		}
		if d, ok := s.(*dir.Store); !ok || d.Root() != root {
			t.Fatalf("open %s: %T %v, want the directory store in %s", u, s, s, root)
		}
		if got, _ := blobtest.Read(t, s, "k", 0, -1); string(got) != "v" {
			t.Fatalf("open %s: reads %q", u, got)
		}
		s.Close()
	}
}

func TestS3Config(t *testing.T) {
	for _, c := range []struct {
		url  string
		want s3.Config
	}{
		{"s3://AK:SK@minio:9000/logs", s3.Config{Endpoint: "minio:9000", AccessKey: "AK", SecretKey: "SK", Bucket: "logs", Secure: true}},
		{"s3://AK:S%2FK@s3.example.com/logs/runlet?region=eu-west-1", s3.Config{Endpoint: "s3.example.com", AccessKey: "AK", SecretKey: "S/K", Bucket: "logs", Prefix: "runlet", Secure: true, Region: "eu-west-1"}},
		{"s3://AK:SK@h:9000/b?prefix=p/q/&secure=false", s3.Config{Endpoint: "h:9000", AccessKey: "AK", SecretKey: "SK", Bucket: "b", Prefix: "p/q", Secure: false}},
		{"s3+http://AK:SK@127.0.0.1:9000/b", s3.Config{Endpoint: "127.0.0.1:9000", AccessKey: "AK", SecretKey: "SK", Bucket: "b"}},
		{"s3+https://AK:SK@h/b/x?prefix=y", s3.Config{Endpoint: "h", AccessKey: "AK", SecretKey: "SK", Bucket: "b", Prefix: "x/y", Secure: true}},
	} {
		u, err := url.Parse(c.url)
		if err != nil {
			t.Fatal(err)
		}
		got, err := connect.S3Config(u)
		if err != nil {
			t.Errorf("%s: %v", c.url, err)
			continue
		}
		if got != c.want {
			t.Errorf("%s:\n got %+v\nwant %+v", c.url, got, c.want)
		}
	}
}

// Bad URLs are EINVALID, and no message shows the secret.
func TestOpenRefuses(t *testing.T) {
	for _, u := range []string{
		"",
		"ftp://x/y",
		"dir://host/path",
		"s3://AK:TOPSECRET@h:9000",
		"s3://AK:TOPSECRET@/bucket",
		"s3://AK:TOPSECRET@h:9000/b?secure=maybe",
		"s3://AK:TOPSECRET@h:9000/b?colour=blue",
		"s3://AK:TOP/SECRET@h:9000/b%zz",
	} {
		_, err := connect.Open(context.Background(), u)
		if runlet.ErrorCode(err) != runlet.EINVALID {
			t.Errorf("open %q: %v, want EINVALID", u, err)
		}
		if err != nil && strings.Contains(err.Error(), "TOPSECRET") || strings.Contains(err.Error(), "TOP/SECRET") {
			t.Errorf("open %q: the error shows the secret: %v", u, err)
		}
	}
}

// An S3 endpoint that does not answer is EUNAVAILABLE, named, without the
// secret.
func TestOpenUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nobody answers there now
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err = connect.Open(ctx, "s3+http://AK:TOPSECRET@"+addr+"/bucket")
	if runlet.ErrorCode(err) != runlet.EUNAVAILABLE || !strings.Contains(err.Error(), addr) || strings.Contains(err.Error(), "TOPSECRET") {
		t.Fatalf("open an S3 store nobody serves: %v, want EUNAVAILABLE naming %s without the secret", err, addr)
	}
}

func TestOpenMinIO(t *testing.T) {
	m := testenv.MinIO(t)
	s, err := connect.Open(context.Background(), m.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	blobtest.Put(t, s, "ws/w/logs/e/d.rcast", []byte("cipher"), blobtest.Stamp)
	if got, _ := blobtest.Read(t, s, "ws/w/logs/e/d.rcast", 0, -1); string(got) != "cipher" {
		t.Fatalf("read %q", got)
	}
}
