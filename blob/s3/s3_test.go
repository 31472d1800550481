package s3_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/blob"
	"github.com/runlet/runlet/blob/blobtest"
	"github.com/runlet/runlet/blob/s3"
	"github.com/runlet/runlet/internal/testenv"
)

func config(m *testenv.MinIOServer, bucket, prefix string) s3.Config {
	return s3.Config{Endpoint: m.Endpoint, AccessKey: m.AccessKey, SecretKey: m.SecretKey, Bucket: bucket, Prefix: prefix}
}

func openStore(t *testing.T, c s3.Config) *s3.Store {
	t.Helper()
	s, err := s3.Open(context.Background(), c)
	if err != nil {
		t.Fatalf("open %s: %v", c.Bucket, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// The contract, each test in a bucket of its own, and again under a
// prefix in a shared bucket.
func TestContract(t *testing.T) {
	m := testenv.MinIO(t)
	t.Run("Bucket", func(t *testing.T) {
		blobtest.Run(t, func(t *testing.T) blob.Store {
			return openStore(t, config(m, strings.ToLower(testenv.RandomName("b-")), ""))
		})
	})
	t.Run("Prefix", func(t *testing.T) {
		blobtest.Run(t, func(t *testing.T) blob.Store {
			return openStore(t, config(m, "shared", testenv.RandomName("p-")))
		})
	})
}

// An object outside the prefix is not the store's: List skips it, and a
// key never reaches it.
func TestPrefixIsolation(t *testing.T) {
	m := testenv.MinIO(t)
	outside := openStore(t, config(m, "iso", ""))
	inside := openStore(t, config(m, "iso", "runlet"))
	blobtest.Put(t, outside, "k", []byte("outside"), blobtest.Stamp)
	blobtest.Put(t, inside, "k", []byte("inside"), blobtest.Stamp)
	if got, _ := blobtest.Read(t, inside, "k", 0, -1); string(got) != "inside" {
		t.Fatalf("inside reads %q", got)
	}
	var keys []string
	if err := inside.List(context.Background(), "", func(i blob.Info) error { keys = append(keys, i.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(keys, ",") != "k" {
		t.Fatalf("inside lists %q, want [k]", keys)
	}
	if got, _ := blobtest.Read(t, outside, "runlet/k", 0, -1); string(got) != "inside" {
		t.Fatalf("the prefixed object is %q at runlet/k", got)
	}
}

// When MinIO is down a Put fails with EUNAVAILABLE, naming the endpoint,
// within the context the caller gives; once it is back the same Put
// succeeds and the store holds exactly one object.
func TestOutage(t *testing.T) {
	m := testenv.MinIO(t)
	s := openStore(t, config(m, "outage", ""))
	body := []byte("encrypted log")
	meta := blob.Meta{SHA256: blobtest.Sum(body), Modified: blobtest.Stamp}
	m.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := s.Put(ctx, "ws/w/logs/e/d.rcast", strings.NewReader(string(body)), int64(len(body)), meta)
	if runlet.ErrorCode(err) != runlet.EUNAVAILABLE || !strings.Contains(err.Error(), m.Endpoint) {
		t.Fatalf("put while MinIO is down: %v, want EUNAVAILABLE naming %s", err, m.Endpoint)
	}
	if strings.Contains(err.Error(), m.SecretKey) {
		t.Fatalf("the error shows the secret: %v", err)
	}
	_, err = s.Stat(ctx, "ws/w/logs/e/d.rcast")
	if runlet.ErrorCode(err) != runlet.EUNAVAILABLE {
		t.Fatalf("stat while MinIO is down: %v, want EUNAVAILABLE", err)
	}
	m.Start()
	blobtest.Put(t, s, "ws/w/logs/e/d.rcast", body, blobtest.Stamp)
	n := 0
	if err := s.List(context.Background(), "", func(i blob.Info) error {
		n++
		if i.Key != "ws/w/logs/e/d.rcast" || i.SHA256 != meta.SHA256 {
			return errors.New("unexpected object " + i.Key)
		}
		return nil
	}); err != nil || n != 1 {
		t.Fatalf("after the outage: %d objects (%v), want exactly one", n, err)
	}
}

// Wrong credentials are an error that says so, not EUNAVAILABLE (retrying
// does not help).
func TestBadCredentials(t *testing.T) {
	m := testenv.MinIO(t)
	c := config(m, "creds", "")
	c.SecretKey = "wrong-secret-key"
	_, err := s3.Open(context.Background(), c)
	if err == nil || runlet.ErrorCode(err) == runlet.EUNAVAILABLE || strings.Contains(err.Error(), "wrong-secret-key") {
		t.Fatalf("open with a wrong secret: %v (code %s), want a non-retryable error without the secret", err, runlet.ErrorCode(err))
	}
}
