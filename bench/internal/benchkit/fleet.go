package benchkit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/bus"
	busconnect "github.com/runlet/runlet/bus/connect"
	"github.com/runlet/runlet/cmd/assemble"
	"github.com/runlet/runlet/daemon"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/server"
)

// Broker kinds a Fleet runs on.
const (
	NATS     = "nats"     // the server's embedded NATS, with per-device users
	RabbitMQ = "rabbitmq" // the machine's RabbitMQ (127.0.0.1:5672), a fresh vhost
)

// RabbitMQAddr is the machine's RabbitMQ, managed through rabbitmqctl.
const RabbitMQAddr = "127.0.0.1:5672"

// AdminPassword is the fleet server's admin password.
const AdminPassword = "bench-admin-password"

// Fleet is a real Runlet server, in this process, with its data in a
// temporary directory, and the devices signed in to it.
type Fleet struct {
	Broker string
	Server *assemble.Server
	Admin  *apiclient.Client // signed in as the admin user
	Dir    string

	vhost   string // with RabbitMQ
	amqpURL string // with RabbitMQ: guest's URL of the vhost
	enroll  string
}

// Quiet is a logger that drops everything: a benchmark's output is its table.
var Quiet = slog.New(slog.DiscardHandler)

// StartFleet starts a server on broker (NATS or RabbitMQ).
func StartFleet(ctx context.Context, broker string) (f *Fleet, err error) {
	dir, err := os.MkdirTemp("", "runlet-bench-")
	if err != nil {
		return nil, err
	}
	f = &Fleet{Broker: broker, Dir: dir}
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	cfg := assemble.Config{
		Config:        server.Config{Listen: "127.0.0.1:0", DataDir: filepath.Join(dir, "server"), Logger: Quiet, Out: io.Discard},
		BrokerListen:  "127.0.0.1:0",
		AdminPassword: AdminPassword,
	}
	switch broker {
	case NATS:
	case RabbitMQ:
		if f.amqpURL, err = f.makeVhost(); err != nil {
			return nil, err
		}
		cfg.Broker = f.amqpURL
	default:
		return nil, fmt.Errorf("unknown broker %q: want %q or %q", broker, NATS, RabbitMQ)
	}
	s, err := assemble.Start(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("start the server: %w", err)
	}
	f.Server = s
	if f.enroll, err = s.EnrollToken(); err != nil {
		return nil, err
	}
	f.Admin = apiclient.New(s.URL(), "")
	if err := f.Admin.Ready(ctx); err != nil {
		return nil, err
	}
	login, err := f.Admin.Login(ctx, server.AdminEmail, AdminPassword)
	if err != nil {
		return nil, fmt.Errorf("sign in as the admin: %w", err)
	}
	f.Admin = apiclient.New(s.URL(), login.Token)
	return f, nil
}

// makeVhost creates a throwaway vhost on the machine's RabbitMQ for guest.
func (f *Fleet) makeVhost() (string, error) {
	if _, err := exec.LookPath("rabbitmqctl"); err != nil {
		return "", fmt.Errorf("RabbitMQ is not installed here (no rabbitmqctl): %w", err)
	}
	f.vhost = "runlet-bench-" + randomHex(4)
	for _, args := range [][]string{
		{"-q", "add_vhost", f.vhost},
		{"-q", "set_permissions", "-p", f.vhost, "guest", ".*", ".*", ".*"},
	} {
		if out, err := rabbitmqctl(args...); err != nil {
			return "", fmt.Errorf("rabbitmqctl %s: %w\n%s", strings.Join(args, " "), err, out)
		}
	}
	return "amqp://guest:guest@" + RabbitMQAddr + "/" + url.PathEscape(f.vhost), nil
}

// Close stops the server and removes everything the fleet made.
func (f *Fleet) Close() {
	if f.Server != nil {
		_ = f.Server.Close()
	}
	if f.vhost != "" {
		if out, err := rabbitmqctl("-q", "delete_vhost", f.vhost); err != nil {
			fmt.Fprintf(os.Stderr, "benchkit: could not delete the RabbitMQ vhost %s (delete it by hand): %v\n%s", f.vhost, err, out)
		}
	}
	_ = os.RemoveAll(f.Dir)
}

