package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/bus/nats/embedded"
	"github.com/runlet/runlet/outbox"
)

// patience bounds every wait for an event; the machine may be loaded.
const patience = 30 * time.Second

func open(t testing.TB, dir string, opts outbox.Options) *outbox.Queue {
	t.Helper()
	q, err := outbox.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func put(t testing.TB, q *outbox.Queue, ms ...bus.Message) {
	t.Helper()
	for _, m := range ms {
		if err := q.Put(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
}

func msg(i int) bus.Message {
	return bus.Message{
		ID:     fmt.Sprintf("m%d", i),
		Key:    bus.TelemetryKey("pi-1"),
		Header: map[string]string{"content-type": "application/json", "n": fmt.Sprint(i)},
		Body:   []byte(fmt.Sprintf(`{"reading":%d}`, i)),
	}
}

// sameMessages fails unless got and want hold the same messages in the
// same order.
func sameMessages(t testing.TB, what string, got, want []bus.Message) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d messages %v, want %d", what, len(got), ids(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.ID != w.ID || g.Key != w.Key || string(g.Body) != string(w.Body) ||
			len(g.Header) != len(w.Header) || !g.ExpiresAt.Equal(w.ExpiresAt) || !g.Time.Equal(w.Time) {
			t.Fatalf("%s: message %d is %+v, want %+v", what, i, g, w)
		}
		for k, v := range w.Header {
			if g.Header[k] != v {
				t.Fatalf("%s: message %d has header %s=%q, want %q", what, i, k, g.Header[k], v)
			}
		}
	}
}

func ids(ms []bus.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

// entries lists the entry files in dir.
func entries(t testing.TB, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// recorder is a publish function that records what it was given and
// fails while fail says so.
type recorder struct {
	mu   sync.Mutex
	got  []bus.Message
	fail func(bus.Message) error
	more chan struct{} // closed and replaced on every call
}

func newRecorder() *recorder { return &recorder{more: make(chan struct{})} }

func (r *recorder) publish(_ context.Context, m bus.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var err error
	if r.fail != nil {
		err = r.fail(m)
	}
	if err == nil {
		r.got = append(r.got, m)
	}
	close(r.more)
	r.more = make(chan struct{})
	return err
}

func (r *recorder) published() []bus.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// drain runs q.Drain with publish until the test ends.
func drain(t testing.TB, q *outbox.Queue, publish func(context.Context, bus.Message) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- q.Drain(ctx, publish) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Drain: %v", err)
		}
	})
}

func waitEmpty(t testing.TB, q *outbox.Queue) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := q.Wait(ctx); err != nil {
		t.Fatalf("%d messages still queued after %s", q.Len(), patience)
	}
}

func TestOrderKeptThroughReopen(t *testing.T) {
	dir := t.TempDir()
	q := open(t, dir, outbox.Options{})
	want := []bus.Message{msg(1), msg(2), msg(3)}
	want[1].ExpiresAt = time.Date(2031, 1, 2, 3, 4, 5, 6, time.UTC)
	want[2].Time = time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	want[2].Header = nil
	put(t, q, want...)
	sameMessages(t, "Pending", q.Pending(), want)

	// The same directory opened again (a restart) holds the same messages,
	// and a message put now comes after them.
	q2 := open(t, dir, outbox.Options{})
	sameMessages(t, "Pending after reopen", q2.Pending(), want)
	want = append(want, msg(4))
	put(t, q2, want[3])
	sameMessages(t, "Pending after reopen and Put", open(t, dir, outbox.Options{}).Pending(), want)

	r := newRecorder()
	drain(t, q2, r.publish)
	waitEmpty(t, q2)
	sameMessages(t, "published", r.published(), want)
	if names := entries(t, dir); len(names) != 0 {
		t.Errorf("entries left on disk after every message was confirmed: %v", names)
	}
	if n := open(t, dir, outbox.Options{}).Len(); n != 0 {
		t.Errorf("reopened after the drain: %d messages", n)
	}
}

