package nats_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/bus/bustest"
	natsbus "github.com/runlet/runlet/bus/nats"
	"github.com/runlet/runlet/bus/nats/embedded"
	"github.com/runlet/runlet/internal/testenv"
)

func quiet() *slog.Logger {
	if testing.Verbose() && os.Getenv("RUNLET_TEST_LOG") != "" {
		return slog.Default()
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// open connects to url as a test principal, closed at cleanup.
func open(t testing.TB, u string, opts bus.Options) *natsbus.Bus {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quiet()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := natsbus.Open(ctx, u, opts)
	if err != nil {
		t.Fatalf("open %s: %v", u, err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func withUser(base, user, password string) string {
	u, err := bus.WithCredentials(base, user, password)
	if err != nil {
		panic(err)
	}
	return u
}

// testPassword is every test workspace principal's password.
const testPassword = "pw-runlet"

// startEmbedded starts an embedded server on a free port whose
// Authenticator lets user "<workspace>" with testPassword in as a
// principal of that workspace allowed the suite's queues, and user
// "device:<workspace>:<device>" as that device.
func startEmbedded(t testing.TB) *embedded.Server {
	t.Helper()
	s, err := embedded.Start(embeddedConfig(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

func embeddedConfig(dir string) embedded.Config {
	return embedded.Config{
		Dir:           dir,
		Addr:          "127.0.0.1:0",
		Logger:        quiet(),
		Authenticator: testAuthenticator,
	}
}

func testAuthenticator(user, password string) (bus.Principal, error) {
	if password != testPassword {
		return bus.Principal{}, errors.New("wrong password")
	}
	var ws, device string
	if n, _ := fmt.Sscanf(user, "device:%s", &ws); n == 1 {
		for i := range ws {
			if ws[i] == ':' {
				ws, device = ws[:i], ws[i+1:]
				break
			}
		}
		return bus.Principal{Role: bus.RoleDevice, Workspace: ws, Device: device}, nil
	}
	return bus.Principal{Role: bus.RoleServer, Workspace: user, Queues: bustest.QueueNames}, nil
}

// embeddedHarness runs the suite against s with real per-principal auth.
func embeddedHarness(s *embedded.Server) bustest.Harness {
	return bustest.Harness{
		Open: func(t testing.TB, wss ...string) bus.Bus {
			if len(wss) != 1 {
				t.Fatalf("the embedded harness opens principals of one workspace, not %v", wss)
			}
			return open(t, withUser(s.URL(), wss[0], testPassword), bus.Options{Name: t.Name()})
		},
		OpenDevice: func(t testing.TB, ws, device string) bus.Bus {
			return open(t, withUser(s.URL(), "device:"+ws+":"+device, testPassword), bus.Options{Name: t.Name()})
		},
		Workspace: func(testing.TB) string { return testenv.RandomName("w") },
		AckWait:   2 * time.Second,
	}
}

// machineHarness runs the suite against the machine's NATS, which has no
// users: every principal may do everything. Streams are deleted after.
func machineHarness(t testing.TB) bustest.Harness {
	u := testenv.NATS(t)
	return bustest.Harness{
		Open: func(t testing.TB, _ ...string) bus.Bus {
			return open(t, u, bus.Options{Name: t.Name()})
		},
		Workspace:   sharedWorkspace(u),
		NoIsolation: "the machine's NATS at " + testenv.NATSAddr + " runs without users or permissions",
		AckWait:     2 * time.Second,
		// A stock nats-server takes 1 MB per message, headers included.
		MaxBody: 1<<20 - 4<<10,
	}
}

// sharedWorkspace makes fresh workspace names on a shared server and
// deletes their streams when the test ends.
func sharedWorkspace(u string) func(t testing.TB) string {
	return func(t testing.TB) string {
		ws := testenv.RandomName("w")
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			b, err := natsbus.Open(ctx, u, bus.Options{Logger: quiet()})
			if err != nil {
				t.Errorf("cleanup of workspace %s: %v", ws, err)
				return
			}
			defer b.Close()
			for _, q := range bustest.QueueNames {
				if err := b.DeleteQueue(ctx, ws, q); err != nil {
					t.Errorf("cleanup of queue %s/%s: %v", ws, q, err)
				}
			}
		})
		return ws
	}
}

// process is a standalone nats-server this test started: the "external
// NATS" with users and permissions from a config file.
type process struct {
	t      testing.TB
	addr   string
	dir    string
	conf   string
	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	pool   chan string // workspaces with a user in the config
}

const adminPassword = "admin-pw"

// startProcess starts /usr/sbin/nats-server on a free port with a store
// in a temporary directory, users "admin" (everything) and one user per
// workspace of a pool made up front (a config file cannot grow users).
func startProcess(t testing.TB) *process {
	t.Helper()
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		bin = "/usr/sbin/nats-server"
		if _, serr := os.Stat(bin); serr != nil {
			testenv.Unavailable(t, "nats-server binary", err)
		}
	}
	p := &process{t: t, dir: t.TempDir(), pool: make(chan string, 200), addr: freeAddr(t)}
	users := []map[string]any{{"user": "admin", "password": adminPassword}}
	for range cap(p.pool) {
		ws := testenv.RandomName("x")
		p.pool <- ws
		principals := map[string]bus.Principal{ws: {Role: bus.RoleServer, Workspace: ws, Queues: bustest.QueueNames}}
		for _, d := range bustest.Devices {
			principals[deviceUser(ws, d)] = bus.Principal{Role: bus.RoleDevice, Workspace: ws, Device: d}
		}
		for user, pr := range principals {
			perms := embedded.Permissions(pr, user)
			users = append(users, map[string]any{"user": user, "password": testPassword, "permissions": map[string]any{
				"publish":   map[string]any{"allow": perms.Publish.Allow},
				"subscribe": map[string]any{"allow": perms.Subscribe.Allow},
			}})
		}
	}
	host, port, _ := net.SplitHostPort(p.addr)
	var conf bytes.Buffer
	enc := json.NewEncoder(&conf)
	enc.SetEscapeHTML(false) // the config parser knows no \u escapes, and subjects have '>'
	enc.SetIndent("", "  ")
	if err := enc.Encode(map[string]any{
		"host": host, "port": json.Number(port),
		"max_payload":   json.Number(fmt.Sprint(embedded.DefaultMaxPayload)),
		"jetstream":     map[string]any{"store_dir": filepath.Join(p.dir, "js")},
		"authorization": map[string]any{"users": users},
	}); err != nil {
		t.Fatal(err)
	}
	p.conf = filepath.Join(p.dir, "nats.conf")
	if err := os.WriteFile(p.conf, conf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	p.start(bin)
	t.Cleanup(p.kill)
	return p
}

func freeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func (p *process) start(bin string) {
	p.t.Helper()
	cmd := exec.Command(bin, "-c", p.conf, "-l", filepath.Join(p.dir, "nats.log"))
	out, err := os.OpenFile(filepath.Join(p.dir, "nats.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		p.t.Fatal(err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("start nats-server: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	p.mu.Lock()
	p.cmd, p.exited = cmd, exited
	p.mu.Unlock()
	reachable := testenv.Poll(30*time.Second, 50*time.Millisecond, func() bool {
		if testenv.Reachable(p.addr) == nil {
			return true
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(p.dir, "nats.log"))
			p.t.Fatalf("nats-server exited at start:\n%s", log)
		default:
		}
		return false
	})
	if !reachable {
		p.t.Fatalf("nats-server not reachable at %s after 30s", p.addr)
	}
}

// kill stops the process abruptly (a crash) and waits for it.
func (p *process) kill() {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exited
}

// restart kills the process and starts it again on the same store.
func (p *process) restart() {
	p.kill()
	p.start(p.cmd.Path)
}

func (p *process) url() string { return "nats://" + p.addr }

func (p *process) harness() bustest.Harness {
	return bustest.Harness{
		Open: func(t testing.TB, wss ...string) bus.Bus {
			if len(wss) != 1 {
				t.Fatalf("the process harness opens principals of one workspace, not %v", wss)
			}
			return open(t, withUser(p.url(), wss[0], testPassword), bus.Options{Name: t.Name()})
		},
		OpenDevice: func(t testing.TB, ws, device string) bus.Bus {
			return open(t, withUser(p.url(), deviceUser(ws, device), testPassword), bus.Options{Name: t.Name()})
		},
		Workspace: func(t testing.TB) string {
			select {
			case ws := <-p.pool:
				return ws
			default:
				t.Fatal("the nats-server process has no more workspace users")
				return ""
			}
		},
		AckWait: 2 * time.Second,
	}
}

// deviceUser is the process's user name for a device of a pool workspace.
func deviceUser(ws, device string) string { return ws + "-" + device }
