package bustest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/internal/testenv"
)

func testConnected(t *testing.T, h Harness) {
	b := h.Open(t, h.Workspace(t))
	if s := b.State(); s != bus.Connected {
		t.Errorf("State after Open = %v, want connected", s)
	}
}

// testFanOut: every current subscriber of a matching pattern gets each
// message, "*" matching one word and "#" one or more.
func testFanOut(t *testing.T, h Harness) {
	ws := h.Workspace(t)
	pub := h.Open(t, ws)
	star, hash, exact, none := newRecorder(), newRecorder(), newRecorder(), newRecorder()
	// Subscribers on their own connections and one on the publisher's.
	subscribe(t, h.Open(t, ws), ws, "job.*.d1.status.v1", star)
	subscribe(t, h.Open(t, ws), ws, "job.#", hash)
	subscribe(t, pub, ws, "job.e1.d1.status.v1", exact)
	subscribe(t, h.Open(t, ws), ws, "telemetry.#", none)

	keys := []bus.Key{"job.e1.d1.status.v1", "job.e2.d1.status.v1", "job.e1.d2.status.v1", "job.e1.d1.io.output.v1"}
	for i, k := range keys {
		publish(t, pub, ws, msg(k, fmt.Sprint("m", i)))
	}
	want := map[*recorder][]string{star: {"m0", "m1"}, hash: {"m0", "m1", "m2", "m3"}, exact: {"m0"}}
	for r, w := range want {
		r.waitN(t, len(w))
	}
	// A marker every subscriber of "#" sees last bounds what may still come.
	publish(t, pub, ws, msg("job.end.d1.status.v1", "end"))
	star.waitID(t, "end")
	hash.waitID(t, "end")
	want[star] = append(want[star], "end")
	want[hash] = append(want[hash], "end")
	for r, w := range want {
		if got := ids(r.Messages()); fmt.Sprint(got) != fmt.Sprint(w) {
			t.Errorf("subscriber got %v, want %v", got, w)
		}
	}
	if n := none.Len(); n != 0 {
		t.Errorf("subscriber of telemetry.# got %d messages of job.*", n)
	}
}

