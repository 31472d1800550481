package amqp_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runlet/runlet/bus"
	amqpbus "github.com/runlet/runlet/bus/amqp"
	"github.com/runlet/runlet/bus/bustest"
	"github.com/runlet/runlet/internal/testenv"
)

func TestContract(t *testing.T) {
	bustest.Run(t, harness(t, testenv.RabbitMQ(t)))
}

// harness opens buses as users of vhostURL's vhost whose permissions allow
// exactly the workspaces asked for, so that the broker refuses the others.
func harness(t testing.TB, vhostURL string) bustest.Harness {
	type key struct {
		tb testing.TB
		ws string
	}
	var mu sync.Mutex
	users := map[key]string{}
	userURL := func(tb testing.TB, workspaces []string) string {
		mu.Lock()
		defer mu.Unlock()
		k := key{tb, strings.Join(workspaces, " ")}
		if u, ok := users[k]; ok {
			return u
		}
		perm := amqpbus.Permission(workspaces...)
		u := testenv.RabbitMQUser(tb, vhostURL, testenv.RandomName("runlet-user-"), "secret", perm, perm, perm)
		users[k] = u
		tb.Cleanup(func() {
			mu.Lock()
			delete(users, k)
			mu.Unlock()
		})
		return u
	}
	return bustest.Harness{
		Open: func(tb testing.TB, workspaces ...string) bus.Bus {
			return open(tb, userURL(tb, workspaces), bus.Options{})
		},
		Workspace: func(testing.TB) string { return testenv.RandomName("ws-") },
	}
}

// open connects and closes at cleanup.
func open(tb testing.TB, url string, opts bus.Options) *amqpbus.Bus {
	tb.Helper()
	if opts.Name == "" {
		opts.Name = testenv.RandomName("runlet-test-")
	}
	if opts.Logger == nil {
		opts.Logger = testLogger(tb)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := amqpbus.Open(ctx, url, opts)
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(func() {
		if err := b.Close(); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	return b
}

// testLogger logs through tb, at debug level when -v.
func testLogger(tb testing.TB) *slog.Logger {
	level := slog.LevelInfo
	if testing.Verbose() {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(tbWriter{tb}, &slog.HandlerOptions{Level: level}))
}

type tbWriter struct{ tb testing.TB }

func (w tbWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
