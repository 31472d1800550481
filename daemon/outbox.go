package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/outbox"
	"github.com/runlet/runlet/wire"
)

// statusOutbox holds the status transitions not yet confirmed by the
// broker, in a durable queue under the daemon's state, and publishes them in
// order, retrying until the broker confirms. A status survives a broker
// outage and a daemon restart; the message id (exec/device/status) lets the
// broker drop a resend.
type statusOutbox struct {
	q   *outbox.Queue
	log *slog.Logger
}

const (
	// retryFirst is the first pause of the daemon's retries (of the
	// dispatch consumer; the outbox has its own).
	retryFirst = 100 * time.Millisecond
	// publishWait bounds one attempt to send a status.
	publishWait = 10 * time.Second
)

// openOutbox loads what a previous daemon left unsent.
func openOutbox(dir string, log *slog.Logger) (*statusOutbox, error) {
	if err := makeDir(dir); err != nil {
		return nil, err
	}
	q, err := outbox.Open(dir, outbox.Options{
		Name:   "the daemon's state in " + dir,
		Logger: log,
		Legacy: legacyStatus,
	})
	if err != nil {
		return nil, fmt.Errorf("daemon: open the status outbox: %w", err)
	}
	if n := q.Len(); n > 0 {
		log.Info("resending statuses a previous run left unconfirmed", "count", n)
	}
	return &statusOutbox{q: q, log: log}, nil
}

// statusMessage is what carries st to the servers.
func statusMessage(st wire.Status) (bus.Message, error) {
	body, err := wire.Encode(st)
	if err != nil {
		return bus.Message{}, err
	}
	return bus.Message{
		ID:   statusMessageID(st),
		Key:  bus.StatusKey(st.ID, st.Device),
		Body: body,
	}, nil
}

// legacyStatus reads an entry the daemon wrote before it used package
// outbox: a wire.Status in JSON.
func legacyStatus(b []byte) (bus.Message, error) {
	var st wire.Status
	if err := json.Unmarshal(b, &st); err != nil {
		return bus.Message{}, err
	}
	if st.ID == "" || st.Device == "" || st.Status == "" {
		return bus.Message{}, errors.New("not a status")
	}
	return statusMessage(st)
}

// statuses are the statuses waiting to be sent, oldest first.
func (o *statusOutbox) statuses() []wire.Status {
	var out []wire.Status
	for _, m := range o.q.Pending() {
		var st wire.Status
		if err := wire.Decode(m.Body, &st); err != nil {
			o.log.Error("a message of the status outbox is no status", "id", m.ID, "err", err)
			continue
		}
		out = append(out, st)
	}
	return out
}

// latest returns the newest status of execution id still waiting to be
// sent, if any.
func (o *statusOutbox) latest(id string) (wire.Status, bool) {
	sts := o.statuses()
	for i := len(sts) - 1; i >= 0; i-- {
		if sts[i].ID == id {
			return sts[i], true
		}
	}
	return wire.Status{}, false
}

// add stores st durably and queues it for publishing.
func (o *statusOutbox) add(st wire.Status) error {
	m, err := statusMessage(st)
	if err == nil {
		err = o.q.Put(context.Background(), m)
	}
	if err != nil {
		return fmt.Errorf("daemon: store status %s of execution %s: %w", st.Status, st.ID, err)
	}
	return nil
}

// run publishes the pending statuses until ctx ends.
func (o *statusOutbox) run(ctx context.Context, b bus.Bus, ws string) {
	err := o.q.Drain(ctx, func(ctx context.Context, m bus.Message) error {
		ctx, cancel := context.WithTimeout(ctx, publishWait)
		defer cancel()
		return b.PublishDurable(ctx, ws, m)
	})
	if ctx.Err() == nil {
		o.log.Error("the status outbox stopped sending", "err", err)
	}
}

// statusMessageID lets the broker and the server drop a status sent twice.
func statusMessageID(st wire.Status) string {
	return st.ID + "/" + st.Device + "/" + string(st.Status)
}

// len is the number of statuses not confirmed yet.
func (o *statusOutbox) len() int { return o.q.Len() }

// flush waits until the outbox is empty or d has passed.
func (o *statusOutbox) flush(d time.Duration) bool {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := o.q.Wait(ctx); err != nil {
		o.log.Warn("stopping with statuses the broker has not confirmed; they go out at the next start", "count", o.q.Len())
		return false
	}
	return true
}
