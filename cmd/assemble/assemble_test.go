package assemble_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/cmd/assemble"
	"github.com/runlet/runlet/server"
)

func config(data string) assemble.Config {
	return assemble.Config{
		Config:       server.Config{Listen: "127.0.0.1:0", DataDir: data, Logger: slog.New(slog.DiscardHandler), Out: io.Discard},
		BrokerListen: "127.0.0.1:0",
		PasswordCost: 4,
	}
}

// TestOneServerPerDataDirectory: a second Start on a data directory in use
// fails at once, having opened nothing, naming the directory and the
// process; after Close the directory is free.
func TestOneServerPerDataDirectory(t *testing.T) {
	data := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	first, err := assemble.Start(ctx, config(data))
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	if b, _ := os.ReadFile(filepath.Join(data, assemble.LockFile)); strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
		t.Errorf("%s holds %q, want this process's id", assemble.LockFile, b)
	}

	second, err := assemble.Start(ctx, config(data))
	if err == nil {
		second.Close()
		t.Fatal("a second server started on the same data directory")
	}
	want := "the data directory " + data + " is in use by another runlet server (this process): stop that one, or give this one another --data"
	if runlet.ErrorCode(err) != runlet.ECONFLICT || runlet.ErrorMessage(err) != want {
		t.Errorf("second server: %q (%s)\nwant %q", runlet.ErrorMessage(err), runlet.ErrorCode(err), want)
	}

	first.Close()
	again, err := assemble.Start(ctx, config(data))
	if err != nil {
		t.Fatalf("after Close the data directory is still taken: %v", err)
	}
	again.Close()
}

// TestLockFileUnusable: a data directory whose lock file cannot be opened
// stops the start, saying so.
func TestLockFileUnusable(t *testing.T) {
	data := t.TempDir()
	if err := os.Mkdir(filepath.Join(data, assemble.LockFile), 0o700); err != nil {
		t.Fatal(err)
	}
	s, err := assemble.Start(context.Background(), config(data))
	if err == nil {
		s.Close()
		t.Fatal("started without its lock")
	}
	if msg := runlet.ErrorMessage(err); !strings.HasPrefix(msg, "cannot lock the data directory "+data+" (--data, RUNLET_DATA): ") {
		t.Errorf("got %q", msg)
	}
}

// TestInterruptedWhileWaitingForBroker: a start interrupted while it waits
// for the broker returns at once with the interruption, not the broker's
// fault, and leaves the data directory free.
func TestInterruptedWhileWaitingForBroker(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	data := t.TempDir()
	cfg := config(data)
	cfg.Broker, cfg.BrokerTimeout = "nats://"+addr, time.Hour
	// Interrupted once it says it waits for the broker (after the
	// store's migrations, however long they take on a loaded machine).
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg.Logger = slog.New(onMessage{"waiting for the broker", cancel})
	s, err := assemble.Start(ctx, cfg)
	if err == nil {
		s.Close()
		t.Fatal("started without a broker")
	}
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "stopped while connecting to the broker at nats://"+addr) {
		t.Errorf("got %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(data, assemble.LockFile)); err != nil || len(b) != 0 {
		t.Errorf("the lock after a failed start: %q, %v", b, err)
	}
}

// onMessage is a log handler that calls do at the first record whose
// message starts with prefix.
type onMessage struct {
	prefix string
	do     func()
}

func (h onMessage) Enabled(context.Context, slog.Level) bool { return true }
func (h onMessage) Handle(_ context.Context, r slog.Record) error {
	if strings.HasPrefix(r.Message, h.prefix) {
		h.do()
	}
	return nil
}
func (h onMessage) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h onMessage) WithGroup(string) slog.Handler      { return h }
