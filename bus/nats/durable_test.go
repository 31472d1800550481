package nats_test

import (
	"context"
	"slices"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/runlet/runlet/bus"
	natsbus "github.com/runlet/runlet/bus/nats"
	"github.com/runlet/runlet/internal/testenv"
)

// TestConsumeMovesStreamToDurableSubjects: a queue's stream that collects
// the transient subjects, as declared before durable subjects existed, is
// moved by Consume; what it stored before is delivered with its key, and
// durable publishes reach it after.
func TestConsumeMovesStreamToDurableSubjects(t *testing.T) {
	u := testenv.NATS(t)
	ws := sharedWorkspace(u)(t)
	q := bus.Queue{Name: "work", Pattern: bus.AllStatus, AckWait: 2 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	nc, err := natsgo.Connect(u)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	stream := natsbus.StreamName(ws, q.Name)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: stream, Subjects: []string{natsbus.Subject(ws, q.Pattern)}, Retention: jetstream.WorkQueuePolicy,
	}); err != nil {
		t.Fatal(err)
	}
	old := bus.StatusKey("e", "old")
	if _, err := js.Publish(ctx, natsbus.Subject(ws, old), []byte("stored the old way")); err != nil {
		t.Fatal(err)
	}

	b := open(t, u, bus.Options{})
	got := make(chan bus.Delivery, 10)
	s, err := b.Consume(ctx, ws, q, func(d bus.Delivery) {
		if err := d.Ack(); err != nil {
			t.Errorf("ack: %v", err)
		}
		got <- d
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	info, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	if subj, want := info.CachedInfo().Config.Subjects, natsbus.DurableSubject(ws, q.Pattern); !slices.Equal(subj, []string{want}) {
		t.Errorf("stream subjects after Consume = %v, want [%s]", subj, want)
	}
	if err := b.PublishDurable(ctx, ws, bus.Message{ID: "new", Key: bus.StatusKey("e", "new")}); err != nil {
		t.Fatalf("publish durable after the move: %v", err)
	}
	for _, want := range []bus.Key{old, bus.StatusKey("e", "new")} {
		select {
		case d := <-got:
			if d.Key != want {
				t.Errorf("delivery with key %q, want %q", d.Key, want)
			}
		case <-ctx.Done():
			t.Fatalf("no delivery of %s", want)
		}
	}
}

func TestDurableSubject(t *testing.T) {
	for _, c := range []struct {
		key  bus.Key
		want string
	}{
		{"job.*.*.status.v1", "wsd.acme.job.*.*.status.v1"},
		{"job.e1.#", "wsd.acme.job.e1.>"},
		{"#", "wsd.acme.>"},
	} {
		if got := natsbus.DurableSubject("acme", c.key); got != c.want {
			t.Errorf("DurableSubject(acme, %q) = %q, want %q", c.key, got, c.want)
		}
		if got := natsbus.PublishSubjects("acme", c.key); !slices.Equal(got, []string{natsbus.Subject("acme", c.key), c.want}) {
			t.Errorf("PublishSubjects(acme, %q) = %v", c.key, got)
		}
	}
}
