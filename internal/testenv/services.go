package testenv

import (
	"fmt"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// RabbitMQ addresses: the machine's broker, reached as guest for management
// through rabbitmqctl.
const (
	RabbitMQAddr = "127.0.0.1:5672"
	PostgresAddr = "127.0.0.1:5432"
	NATSAddr     = "127.0.0.1:4222"
)

// RabbitMQ returns an amqp:// URL for a fresh vhost on the machine's
// RabbitMQ, usable by guest, deleted when the test ends. It holds the
// shared RabbitMQ lock for the test.
func RabbitMQ(t testing.TB) string {
	t.Helper()
	return rabbitmq(t, false)
}

// RabbitMQForRestart is RabbitMQ holding the lock exclusively, so that the
// test may call StopRabbitMQ and StartRabbitMQ.
func RabbitMQForRestart(t testing.TB) string {
	t.Helper()
	u := rabbitmq(t, true)
	t.Cleanup(func() { ensureRabbitMQ(t) })
	return u
}

func rabbitmq(t testing.TB, exclusive bool) string {
	t.Helper()
	if _, err := exec.LookPath("rabbitmqctl"); err != nil {
		Unavailable(t, "RabbitMQ", err)
	}
	// The lock first: a test restarting the broker holds it exclusively
	// while the broker is down, and gives it back with the broker up.
	lock(t, "rabbitmq", exclusive)
	if err := Reachable(RabbitMQAddr); err != nil {
		Unavailable(t, "RabbitMQ at "+RabbitMQAddr, err)
	}
	vhost := RandomName("runlet-test-")
	Run(t, "rabbitmqctl", "-q", "add_vhost", vhost)
	t.Cleanup(func() {
		ensureRabbitMQ(t)
		if out, err := exec.Command("rabbitmqctl", "-q", "delete_vhost", vhost).CombinedOutput(); err != nil {
			t.Errorf("delete vhost %s: %v\n%s", vhost, err, out)
		}
	})
	Run(t, "rabbitmqctl", "-q", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
	return "amqp://guest:guest@" + RabbitMQAddr + "/" + url.PathEscape(vhost)
}

// RabbitMQVhost returns the vhost of a URL made by RabbitMQ.
func RabbitMQVhost(t testing.TB, amqpURL string) string {
	t.Helper()
	u, err := url.Parse(amqpURL)
	if err != nil {
		t.Fatal(err)
	}
	v, err := url.PathUnescape(strings.TrimPrefix(u.EscapedPath(), "/"))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// RabbitMQUser creates a user on the vhost of amqpURL with the given
// configure, write and read permission regexps, removed when the test ends,
// and returns a URL that connects as that user.
func RabbitMQUser(t testing.TB, amqpURL, user, password, configure, write, read string) string {
	t.Helper()
	vhost := RabbitMQVhost(t, amqpURL)
	Run(t, "rabbitmqctl", "-q", "add_user", user, password)
	t.Cleanup(func() { _ = exec.Command("rabbitmqctl", "-q", "delete_user", user).Run() })
	Run(t, "rabbitmqctl", "-q", "set_permissions", "-p", vhost, user, configure, write, read)
	return fmt.Sprintf("amqp://%s:%s@%s/%s", url.PathEscape(user), url.PathEscape(password), RabbitMQAddr, url.PathEscape(vhost))
}

// StopRabbitMQ stops the broker application (the Erlang node stays up).
// Only for tests that took RabbitMQForRestart.
func StopRabbitMQ(t testing.TB) {
	t.Helper()
	Run(t, "rabbitmqctl", "-q", "stop_app")
}

// StartRabbitMQ starts the broker application and waits until it accepts
// connections.
func StartRabbitMQ(t testing.TB) {
	t.Helper()
	Run(t, "rabbitmqctl", "-q", "start_app")
	Run(t, "rabbitmqctl", "-q", "await_startup")
	waitReachable(t, RabbitMQAddr, 60*time.Second)
}

// ensureRabbitMQ leaves the broker running whatever a test did to it: the
// node started if it was stopped, the application started if it was not.
func ensureRabbitMQ(t testing.TB) {
	if exec.Command("rabbitmqctl", "-q", "ping").Run() != nil {
		if out, err := exec.Command("rabbitmq-server", "-detached").CombinedOutput(); err != nil {
			t.Errorf("start rabbitmq-server: %v\n%s", err, out)
			return
		}
		_ = exec.Command("rabbitmqctl", "-q", "wait", "--timeout", "60", "/var/lib/rabbitmq/mnesia/rabbit@localhost.pid").Run()
	}
	if Reachable(RabbitMQAddr) != nil {
		_ = exec.Command("rabbitmqctl", "-q", "start_app").Run()
		_ = exec.Command("rabbitmqctl", "-q", "await_startup").Run()
	}
	if err := waitFor(RabbitMQAddr, 60*time.Second); err != nil {
		t.Errorf("RabbitMQ did not come back at %s: %v", RabbitMQAddr, err)
	}
}

// Postgres returns a postgres:// URL for a fresh database on the machine's
// PostgreSQL, dropped when the test ends.
func Postgres(t testing.TB) string {
	t.Helper()
	if _, err := exec.LookPath("psql"); err != nil {
		Unavailable(t, "PostgreSQL (psql)", err)
	}
	if err := Reachable(PostgresAddr); err != nil {
		Unavailable(t, "PostgreSQL at "+PostgresAddr, err)
	}
	db := RandomName("runlet_test_")
	psql(t, "CREATE DATABASE "+db)
	t.Cleanup(func() {
		if out, err := exec.Command("psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-q",
			"-c", "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)").CombinedOutput(); err != nil {
			t.Errorf("drop database %s: %v\n%s", db, err, out)
		}
	})
	return "postgres://postgres@" + PostgresAddr + "/" + db + "?sslmode=disable"
}

func psql(t testing.TB, sql string) {
	t.Helper()
	Run(t, "psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-q", "-c", sql)
}

// NATS returns the URL of the machine's standalone NATS server (JetStream
// enabled). Tests must use names of their own on it and remove them.
func NATS(t testing.TB) string {
	t.Helper()
	if err := Reachable(NATSAddr); err != nil {
		Unavailable(t, "NATS at "+NATSAddr, err)
	}
	return "nats://" + NATSAddr
}

func waitReachable(t testing.TB, addr string, d time.Duration) {
	t.Helper()
	if err := waitFor(addr, d); err != nil {
		t.Fatalf("%s not reachable after %v: %v", addr, d, err)
	}
}

func waitFor(addr string, d time.Duration) error {
	var err error
	Poll(d, 100*time.Millisecond, func() bool {
		err = Reachable(addr)
		return err == nil
	})
	return err
}
