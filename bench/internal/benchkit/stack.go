package benchkit

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/cmd/assemble"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/server"
)

// The stacks a bench runs on (StartStack).
const (
	NATSSQLite     = "nats-sqlite"
	RabbitPostgres = "rabbit-postgres"
)

// Stack is a real server in this process on one stack, its admin client,
// and what it made outside the process (a RabbitMQ vhost, a PostgreSQL
// database), removed by Close.
type Stack struct {
	Name  string
	Srv   *assemble.Server
	Admin *apiclient.Client
	// Dir is the stack's temporary directory (the server's data is in
	// Dir/server); Close removes it.
	Dir    string
	enroll string
	vhost  string
	pgDB   string
	dbURL  string
}

// StartStack starts the server of stack name (NATSSQLite or
// RabbitPostgres), its data in a temporary directory, with its
// configuration changed by configure when not nil.
func StartStack(ctx context.Context, name string, configure func(*assemble.Config)) (s *Stack, err error) {
	dir, err := os.MkdirTemp("", "runlet-bench-")
	if err != nil {
		return nil, err
	}
	s = &Stack{Name: name, Dir: dir}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	cfg := assemble.Config{
		Config:        server.Config{Listen: "127.0.0.1:0", DataDir: filepath.Join(dir, "server"), Logger: Quiet, Out: io.Discard},
		BrokerListen:  "127.0.0.1:0",
		AdminPassword: AdminPassword,
		PasswordCost:  4,
	}
	switch name {
	case NATSSQLite:
		s.dbURL = "sqlite:" + filepath.Join(cfg.DataDir, "runlet.db")
	case RabbitPostgres, "rabbitmq-postgres":
		s.vhost = "runlet-bench-" + randomHex(4)
		for _, args := range [][]string{{"-q", "add_vhost", s.vhost}, {"-q", "set_permissions", "-p", s.vhost, "guest", ".*", ".*", ".*"}} {
			if out, err := command(ctx, "rabbitmqctl", args...); err != nil {
				return nil, fmt.Errorf("rabbitmqctl %s: %w\n%s", strings.Join(args, " "), err, out)
			}
		}
		cfg.Broker = "amqp://guest:guest@" + RabbitMQAddr + "/" + url.PathEscape(s.vhost)
		s.pgDB = "runlet_bench_" + randomHex(4)
		if out, err := psql(ctx, "CREATE DATABASE "+s.pgDB); err != nil {
			return nil, fmt.Errorf("create the PostgreSQL database: %w\n%s", err, out)
		}
		s.dbURL = "postgres://postgres@127.0.0.1:5432/" + s.pgDB + "?sslmode=disable"
	default:
		return nil, fmt.Errorf("unknown stack %q: want %s or %s", name, NATSSQLite, RabbitPostgres)
	}
	cfg.DB = s.dbURL
	if configure != nil {
		configure(&cfg)
	}
	if s.Srv, err = assemble.Start(ctx, cfg); err != nil {
		return nil, fmt.Errorf("start the server: %w", err)
	}
	if s.enroll, err = s.Srv.EnrollToken(); err != nil {
		return nil, err
	}
	c := apiclient.New(s.Srv.URL(), "")
	if err := c.Ready(ctx); err != nil {
		return nil, err
	}
	login, err := c.Login(ctx, server.AdminEmail, AdminPassword)
	if err != nil {
		return nil, fmt.Errorf("sign in as the admin: %w", err)
	}
	s.Admin = apiclient.New(s.Srv.URL(), login.Token)
	return s, nil
}

// EnrollDevice signs device name in and returns its credentials. On
// RabbitMQ, whose auth backend does not point at this server here, the
// device connects as guest to the stack's vhost.
func (s *Stack) EnrollDevice(ctx context.Context, name string) (*home.Credentials, error) {
	c, err := apiclient.New(s.Srv.URL(), "").Enroll(ctx, api.EnrollRequest{
		Token: s.enroll, Name: name, OS: runtime.GOOS, Arch: runtime.GOARCH, Version: "bench",
	})
	if err != nil {
		return nil, fmt.Errorf("enroll %s: %w", name, err)
	}
	if s.vhost != "" {
		c.Broker = "amqp://" + RabbitMQAddr + "/" + url.PathEscape(s.vhost)
		c.BrokerUser, c.BrokerPassword = "guest", "guest"
	}
	return c, nil
}

// DiskBytes is what the stack's database takes on disk now.
func (s *Stack) DiskBytes(ctx context.Context) (int64, error) {
	if s.pgDB != "" {
		out, err := command(ctx, "psql", "-h", "127.0.0.1", "-U", "postgres", "-d", s.pgDB, "-Atq", "-c", "SELECT pg_database_size(current_database())")
		if err != nil {
			return 0, fmt.Errorf("psql: %w\n%s", err, out)
		}
		var n int64
		_, err = fmt.Sscan(string(out), &n)
		return n, err
	}
	var n int64
	matches, _ := filepath.Glob(strings.TrimPrefix(s.dbURL, "sqlite:") + "*")
	for _, m := range matches {
		if fi, err := os.Stat(m); err == nil {
			n += fi.Size()
		}
	}
	return n, nil
}

// Close stops the server and removes what the stack made.
func (s *Stack) Close() {
	if s.Srv != nil {
		_ = s.Srv.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if s.vhost != "" {
		if out, err := command(ctx, "rabbitmqctl", "-q", "delete_vhost", s.vhost); err != nil {
			fmt.Fprintf(os.Stderr, "could not delete the RabbitMQ vhost %s (delete it by hand): %v\n%s", s.vhost, err, out)
		}
	}
	if s.pgDB != "" {
		if out, err := psql(ctx, "DROP DATABASE IF EXISTS "+s.pgDB+" WITH (FORCE)"); err != nil {
			fmt.Fprintf(os.Stderr, "could not drop the PostgreSQL database %s (drop it by hand): %v\n%s", s.pgDB, err, out)
		}
	}
	_ = os.RemoveAll(s.Dir)
}

func psql(ctx context.Context, sql string) ([]byte, error) {
	return command(ctx, "psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-q", "-c", sql)
}

func command(ctx context.Context, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	return exec.CommandContext(ctx, name, args...).CombinedOutput()
}
