package nats

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/runlet/runlet/bus"
)

// dupWindow is how long JetStream remembers message ids to drop a publish
// retried after a lost confirm; a broker restart fits well within it.
const dupWindow = 10 * time.Minute

func streamConfig(ws string, q bus.Queue) jetstream.StreamConfig {
	maxAge := q.MaxAge
	if maxAge <= 0 {
		maxAge = bus.DefaultMaxAge
	}
	return jetstream.StreamConfig{
		Name:        StreamName(ws, q.Name),
		Description: fmt.Sprintf("runlet queue %q of workspace %q", q.Name, ws),
		Subjects:    []string{DurableSubject(ws, q.Pattern)},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		MaxAge:      maxAge,
		Duplicates:  min(dupWindow, maxAge),
	}
}

func checkQueue(q bus.Queue) error {
	if q.Name == "" {
		return fmt.Errorf("bus: nats: a queue needs a name")
	}
	return q.Pattern.Validate(true)
}

// DeclareQueue creates the queue's stream, or updates its subjects and age
// limit when they changed. The Bus declares it again after a reconnection,
// in case the server lost it.
func (b *Bus) DeclareQueue(ctx context.Context, ws string, q bus.Queue) error {
	if err := b.live(); err != nil {
		return err
	}
	if err := checkQueue(q); err != nil {
		return err
	}
	if err := b.declare(ctx, ws, q); err != nil {
		return err
	}
	b.mu.Lock()
	b.declared[StreamName(ws, q.Name)] = declaredQueue{ws: ws, q: q}
	b.mu.Unlock()
	return nil
}

// declare makes sure the stream exists with q's configuration. It reads
// before it writes, so that a principal allowed only to read a stream (a
// device and its workspace's status queue) can declare one that exists.
func (b *Bus) declare(ctx context.Context, ws string, q bus.Queue) error {
	cfg := streamConfig(ws, q)
	c, done := b.guard(ctx, apiFor(cfg.Name))
	defer done()
	s, err := b.js.Stream(c, cfg.Name)
	switch {
	case err == nil:
		have := s.CachedInfo().Config
		if slices.Equal(have.Subjects, cfg.Subjects) && have.MaxAge == cfg.MaxAge {
			return nil
		}
		_, err = b.js.UpdateStream(c, cfg)
	case errors.Is(err, jetstream.ErrStreamNotFound):
		_, err = b.js.CreateStream(c, cfg)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			err = nil // declared by someone else meanwhile
		}
	}
	if err != nil {
		return b.mapErr(fmt.Sprintf("declare queue %q (pattern %s) in workspace %q", q.Name, q.Pattern, ws), refused(c, err))
	}
	return nil
}

// redeclare declares every queue this Bus declared again, after a
// reconnection, in case the server lost its streams (a new server, a lost
// store).
// Consumers whose server-side consumer is gone restart their pull.
func (b *Bus) redeclare() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	qs := make([]declaredQueue, 0, len(b.declared))
	for _, d := range b.declared {
		qs = append(qs, d)
	}
	var cs []*consumer
	for s := range b.subs {
		if c, ok := s.(*consumer); ok {
			cs = append(cs, c)
		}
	}
	b.wg.Add(1)
	b.mu.Unlock()
	go func() {
		defer b.wg.Done()
		for _, d := range qs {
			ctx, cancel := context.WithTimeout(b.stop, 30*time.Second)
			if err := b.declare(ctx, d.ws, d.q); err != nil && b.stop.Err() == nil {
				b.log.Error("re-declaring a queue after reconnecting", "workspace", d.ws, "queue", d.q.Name, "err", err)
			}
			cancel()
		}
		for _, c := range cs {
			ctx, cancel := context.WithTimeout(b.stop, 30*time.Second)
			c.recheck(ctx)
			cancel()
		}
	}()
}

