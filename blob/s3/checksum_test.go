package s3

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/internal/testenv"
)

// The second check of a Put: the server itself refuses a body whose
// sha256 is not the x-amz-checksum-sha256 the request announces, so that
// even a body that got past the adapter's own hash is never stored.
func TestServerChecksSHA256(t *testing.T) {
	m := testenv.MinIO(t)
	s, err := Open(context.Background(), Config{Endpoint: m.Endpoint, AccessKey: m.AccessKey, SecretKey: m.SecretKey, Bucket: "sums"})
	if err != nil {
		t.Fatal(err)
	}
	other := sha256.Sum256([]byte("something else"))
	_, err = s.client.PutObject(context.Background(), "sums", "k", strings.NewReader("body"), 4, minio.PutObjectOptions{
		UserMetadata:     map[string]string{"x-amz-checksum-sha256": base64.StdEncoding.EncodeToString(other[:])},
		DisableMultipart: true,
	})
	if err == nil {
		t.Fatal("MinIO stored a body that does not match its x-amz-checksum-sha256")
	}
	t.Logf("MinIO refused: %v (%s)", err, minio.ToErrorResponse(err).Code)
	if _, err := s.Stat(context.Background(), "k"); runlet.ErrorCode(err) != runlet.ENOTFOUND {
		t.Fatalf("stat after the refused put: %v, want ENOTFOUND", err)
	}
}
