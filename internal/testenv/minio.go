package testenv

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// MinIOServer is a MinIO of the test's own (github.com/minio/minio,
// installed by .ci/run with `go install`): an S3 API on a spare loopback
// port, its data in a temporary directory, random root credentials.
type MinIOServer struct {
	// Endpoint is host:port of its S3 API; AccessKey and SecretKey are
	// its root credentials.
	Endpoint  string
	AccessKey string
	SecretKey string

	t       testing.TB
	bin     string
	dir     string
	mu      sync.Mutex
	stop    func() // stops the running process; nil when stopped
	console int
}

// MinIOBucket is the bucket URL names.
const MinIOBucket = "runlet"

// MinIO starts a MinIO for the test, waits until it is ready, and stops it
// when the test ends. A test is skipped when minio is not installed
// (failed with RUNLET_REQUIRE_SERVICES=1).
func MinIO(t testing.TB) *MinIOServer {
	t.Helper()
	bin, err := exec.LookPath("minio")
	if err != nil {
		if gobin := goBin("minio"); gobin != "" {
			bin, err = gobin, nil
		}
	}
	if err != nil {
		Unavailable(t, "MinIO (go install github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c)", err)
	}
	m := &MinIOServer{
		AccessKey: RandomName("rl"),
		SecretKey: RandomName("secret-") + RandomName(""),
		t:         t,
		bin:       bin,
		dir:       t.TempDir(),
	}
	var last error
	for range 3 { // a spare port may be taken between asking and binding
		port, err := sparePort()
		if err != nil {
			t.Fatal(err)
		}
		if m.console, err = sparePort(); err != nil {
			t.Fatal(err)
		}
		m.Endpoint = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if last = m.start(); last == nil {
			t.Cleanup(m.Stop)
			return m
		}
	}
	t.Fatalf("start minio: %v", last)
	return nil
}

// URL is an s3+http:// URL of bucket MinIOBucket on it, for blob/connect.
func (m *MinIOServer) URL() string {
	return m.BucketURL(MinIOBucket)
}

// BucketURL is an s3+http:// URL of bucket on it, for blob/connect.
func (m *MinIOServer) BucketURL(bucket string) string {
	return (&url.URL{Scheme: "s3+http", User: url.UserPassword(m.AccessKey, m.SecretKey), Host: m.Endpoint, Path: "/" + bucket}).String()
}

// Stop stops the server (kills it, as a crash or an outage would); its
// data stays for Start.
func (m *MinIOServer) Stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stop != nil {
		m.stop()
		m.stop = nil
	}
}

// Start starts the stopped server again on the same port with the same
// data and waits until it is ready.
func (m *MinIOServer) Start() {
	m.t.Helper()
	var err error
	for range 3 {
		if err = m.start(); err == nil {
			return
		}
	}
	m.t.Fatalf("restart minio on %s: %v", m.Endpoint, err)
}

func (m *MinIOServer) start() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stop != nil {
		return nil
	}
	logPath := filepath.Join(m.dir, "minio.log")
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(m.bin, "server", filepath.Join(m.dir, "data"), "--quiet",
		"--address", m.Endpoint, "--console-address", "127.0.0.1:"+strconv.Itoa(m.console))
	cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+m.AccessKey, "MINIO_ROOT_PASSWORD="+m.SecretKey,
		"MINIO_BROWSER=off", "MINIO_UPDATE=off", "MINIO_CI_CD=1")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("start %s: %w", m.bin, err)
	}
	exited := make(chan struct{}) // closed when it has exited, with waitErr set
	var waitErr error
	go func() { waitErr = cmd.Wait(); log.Close(); close(exited) }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	health := "http://" + m.Endpoint + "/minio/health/ready"
	ready := Poll(60*time.Second, 50*time.Millisecond, func() bool {
		select {
		case <-exited:
			return true
		default:
		}
		return minioReady(health, "http://"+m.Endpoint+"/")
	})
	select {
	case <-exited:
		out, _ := os.ReadFile(logPath)
		return fmt.Errorf("minio on %s exited at start (%v): %s", m.Endpoint, waitErr, out)
	default:
	}
	if !ready {
		stop()
		return fmt.Errorf("minio did not answer on %s within 60s", health)
	}
	m.stop = stop
	return nil
}

// DataDir is the directory where it keeps its data (the objects, and
// MinIO's own metadata), for tests that read every byte it holds.
func (m *MinIOServer) DataDir() string { return filepath.Join(m.dir, "data") }

// minioReady reports whether MinIO answers its health check and serves S3
// requests: the health check turns ready before the server has loaded its
// configuration, when S3 requests still get 503 XMinioServerNotInitialized
// (an anonymous list of buckets, once served, is refused with 403).
func minioReady(health, s3 string) bool {
	for _, u := range []string{health, s3} {
		resp, err := http.Get(u)
		if err != nil {
			return false
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable || u == health && resp.StatusCode != http.StatusOK {
			return false
		}
	}
	return true
}