// A message leaves the disk only once publish has returned nil for it; a
// failed publish keeps it, first in line, through a restart.
func TestRemovedOnlyAfterConfirm(t *testing.T) {
	dir := t.TempDir()
	q := open(t, dir, outbox.Options{})
	put(t, q, msg(1), msg(2))

	refused := errors.New("the broker is away")
	calls := make(chan bus.Message)
	release := make(chan error)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- q.Drain(ctx, func(_ context.Context, m bus.Message) error {
			calls <- m
			return <-release
		})
	}()
	for range 3 {
		m := <-calls // publishing: still on disk
		if m.ID != "m1" {
			t.Fatalf("published %s before m1 was confirmed", m.ID)
		}
		if n := len(entries(t, dir)); n != 2 || q.Len() != 2 {
			t.Fatalf("during a publish: %d entries on disk, Len %d; want 2", n, q.Len())
		}
		release <- refused
	}
	<-calls
	cancel()
	release <- refused
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Drain: %v", err)
	}
	if n := len(entries(t, dir)); n != 2 || q.Len() != 2 {
		t.Fatalf("after failed publishes: %d entries on disk, Len %d; want 2", n, q.Len())
	}

	q2 := open(t, dir, outbox.Options{})
	sameMessages(t, "reopened after failed publishes", q2.Pending(), []bus.Message{msg(1), msg(2)})
	r := newRecorder()
	fails := 2
	r.fail = func(m bus.Message) error {
		if m.ID == "m1" && fails > 0 {
			fails--
			return refused
		}
		return nil
	}
	drain(t, q2, r.publish)
	waitEmpty(t, q2)
	sameMessages(t, "published once the broker confirms", r.published(), []bus.Message{msg(1), msg(2)})
}

