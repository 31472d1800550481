// Package testenv gives tests the real services of the machine they run on
// (RabbitMQ, PostgreSQL, NATS), each test with its own vhost or database that
// is removed afterwards. A test whose service is absent is skipped with a
// clear message, unless RUNLET_REQUIRE_SERVICES=1, which turns the skip into
// a failure (CI sets it).
//
// Tests that stop a shared service take an exclusive lock on it, so they
// never pull the broker from under another test package running at the same
// time; every other user of the service holds a shared lock for the length of
// its test.
package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Required reports whether absent services fail tests instead of skipping them.
func Required() bool { return os.Getenv("RUNLET_REQUIRE_SERVICES") == "1" }

// Unavailable skips t, or fails it when services are required.
func Unavailable(t testing.TB, service string, why error) {
	t.Helper()
	msg := fmt.Sprintf("%s is not available (%v); start it (see README, section Testing) or unset RUNLET_REQUIRE_SERVICES to skip", service, why)
	if Required() {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// RandomName returns prefix followed by 12 random hex digits.
func RandomName(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// Reachable dials addr once.
func Reachable(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return err
	}
	return c.Close()
}

// Run runs a command and returns its combined output, failing t on error.
func Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}
