package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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
	"github.com/runlet/runlet/bench/internal/benchkit"
	"github.com/runlet/runlet/cmd/assemble"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/server"
)

// The stacks the bench runs on.
const (
	natsSQLite     = "nats-sqlite"
	rabbitPostgres = "rabbit-postgres"
)

// stack is a real server in this process on one stack, its admin client,
// and what it made outside the process (a RabbitMQ vhost, a PostgreSQL
// database), removed by close.
type stack struct {
	name   string
	srv    *assemble.Server
	admin  *apiclient.Client
	dir    string
	enroll string
	vhost  string
	pgDB   string
	dbURL  string
}

// startStack starts the server of stack name, its data in a temporary
// directory.
func startStack(ctx context.Context, name string) (s *stack, err error) {
	dir, err := os.MkdirTemp("", "runlet-bench-alerts-")
	if err != nil {
		return nil, err
	}
	s = &stack{name: name, dir: dir}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	cfg := assemble.Config{
		Config:        server.Config{Listen: "127.0.0.1:0", DataDir: filepath.Join(dir, "server"), Logger: benchkit.Quiet, Out: io.Discard},
		BrokerListen:  "127.0.0.1:0",
		AdminPassword: benchkit.AdminPassword,
		PasswordCost:  4,
	}
	switch name {
	case natsSQLite:
		s.dbURL = "sqlite:" + filepath.Join(cfg.DataDir, "runlet.db")
	case rabbitPostgres, "rabbitmq-postgres":
		s.vhost = "runlet-bench-" + randomHex(4)
		for _, args := range [][]string{{"-q", "add_vhost", s.vhost}, {"-q", "set_permissions", "-p", s.vhost, "guest", ".*", ".*", ".*"}} {
			if out, err := command(ctx, "rabbitmqctl", args...); err != nil {
				return nil, fmt.Errorf("rabbitmqctl %s: %w\n%s", strings.Join(args, " "), err, out)
			}
		}
		cfg.Broker = "amqp://guest:guest@" + benchkit.RabbitMQAddr + "/" + url.PathEscape(s.vhost)
		s.pgDB = "runlet_bench_" + randomHex(4)
		if out, err := psql(ctx, "CREATE DATABASE "+s.pgDB); err != nil {
			return nil, fmt.Errorf("create the PostgreSQL database: %w\n%s", err, out)
		}
		s.dbURL = "postgres://postgres@127.0.0.1:5432/" + s.pgDB + "?sslmode=disable"
	default:
		return nil, fmt.Errorf("unknown stack %q: want %s or %s", name, natsSQLite, rabbitPostgres)
	}
	cfg.DB = s.dbURL
	if s.srv, err = assemble.Start(ctx, cfg); err != nil {
		return nil, fmt.Errorf("start the server: %w", err)
	}
	if s.enroll, err = s.srv.EnrollToken(); err != nil {
		return nil, err
	}
	c := apiclient.New(s.srv.URL(), "")
	if err := c.Ready(ctx); err != nil {
		return nil, err
	}
	login, err := c.Login(ctx, server.AdminEmail, benchkit.AdminPassword)
	if err != nil {
		return nil, fmt.Errorf("sign in as the admin: %w", err)
	}
	s.admin = apiclient.New(s.srv.URL(), login.Token)
	return s, nil
}

// enrollDevice signs device name in and returns its credentials. On
// RabbitMQ, whose auth backend does not point at this server here, the
// device connects as guest to the stack's vhost.
func (s *stack) enrollDevice(ctx context.Context, name string) (*home.Credentials, error) {
	c, err := apiclient.New(s.srv.URL(), "").Enroll(ctx, api.EnrollRequest{
		Token: s.enroll, Name: name, OS: runtime.GOOS, Arch: runtime.GOARCH, Version: "bench",
	})
	if err != nil {
		return nil, fmt.Errorf("enroll %s: %w", name, err)
	}
	if s.vhost != "" {
		c.Broker = "amqp://" + benchkit.RabbitMQAddr + "/" + url.PathEscape(s.vhost)
		c.BrokerUser, c.BrokerPassword = "guest", "guest"
	}
	return c, nil
}

func (s *stack) close() {
	if s.srv != nil {
		_ = s.srv.Close()
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
	_ = os.RemoveAll(s.dir)
}

func psql(ctx context.Context, sql string) ([]byte, error) {
	return command(ctx, "psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-q", "-c", sql)
}

func command(ctx context.Context, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	return exec.CommandContext(ctx, name, args...).CombinedOutput()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