// A damaged entry (cut short, a flipped byte, not an entry at all) is
// reported and set aside; the messages around it still go out.
func TestDamagedEntriesReportedAndSkipped(t *testing.T) {
	dir := t.TempDir()
	q := open(t, dir, outbox.Options{})
	ms := []bus.Message{msg(1), msg(2), msg(3), msg(4), msg(5)}
	put(t, q, ms...)
	names := entries(t, dir)
	slices.Sort(names)
	b, err := os.ReadFile(names[1])
	if err != nil {
		t.Fatal(err)
	}
	damage := map[string][]byte{
		names[1]:                        b[:len(b)/2],                                          // cut short
		names[2]:                        []byte(strings.Replace(string(b), `"m2"`, `"m9"`, 1)), // a changed byte
		names[3]:                        []byte("\x00\x01 not an outbox entry"),                // not an entry
		filepath.Join(dir, ".tmp-123"):  b,                                                     // a Put a crash cut short: not an entry yet
		filepath.Join(dir, "notes.txt"): []byte("a person's file"),                             // not ours
	}
	for name, data := range damage {
		if err := os.WriteFile(name, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	var mu sync.Mutex
	reported := map[string]error{}
	opts := outbox.Options{OnDamaged: func(file string, err error) {
		mu.Lock()
		defer mu.Unlock()
		reported[file] = err
	}}
	q2 := open(t, dir, opts)
	if len(reported) != 3 {
		t.Errorf("reported %v, want the 3 damaged entries", reported)
	}
	for _, name := range names[1:4] {
		if reported[filepath.Base(name)] == nil {
			t.Errorf("%s not reported", filepath.Base(name))
		}
		if _, err := os.Stat(name + ".damaged"); err != nil {
			t.Errorf("%s not set aside: %v", filepath.Base(name), err)
		}
	}
	for file, err := range reported {
		t.Logf("%s: %v", file, err)
	}
	want := []bus.Message{ms[0], ms[4]}
	sameMessages(t, "Pending", q2.Pending(), want)
	r := newRecorder()
	drain(t, q2, r.publish)
	waitEmpty(t, q2)
	sameMessages(t, "published", r.published(), want)

	// Set aside, they are not reported again.
	clear(reported)
	if q3 := open(t, dir, opts); q3.Len() != 0 || len(reported) != 0 {
		t.Errorf("third open: %d messages, reported %v", q3.Len(), reported)
	}
}

func TestFull(t *testing.T) {
	dir := t.TempDir()
	q := open(t, dir, outbox.Options{MaxMessages: 2})
	put(t, q, msg(1), msg(2))
	err := q.Put(context.Background(), msg(3))
	if !errors.Is(err, outbox.ErrFull) || !strings.Contains(err.Error(), "holds 2 messages") {
		t.Fatalf("Put into a full queue: %v", err)
	}
	if n := len(entries(t, dir)); n != 2 {
		t.Errorf("%d entries on disk, want 2", n)
	}
	r := newRecorder()
	drain(t, q, r.publish)
	waitEmpty(t, q)
	put(t, q, msg(3)) // room again

	// MaxBytes counts the entries' files.
	smallDir := t.TempDir()
	put(t, open(t, smallDir, outbox.Options{}), msg(1))
	fi, err := os.Stat(entries(t, smallDir)[0])
	if err != nil {
		t.Fatal(err)
	}
	small := open(t, smallDir, outbox.Options{MaxBytes: fi.Size() * 3 / 2})
	if err := small.Put(context.Background(), msg(2)); !errors.Is(err, outbox.ErrFull) {
		t.Errorf("Put beyond MaxBytes: %v", err)
	}
	big := msg(3)
	big.Body = make([]byte, 1000)
	if err := small.Put(context.Background(), big); err == nil || errors.Is(err, outbox.ErrFull) {
		t.Errorf("Put of a message larger than the queue: %v, want an error other than full", err)
	}
}

// Put gives a message without an ID one, kept through a restart, so that
// a resend carries the same id; it refuses a malformed key.
func TestPutIDAndKey(t *testing.T) {
	dir := t.TempDir()
	q := open(t, dir, outbox.Options{})
	put(t, q, bus.Message{Key: bus.TelemetryKey("pi"), Body: []byte("x")})
	id := q.Pending()[0].ID
	if id == "" {
		t.Fatal("no id given")
	}
	if got := open(t, dir, outbox.Options{}).Pending()[0].ID; got != id {
		t.Errorf("id %q after reopen, want %q", got, id)
	}
	if err := q.Put(context.Background(), bus.Message{Key: "telemetry.#", Body: []byte("x")}); err == nil {
		t.Error("Put took a pattern for a key")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := q.Put(ctx, msg(1)); !errors.Is(err, context.Canceled) {
		t.Errorf("Put with an ended context: %v", err)
	}
}

// Options.Legacy reads entries an older writer left in its own format.
func TestLegacyEntries(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "00000000000000000001.json"), []byte(`{"reading":1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "00000000000000000002.json"), []byte(`{"other":1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	var damaged []string
	q := open(t, dir, outbox.Options{
		Legacy: func(b []byte) (bus.Message, error) {
			if !strings.Contains(string(b), "reading") {
				return bus.Message{}, errors.New("not a reading")
			}
			return bus.Message{ID: "old", Key: bus.TelemetryKey("pi"), Body: b}, nil
		},
		OnDamaged: func(file string, err error) { damaged = append(damaged, file) },
	})
	put(t, q, msg(1))
	want := []bus.Message{{ID: "old", Key: bus.TelemetryKey("pi"), Body: []byte(`{"reading":1}`)}, msg(1)}
	sameMessages(t, "Pending", q.Pending(), want)
	if len(damaged) != 1 || damaged[0] != "00000000000000000002.json" {
		t.Errorf("damaged %v", damaged)
	}
	r := newRecorder()
	drain(t, q, r.publish)
	waitEmpty(t, q)
	sameMessages(t, "published", r.published(), want)
}

func TestOneDrainAtATime(t *testing.T) {
	q := open(t, t.TempDir(), outbox.Options{})
	r := newRecorder()
	drain(t, q, r.publish)
	// Wait until the first Drain runs: it publishes a message.
	r.mu.Lock()
	more := r.more
	r.mu.Unlock()
	put(t, q, msg(1))
	select {
	case <-more:
	case <-time.After(patience):
		t.Fatal("the first Drain does not publish")
	}
	if err := q.Drain(context.Background(), r.publish); err == nil {
		t.Error("a second Drain ran beside the first")
	}
}

// The publish function of a device: the broker's durable publish. Messages
// reach a consumer of the queue in order, with their headers.
func TestDrainToBroker(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := embedded.Start(embedded.Config{Dir: t.TempDir(), Addr: "127.0.0.1:0", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	b, err := s.Bus(ctx, bus.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	const ws = "w1"
	queue := bus.Queue{Name: "telemetry", Pattern: "telemetry.*.v1"}
	if err := b.DeclareQueue(ctx, ws, queue); err != nil {
		t.Fatal(err)
	}

	q := open(t, t.TempDir(), outbox.Options{})
	want := []bus.Message{msg(1), msg(2), msg(3)}
	put(t, q, want...)
	drain(t, q, func(ctx context.Context, m bus.Message) error { return b.PublishDurable(ctx, ws, m) })
	waitEmpty(t, q)

	got := make(chan bus.Message, len(want))
	sub, err := b.Consume(ctx, ws, queue, func(d bus.Delivery) {
		got <- d.Message
		_ = d.Ack()
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	for i, w := range want {
		select {
		case m := <-got:
			w.Time = m.Time // the broker's
			sameMessages(t, fmt.Sprintf("delivery %d", i), []bus.Message{m}, []bus.Message{w})
		case <-ctx.Done():
			t.Fatalf("delivery %d: %v", i, ctx.Err())
		}
	}
}