// PublishDurable publishes to JetStream on the key's durable subject and
// waits for the stream's ack, then copies the message to the transient
// subject (copyTransient). The message id is the JetStream Nats-Msg-Id, so
// a publish retried after a lost ack is stored once.
func (b *Bus) PublishDurable(ctx context.Context, ws string, m bus.Message) error {
	if err := b.live(); err != nil {
		return err
	}
	if err := m.Key.Validate(false); err != nil {
		return err
	}
	fill(&m)
	nm := encode(DurableSubject(ws, m.Key), m)
	c, done := b.guard(ctx, subjectIs(nm.Subject))
	defer done()
	_, err := b.js.PublishMsg(c, nm, jetstream.WithMsgID(m.ID), jetstream.WithRetryAttempts(0))
	if err == nil {
		b.copyTransient(ws, m)
		return nil
	}
	err = refused(c, err)
	if errors.Is(err, jetstream.ErrNoStreamResponse) {
		// Nobody answered: either no stream matches, or JetStream itself is
		// not up (yet). Only the first is ErrNoQueue.
		if aerr := b.jetStreamAnswers(ctx, ws, m.Key); aerr != nil {
			return fmt.Errorf("bus: nats: durable publish to %s not confirmed, JetStream is not answering (%v); retry", nm.Subject, aerr)
		}
		return fmt.Errorf("%w: %s in workspace %q", bus.ErrNoQueue, m.Key, ws)
	}
	return b.mapErr(fmt.Sprintf("durable publish to %s not confirmed (retry)", nm.Subject), err)
}

// jetStreamAnswers returns nil when JetStream is up, asking as little as
// the principal may: the stream of a queue this Bus declared for the key,
// else the account's info, which only a server may read (a refusal
// answers too: JetStream is up).
func (b *Bus) jetStreamAnswers(ctx context.Context, ws string, k bus.Key) error {
	b.mu.Lock()
	stream := ""
	for name, d := range b.declared {
		if d.ws == ws && bus.Match(d.q.Pattern, k) {
			stream = name
		}
	}
	b.mu.Unlock()
	var err error
	if stream != "" {
		c, done := b.guard(ctx, apiFor(stream))
		_, err = b.js.Stream(c, stream)
		err = refused(c, err)
		done()
	} else {
		c, done := b.guard(ctx, subjectIs("$JS.API.INFO"))
		_, err = b.js.AccountInfo(c)
		err = refused(c, err)
		done()
	}
	if err == nil || errors.Is(err, jetstream.ErrStreamNotFound) || errors.Is(err, bus.ErrForbidden) {
		return nil
	}
	return err
}

// copyTransient publishes a message a stream stored on its transient
// subject, for the subscriptions whose pattern matches: after the ack, so
// that they see only what a queue stored, and before PublishDurable
// returns, on the same connection, so that they see the messages of one
// publisher in the order it published them, durable and transient alike.
// A retried publish is copied again (its first copy may never have been
// sent). A failed copy is a transient message lost, which subscribers must
// bear anyway; it is logged, not returned, since the caller would publish
// the stored message again.
func (b *Bus) copyTransient(ws string, m bus.Message) {
	if err := b.nc.PublishMsg(encode(Subject(ws, m.Key), m)); err != nil {
		b.log.Warn("durable message stored, but its copy for transient subscribers was not sent",
			"workspace", ws, "key", string(m.Key), "id", m.ID, "err", err)
	}
}

// DeleteQueue deletes the queue's stream, its consumer and its messages.
func (b *Bus) DeleteQueue(ctx context.Context, ws string, name string) error {
	if err := b.live(); err != nil {
		return err
	}
	stream := StreamName(ws, name)
	c, done := b.guard(ctx, apiFor(stream))
	defer done()
	err := b.js.DeleteStream(c, stream)
	if err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return b.mapErr(fmt.Sprintf("delete queue %q in workspace %q", name, ws), refused(c, err))
	}
	b.mu.Lock()
	delete(b.declared, stream)
	b.mu.Unlock()
	return nil
}
