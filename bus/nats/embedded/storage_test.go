package embedded_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/runlet/runlet/bus"
	natsbus "github.com/runlet/runlet/bus/nats"
	"github.com/runlet/runlet/bus/nats/embedded"
	"github.com/runlet/runlet/internal/testenv"
)

const smallDisk = 64 << 20

// storeOn starts an embedded server with its store on dir and opens the
// server's bus with the dispatch queue of device pi declared.
func storeOn(t *testing.T, dir string) (*embedded.Server, *natsbus.Bus) {
	t.Helper()
	s, err := embedded.Start(embedded.Config{Dir: filepath.Join(dir, "nats"), Addr: "127.0.0.1:0",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := s.Bus(ctx, bus.Options{Name: "test", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	if err := b.DeclareQueue(ctx, "ws", bus.Queue{Name: bus.DispatchQueue("pi"), Pattern: bus.DispatchKey("pi")}); err != nil {
		t.Fatal(err)
	}
	return s, b
}

// dispatch publishes the n-th dispatch to pi.
func dispatch(b bus.Bus, n int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return b.PublishDurable(ctx, "ws", bus.Message{ID: fmt.Sprint(n), Key: bus.DispatchKey("pi"), Body: make([]byte, 1000)})
}

// While its disk has less than the reserve free, the broker refuses
// durable messages with bus.ErrFull (without filling the disk, which would
// break the stream); once space is freed, it takes them again, without a
// restart.
func TestStoreFollowsFreeSpace(t *testing.T) {
	dir := testenv.SmallDisk(t, smallDisk)
	s, b := storeOn(t, dir)
	if err := dispatch(b, 1); err != nil {
		t.Fatalf("on an empty disk: %v", err)
	}

	free := testenv.FillDisk(t, dir, embedded.Reserve(smallDisk)/2)
	s.CheckStore()
	if err := dispatch(b, 2); !errors.Is(err, bus.ErrFull) {
		t.Fatalf("on a full disk: %v, want bus.ErrFull", err)
	}

	free()
	s.CheckStore()
	if err := dispatch(b, 3); err != nil {
		t.Fatalf("after space was freed: %v", err)
	}
}

// The case: a broker restarted on a nearly full disk used to keep
// the tiny limit it computed then, refusing every message until the next
// restart. Now freeing space is enough.
func TestRestartedOnFullDisk(t *testing.T) {
	dir := testenv.SmallDisk(t, smallDisk)
	s, b := storeOn(t, dir)
	if err := dispatch(b, 0); err != nil { // waits for an offline pi
		t.Fatal(err)
	}
	b.Close()
	s.Shutdown()

	free := testenv.FillDisk(t, dir, embedded.Reserve(smallDisk)/2)
	s, b = storeOn(t, dir)
	if err := dispatch(b, 1); !errors.Is(err, bus.ErrFull) {
		t.Fatalf("on a full disk: %v, want bus.ErrFull", err)
	}

	free()
	s.CheckStore()
	for n := 2; n < 100; n++ { // more than 75% of what was free at start
		if err := dispatch(b, n); err != nil {
			t.Fatalf("message %d after space was freed: %v", n, err)
		}
	}
}