func ids(ms []bus.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

// testOrdering: 1,000 messages of one publisher arrive all and in order.
func testOrdering(t *testing.T, h Harness) {
	ws := h.Workspace(t)
	pub := h.Open(t, ws)
	r := newRecorder()
	subscribe(t, h.Open(t, ws), ws, bus.AllHeartbeats, r)
	const n = 1000
	for i := range n {
		m := msg(bus.HeartbeatKey("d"), fmt.Sprint("h", i))
		m.Header = map[string]string{"seq": strconv.Itoa(i)}
		publish(t, pub, ws, m)
	}
	r.waitN(t, n)
	for i, m := range r.Messages() {
		if m.Header["seq"] != strconv.Itoa(i) {
			t.Fatalf("message %d has seq %q: out of order", i, m.Header["seq"])
		}
	}
}

// testUnsubscribe: after Close returns, the handler is not called again.
func testUnsubscribe(t *testing.T, h Harness) {
	ws := h.Workspace(t)
	pub := h.Open(t, ws)
	r, control := newRecorder(), newRecorder()
	// Contexts without a deadline are the common case in long-lived callers.
	s, err := h.Open(t, ws).Subscribe(context.Background(), ws, "workspace.event.v1", r.Handle)
	if err != nil {
		t.Fatalf("subscribe with a context without deadline: %v", err)
	}
	subscribe(t, h.Open(t, ws), ws, "workspace.#", control)
	if err := pub.Publish(context.Background(), ws, msg(bus.EventKey, "before")); err != nil {
		t.Fatalf("publish with a context without deadline: %v", err)
	}
	r.waitID(t, "before")
	if err := s.Close(); err != nil {
		t.Fatalf("close subscription: %v", err)
	}
	n := r.Len()
	for i := range 10 {
		publish(t, pub, ws, msg(bus.EventKey, fmt.Sprint("after", i)))
	}
	control.waitID(t, "after9")
	if got := r.Len(); got != n {
		t.Errorf("closed subscription got %d more messages", got-n)
	}
}

// testSubscriptionContext: a subscription ends when its context is done.
func testSubscriptionContext(t *testing.T, h Harness) {
	ws := h.Workspace(t)
	pub := h.Open(t, ws)
	c, cancel := context.WithCancel(ctx(t))
	r, control := newRecorder(), newRecorder()
	if _, err := h.Open(t, ws).Subscribe(c, ws, "workspace.event.v1", r.Handle); err != nil {
		t.Fatal(err)
	}
	subscribe(t, h.Open(t, ws), ws, "workspace.event.v1", control)
	publish(t, pub, ws, msg(bus.EventKey, "before"))
	r.waitID(t, "before")
	cancel()
	// The end is asynchronous: probe until a probe reaches the control
	// subscriber and, three probes later, still has not reached r.
	i := 0
	if !testenv.Poll(Wait, 0, func() bool {
		publish(t, pub, ws, msg(bus.EventKey, fmt.Sprint("p", i)))
		control.waitID(t, fmt.Sprint("p", i))
		ended := i >= 3 && !hasID(r.Messages(), fmt.Sprint("p", i-3))
		i++
		return ended
	}) {
		t.Fatalf("subscription still delivers %v after its context ended", Wait)
	}
}

// testRoundTrip: ID, Key, Header, Body and Time arrive as published, on
// both kinds; Publish fills ID and Time when empty.
func testRoundTrip(t *testing.T, h Harness) {
	ws := h.Workspace(t)
	b := h.Open(t, ws)
	r := newRecorder()
	subscribe(t, h.Open(t, ws), ws, "job.#", r)
	sent := bus.Message{
		ID:     "id-1",
		Key:    bus.OutputKey("exec 1", "pi/1"),
		Header: map[string]string{"content-type": "application/octet-stream", "Seq": "42", "x-empty": ""},
		Body:   []byte{0, 1, 2, 0xff, '\n'},
		Time:   time.Date(2026, 3, 4, 5, 6, 7, 8_000_000, time.UTC),
	}
	publish(t, b, ws, sent)
	publish(t, b, ws, bus.Message{Key: bus.OutputKey("e2", "d"), Body: []byte("x")})
	r.waitN(t, 2)
	got := r.Messages()
	sameMessage(t, "transient", got[0], sent)
	if got[1].ID == "" || got[1].Time.IsZero() {
		t.Errorf("Publish did not fill ID and Time: %+v", got[1])
	}
	if d := time.Since(got[1].Time); d < -time.Minute || d > time.Minute {
		t.Errorf("Publish set Time %v, far from now", got[1].Time)
	}

	q := bus.Queue{Name: QueueNames[0], Pattern: "job.*.*.status.v1", AckWait: h.AckWait}
	declare(t, b, ws, q)
	sent.Key = bus.StatusKey("exec 1", "pi/1")
	sent.ExpiresAt = time.Now().Add(time.Hour).Truncate(time.Millisecond)
	publishDurable(t, b, ws, sent)
	publishDurable(t, b, ws, bus.Message{Key: bus.StatusKey("e2", "d"), Body: []byte("y")})
	dr := newRecorder()
	consume(t, h.Open(t, ws), ws, q, dr.AckDeliver(t))
	dr.waitN(t, 2)
	dgot := dr.Deliveries()
	sameMessage(t, "durable", dgot[0].Message, sent)
	if dgot[0].Redelivered {
		t.Errorf("first delivery marked redelivered")
	}
	if d := dgot[0].ExpiresAt.Sub(sent.ExpiresAt); d < -time.Second || d > time.Second {
		t.Errorf("durable ExpiresAt = %v, want %v", dgot[0].ExpiresAt, sent.ExpiresAt)
	}
	if dgot[1].ID == "" || dgot[1].Time.IsZero() {
		t.Errorf("PublishDurable did not fill ID and Time: %+v", dgot[1].Message)
	}
}

func sameMessage(t testing.TB, kind string, got, want bus.Message) {
	t.Helper()
	if got.ID != want.ID || got.Key != want.Key || !bytes.Equal(got.Body, want.Body) {
		t.Errorf("%s: got id %q key %q body %q, want %q %q %q", kind, got.ID, got.Key, got.Body, want.ID, want.Key, want.Body)
	}
	for k, v := range want.Header {
		if gv, ok := got.Header[k]; !ok || gv != v {
			t.Errorf("%s: header %q = %q (present %v), want %q; all: %v", kind, k, gv, ok, v, got.Header)
		}
	}
	if d := got.Time.Sub(want.Time); d < -time.Millisecond || d > time.Millisecond {
		t.Errorf("%s: Time = %v, want %v", kind, got.Time, want.Time)
	}
}

// testLargeBodies: 1 MiB bodies go through both kinds (or the broker's
// declared maximum, with ErrTooLarge above it).
func testLargeBodies(t *testing.T, h Harness) {
	ws := h.Workspace(t)
	b := h.Open(t, ws)
	size := 1 << 20
	if h.MaxBody > 0 {
		big := msg(bus.EventKey, "too-big")
		big.Body = make([]byte, size)
		if err := b.Publish(ctx(t), ws, big); !errors.Is(err, bus.ErrTooLarge) {
			t.Errorf("publish of 1 MiB over the broker's %d: got %v, want ErrTooLarge", h.MaxBody, err)
		}
		size = h.MaxBody
	}
	body := make([]byte, size)
	for i := range body {
		body[i] = byte(i * 7)
	}
	r := newRecorder()
	subscribe(t, h.Open(t, ws), ws, bus.EventKey, r)
	m := msg(bus.EventKey, "large")
	m.Body = body
	publish(t, b, ws, m)
	r.waitN(t, 1)
	if got := r.Messages()[0].Body; !bytes.Equal(got, body) {
		t.Errorf("transient large body: got %d bytes, differing", len(got))
	}

	q := bus.Queue{Name: QueueNames[0], Pattern: bus.DispatchKey("big"), AckWait: h.AckWait}
	declare(t, b, ws, q)
	m.Key = bus.DispatchKey("big")
	publishDurable(t, b, ws, m)
	dr := newRecorder()
	consume(t, h.Open(t, ws), ws, q, dr.AckDeliver(t))
	dr.waitN(t, 1)
	if got := dr.Messages()[0].Body; !bytes.Equal(got, body) {
		t.Errorf("durable large body: got %d bytes, differing", len(got))
	}
}