// Enroll signs device name in with the enrollment token and saves its
// credentials in a home directory of its own. On RabbitMQ, which has no
// auth backend pointing at this server here, the device connects as guest
// to the fleet's vhost.
func (f *Fleet) Enroll(ctx context.Context, name string) (home.Dir, *home.Credentials, error) {
	c, err := apiclient.New(f.Server.URL(), "").Enroll(ctx, api.EnrollRequest{
		Token: f.enroll, Name: name, OS: runtime.GOOS, Arch: runtime.GOARCH, Version: "bench",
	})
	if err != nil {
		return "", nil, fmt.Errorf("enroll %s: %w", name, err)
	}
	if f.Broker == RabbitMQ {
		c.Broker = "amqp://" + RabbitMQAddr + "/" + url.PathEscape(f.vhost)
		c.BrokerUser, c.BrokerPassword = "guest", "guest"
	}
	dir := home.Dir(filepath.Join(f.Dir, "homes", name))
	if err := os.MkdirAll(string(dir), 0o700); err != nil {
		return "", nil, err
	}
	if err := dir.SaveCredentials(c); err != nil {
		return "", nil, err
	}
	return dir, c, nil
}

// rabbitmqctlTimeout bounds one rabbitmqctl command: a broker that does
// not answer fails the bench instead of hanging it.
const rabbitmqctlTimeout = 2 * time.Minute

func rabbitmqctl(args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), rabbitmqctlTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "rabbitmqctl", args...).CombinedOutput()
	if ctx.Err() != nil {
		err = fmt.Errorf("no answer after %s (is RabbitMQ hung? rabbitmqctl -q status): %w", rabbitmqctlTimeout, ctx.Err())
	}
	return out, err
}

// OpenBus connects to the broker as the device of c: how a CLI on that
// device reaches the bus.
func OpenBus(ctx context.Context, c *home.Credentials) (bus.Bus, error) {
	u, err := bus.WithCredentials(c.Broker, c.BrokerUser, c.BrokerPassword)
	if err != nil {
		return nil, err
	}
	return busconnect.Open(ctx, u, bus.Options{Name: "runlet-bench " + c.Device, Logger: Quiet})
}

// Daemon is a device's daemon running in this process.
type Daemon struct {
	Home  home.Dir
	Creds *home.Credentials
	stop  context.CancelFunc
	done  chan error
}

// StartDaemon enrolls device name and runs its daemon in this process until
// Stop, and waits until the server sees it online.
func (f *Fleet) StartDaemon(ctx context.Context, name string, cfg daemon.Config) (*Daemon, error) {
	dir, c, err := f.Enroll(ctx, name)
	if err != nil {
		return nil, err
	}
	cfg.Home, cfg.Credentials = dir, c
	if cfg.Bus == nil && cfg.Dial == nil {
		cfg.Dial = busconnect.Open
	}
	if cfg.Logger == nil {
		cfg.Logger = Quiet
	}
	d, err := daemon.New(cfg)
	if err != nil {
		return nil, err
	}
	runCtx, stop := context.WithCancel(context.Background())
	dm := &Daemon{Home: dir, Creds: c, stop: stop, done: make(chan error, 1)}
	go func() { dm.done <- d.Run(runCtx) }()
	if err := f.WaitOnline(ctx, name, dm.done); err != nil {
		stop()
		return nil, err
	}
	return dm, nil
}

// Stop ends the daemon and waits for it.
func (d *Daemon) Stop() error {
	d.stop()
	err := <-d.done
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// WaitOnline polls the device list until name is online, ctx ends, or ended
// delivers (the daemon stopped).
func (f *Fleet) WaitOnline(ctx context.Context, name string, ended <-chan error) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		devs, err := f.Admin.Devices(ctx)
		if err != nil {
			return err
		}
		for _, d := range devs {
			if d.Name == name && d.Online {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not come online: %w", name, ctx.Err())
		case err := <-ended:
			return fmt.Errorf("the daemon of %s ended before it came online: %v", name, err)
		case <-tick.C:
		}
	}
}

// BuildRunlet builds the runlet binary into dir and returns its path.
func BuildRunlet(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "runlet")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, "github.com/runlet/runlet/cmd/runlet")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build runlet: %w\n%s", err, out)
	}
	return bin, nil
}

// RSS is the resident set size of process pid in bytes (Linux).
func RSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// CPUTime is the user+system CPU time process pid has used (Linux).
func CPUTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: count after it.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	const clkTck = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / clkTck, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
