package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// RabbitMQNode starts a RabbitMQ node of the test's own (unique node name,
// free ports, its data in a temporary directory) whose only auth backend
// is rabbitmq_auth_backend_http, asking authBaseURL+"/user", "/vhost",
// "/resource" and "/topic" (POST). The shared node rabbit@localhost is not
// touched. It creates a fresh vhost and returns amqp://127.0.0.1:PORT/VHOST
// without credentials: add the user the auth endpoints accept. The node is
// stopped and its directory removed when the test ends, whatever happens.
// Without rabbitmq-server the test is skipped (or fails, see Required).
func RabbitMQNode(t testing.TB, authBaseURL string) (amqpURL string) {
	t.Helper()
	return StartRabbitMQNode(t, authBaseURL).URL
}

// RabbitNode is a RabbitMQ node of a test's own, from StartRabbitMQNode.
type RabbitNode struct {
	Name string // Erlang node name, for rabbitmqctl -n
	URL  string // amqp://127.0.0.1:PORT/VHOST, without credentials
	// Management is the management API, http://127.0.0.1:PORT, without
	// credentials (a user the auth backend tags administrator may use it).
	Management string
	addr       string
}

// Restart stops the node's broker application and starts it again (the
// Erlang node stays up, the data stays): what a broker restart looks like
// to clients. It waits until the node accepts connections again.
func (n *RabbitNode) Restart(t testing.TB) {
	t.Helper()
	if out, err := ctl(60*time.Second, "-n", n.Name, "stop_app"); err != nil {
		t.Fatalf("stop RabbitMQ on %s: %v\n%s", n.Name, err, out)
	}
	if out, err := ctl(90*time.Second, "-n", n.Name, "start_app"); err != nil {
		t.Fatalf("start RabbitMQ on %s: %v\n%s", n.Name, err, out)
	}
	if err := waitFor(n.addr, 60*time.Second); err != nil {
		t.Fatalf("RabbitMQ node %s does not listen on %s after a restart: %v", n.Name, n.addr, err)
	}
}

// StartRabbitMQNode is RabbitMQNode, returning the node so that a test can
// restart it.
func StartRabbitMQNode(t testing.TB, authBaseURL string) *RabbitNode {
	t.Helper()
	if _, err := exec.LookPath("rabbitmq-server"); err != nil {
		Unavailable(t, "rabbitmq-server", err)
	}
	dir, err := os.MkdirTemp("", "runlet-rabbitnode-")
	if err != nil {
		t.Fatal(err)
	}
	node := RandomName("runlet-test-") + "@localhost"
	t.Cleanup(func() { stopNode(t, node, dir) })
	port, dist, mgmt := freePort(t), freePort(t), freePort(t)
	base := strings.TrimRight(authBaseURL, "/")
	conf := fmt.Sprintf(`listeners.tcp.default = 127.0.0.1:%d
loopback_users = none
auth_backends.1 = http
auth_http.http_method = post
auth_http.user_path = %[2]s/user
auth_http.vhost_path = %[2]s/vhost
auth_http.resource_path = %[2]s/resource
auth_http.topic_path = %[2]s/topic
management.tcp.ip = 127.0.0.1
management.tcp.port = %[3]d
`, port, base, mgmt)
	writeFile(t, filepath.Join(dir, "rabbitmq.conf"), conf)
	writeFile(t, filepath.Join(dir, "enabled_plugins"), "[rabbitmq_auth_backend_http,rabbitmq_management].\n")
	if out, err := exec.Command("chown", "-R", "rabbitmq:rabbitmq", dir).CombinedOutput(); err != nil {
		Unavailable(t, "a RabbitMQ node of the test's own (chown to the rabbitmq user)", fmt.Errorf("%v: %s", err, out))
	}
	cmd := exec.Command("rabbitmq-server", "-detached")
	cmd.Env = append(os.Environ(),
		"RABBITMQ_NODENAME="+node,
		"RABBITMQ_NODE_PORT="+strconv.Itoa(port),
		"RABBITMQ_DIST_PORT="+strconv.Itoa(dist),
		"RABBITMQ_CONFIG_FILE="+filepath.Join(dir, "rabbitmq"),
		"RABBITMQ_ENABLED_PLUGINS_FILE="+filepath.Join(dir, "enabled_plugins"),
		"RABBITMQ_MNESIA_BASE="+filepath.Join(dir, "mnesia"),
		"RABBITMQ_LOG_BASE="+filepath.Join(dir, "log"),
		"RABBITMQ_PID_FILE="+filepath.Join(dir, "pid"),
	)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("start RabbitMQ node %s: %v\n%s", node, err, out)
	}
	if out, err := ctl(90*time.Second, "-n", node, "wait", filepath.Join(dir, "pid"), "--timeout", "60"); err != nil {
		t.Fatalf("RabbitMQ node %s did not start: %v\n%s\n%s", node, err, out, nodeLog(dir))
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if err := waitFor(addr, 60*time.Second); err != nil {
		t.Fatalf("RabbitMQ node %s does not listen on %s: %v\n%s", node, addr, err, nodeLog(dir))
	}
	vhost := RandomName("runlet-test-")
	if out, err := ctl(60*time.Second, "-n", node, "add_vhost", vhost); err != nil {
		t.Fatalf("add vhost %s on %s: %v\n%s", vhost, node, err, out)
	}
	return &RabbitNode{Name: node, URL: "amqp://" + addr + "/" + vhost, Management: "http://127.0.0.1:" + strconv.Itoa(mgmt), addr: addr}
}

// stopNode stops the node (killing it if it does not stop) and removes dir.
func stopNode(t testing.TB, node, dir string) {
	if out, err := ctl(60*time.Second, "-n", node, "stop", filepath.Join(dir, "pid")); err != nil {
		if pid, rerr := os.ReadFile(filepath.Join(dir, "pid")); rerr == nil {
			_ = exec.Command("kill", "-9", strings.TrimSpace(string(pid))).Run()
		}
		if !strings.Contains(string(out), "nodedown") && !strings.Contains(string(out), "unable to connect") {
			t.Logf("stop RabbitMQ node %s: %v\n%s", node, err, out)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Errorf("remove the RabbitMQ node's directory: %v", err)
	}
}

func ctl(timeout time.Duration, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return exec.CommandContext(ctx, "rabbitmqctl", append([]string{"-q"}, args...)...).CombinedOutput()
}

// freePort returns a TCP port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// nodeLog is the tail of the node's logs, for a failure message.
func nodeLog(dir string) string {
	files, _ := filepath.Glob(filepath.Join(dir, "log", "*.log"))
	var b strings.Builder
	for _, f := range files {
		data, _ := os.ReadFile(f)
		if len(data) > 4000 {
			data = data[len(data)-4000:]
		}
		fmt.Fprintf(&b, "== %s\n%s\n", f, data)
	}
	return b.String()
}
