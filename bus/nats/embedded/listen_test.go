//go:build unix

package embedded_test

import (
	"errors"
	"log/slog"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runlet/runlet/bus/nats/embedded"
	"github.com/runlet/runlet/internal/testenv"
)

// TestAddressInUse: Start fails at once on an address another process
// listens on, with an error that says so (the system's, wrapped), and
// without nats-server's banner in the log.
func TestAddressInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var log testenv.Buffer
	start := time.Now()
	s, err := embedded.Start(embedded.Config{Dir: t.TempDir(), Addr: l.Addr().String(),
		Logger: slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err == nil {
		s.Shutdown()
		t.Fatal("Start on an address in use succeeded")
	}
	if !errors.Is(err, syscall.EADDRINUSE) || !strings.Contains(err.Error(), l.Addr().String()) {
		t.Errorf("got %v; want EADDRINUSE naming %s", err, l.Addr())
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Start took %s to fail", d)
	}
	if log.Len() > 0 {
		t.Errorf("Start logged before failing:\n%s", log.String())
	}
}

// TestQuietStart: at Info, a start and a shutdown log nothing of
// nats-server's (its banner was 30 lines).
func TestQuietStart(t *testing.T) {
	var log testenv.Buffer
	s, err := embedded.Start(embedded.Config{Dir: t.TempDir(), Addr: "127.0.0.1:0",
		Logger: slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err != nil {
		t.Fatal(err)
	}
	s.Shutdown()
	if log.Len() > 0 {
		t.Errorf("a start and a shutdown logged at Info:\n%s", log.String())
	}
}
