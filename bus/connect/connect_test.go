package connect_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/bus/connect"
	"github.com/runlet/runlet/bus/nats/embedded"
	"github.com/runlet/runlet/internal/testenv"
)

func TestUnknownScheme(t *testing.T) {
	for _, url := range []string{"mqtt://u:secret@host:1883", "host:4222", "http://x"} {
		_, err := connect.Open(context.Background(), url, bus.Options{})
		if !errors.Is(err, bus.ErrScheme) {
			t.Errorf("Open(%q): got %v, want ErrScheme", url, err)
			continue
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("error shows the password: %v", err)
		}
		if scheme, _, ok := strings.Cut(url, "://"); ok && !strings.Contains(err.Error(), scheme) {
			t.Errorf("error does not name the scheme %q: %v", scheme, err)
		}
	}
}

// TestSchemes: each scheme reaches its adapter, which connects and works.
func TestSchemes(t *testing.T) {
	s, err := embedded.Start(embedded.Config{Dir: t.TempDir(), Addr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	t.Run("nats", func(t *testing.T) { roundTrip(t, s.URL()) })
	t.Run("amqp", func(t *testing.T) { roundTrip(t, testenv.RabbitMQ(t)) })
}

func roundTrip(t *testing.T, url string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := connect.Open(ctx, url, bus.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("Open(%s): %v", url, err)
	}
	defer b.Close()
	got := make(chan bus.Message, 1)
	if _, err := b.Subscribe(ctx, "w", bus.EventKey, func(m bus.Message) { got <- m }); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, "w", bus.Message{ID: "x", Key: bus.EventKey}); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if m.ID != "x" {
			t.Errorf("got %q", m.ID)
		}
	case <-ctx.Done():
		t.Fatal("nothing received")
	}
}

// TestFailedOpenIsNil: when no broker answers, Open returns a nil Bus (not
// a nil *Bus in a Bus), which the caller may test and never closes.
func TestFailedOpenIsNil(t *testing.T) {
	for _, url := range []string{"amqp://u:p@127.0.0.1:1/", "nats://127.0.0.1:1"} {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		b, err := connect.Open(ctx, url, bus.Options{Logger: slog.New(slog.DiscardHandler)})
		cancel()
		if err == nil || b != nil {
			t.Errorf("Open(%s) with nothing listening: %#v, %v; want nil and an error", url, b, err)
		}
	}
}
