package nats_test

import (
	"context"
	"errors"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/runlet/runlet/bus"
	natsbus "github.com/runlet/runlet/bus/nats"
)

// TestInboxIsPrivate is hole 2 of issue 11 with a broker client of the
// attacker's own: a device may not read the shared inbox, where JetStream
// delivers pulled messages and API answers of every principal, nor ask
// account-wide questions; its own inbox prefix works.
func TestInboxIsPrivate(t *testing.T) {
	s := startEmbedded(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const user = "device:w1:pi-b"
	violations := make(chan error, 16)
	nc, err := natsgo.Connect(withUser(s.URL(), user, testPassword),
		natsgo.ErrorHandler(func(_ *natsgo.Conn, _ *natsgo.Subscription, err error) { violations <- err }))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	for _, subject := range []string{"_INBOX.>", "_INBOX.*", natsbus.InboxPrefix("device:w2:pi-a") + ".>", ">", "$JS.>"} {
		if _, err := nc.SubscribeSync(subject); err != nil {
			t.Fatal(err)
		}
		if err := nc.FlushWithContext(ctx); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-violations:
			if !errors.Is(err, natsgo.ErrPermissionViolation) {
				t.Errorf("subscribe %s: %v, want a permission violation", subject, err)
			}
		case <-ctx.Done():
			t.Fatalf("subscribe %s: not refused", subject)
		}
	}
	// Account-wide: stream counts and names.
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	short, cancelShort := context.WithTimeout(ctx, 2*time.Second)
	defer cancelShort()
	if _, err := js.AccountInfo(short); err == nil {
		t.Errorf("a device read the account's JetStream info")
	}

	// The adapter, connected as the same user, uses its own prefix and
	// works: a JetStream round trip (stream info of the status queue the
	// server declared) answers on it.
	srv, err := s.Bus(ctx, bus.Options{Name: "server", Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	status := bus.Queue{Name: bus.StatusQueue, Pattern: bus.AllStatus}
	if err := srv.DeclareQueue(ctx, "w1", status); err != nil {
		t.Fatal(err)
	}
	dev := open(t, withUser(s.URL(), user, testPassword), bus.Options{Logger: quiet()})
	if err := dev.DeclareQueue(ctx, "w1", status); err != nil {
		t.Errorf("the device looks up the status queue through its own inbox: %v", err)
	}
	if err := dev.PublishDurable(ctx, "w1", bus.Message{Key: bus.StatusKey("e", "pi-b")}); err != nil {
		t.Errorf("the device publishes its status, acked on its own inbox: %v", err)
	}
	// No stream for telemetry: ErrNoQueue, though the device may not read
	// the account's info.
	if err := dev.PublishDurable(ctx, "w1", bus.Message{Key: bus.TelemetryKey("pi-b")}); !errors.Is(err, bus.ErrNoQueue) {
		t.Errorf("durable publish with no queue: %v, want ErrNoQueue", err)
	}
}
