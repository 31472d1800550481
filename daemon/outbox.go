package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/wire"
)

// outbox holds the status transitions not yet confirmed by the broker, one
// fsynced file each, and publishes them in order, retrying until the broker
// confirms. A status survives a broker outage and a daemon restart; the
// message id (exec/device/status) lets the broker drop a resend.
type outbox struct {
	dir string
	log *slog.Logger

	mu      sync.Mutex
	next    uint64 // the number of the next file
	pending []outboxEntry
	wake    chan struct{} // has a token when pending grew
	changed chan struct{} // closed and replaced when pending shrank
}

type outboxEntry struct {
	file string
	st   wire.Status
}

// Backoff of the outbox between attempts while the broker does not confirm.
const (
	retryFirst = 100 * time.Millisecond
	retryMost  = 5 * time.Second
	// publishWait bounds one attempt.
	publishWait = 10 * time.Second
)

// openOutbox loads what a previous daemon left unsent.
func openOutbox(dir string, log *slog.Logger) (*outbox, error) {
	if err := makeDir(dir); err != nil {
		return nil, err
	}
	o := &outbox{dir: dir, log: log, wake: make(chan struct{}, 1), changed: make(chan struct{})}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("daemon: read the status outbox: %w", err)
	}
	for _, de := range entries {
		name := de.Name()
		num, ok := strings.CutSuffix(name, ".json")
		n, err := strconv.ParseUint(num, 10, 64)
		if !ok || err != nil {
			continue // a temporary file of a write a crash cut short
		}
		var st wire.Status
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err == nil {
			err = json.Unmarshal(b, &st)
		}
		if err != nil {
			log.Error("dropping a damaged status from the outbox", "file", name, "err", err)
			_ = os.Remove(filepath.Join(dir, name))
			continue
		}
		o.pending = append(o.pending, outboxEntry{file: name, st: st})
		o.next = max(o.next, n+1)
	}
	slices.SortFunc(o.pending, func(a, b outboxEntry) int { return strings.Compare(a.file, b.file) })
	o.next = max(o.next, uint64(time.Now().UnixNano()))
	if len(o.pending) > 0 {
		log.Info("resending statuses a previous run left unconfirmed", "count", len(o.pending))
		o.wake <- struct{}{}
	}
	return o, nil
}

// latest returns the newest status of execution id still waiting to be
// sent, if any.
func (o *outbox) latest(id string) (wire.Status, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i := len(o.pending) - 1; i >= 0; i-- {
		if o.pending[i].st.ID == id {
			return o.pending[i].st, true
		}
	}
	return wire.Status{}, false
}

// add stores st durably and queues it for publishing.
func (o *outbox) add(st wire.Status) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	// Zero-padded numbers sort like the order of the transitions.
	name := fmt.Sprintf("%020d.json", o.next)
	o.next++
	if err := writeFileSync(filepath.Join(o.dir, name), b); err != nil {
		return fmt.Errorf("daemon: store status %s of execution %s: %w", st.Status, st.ID, err)
	}
	o.pending = append(o.pending, outboxEntry{file: name, st: st})
	select {
	case o.wake <- struct{}{}:
	default:
	}
	return nil
}

// run publishes the pending statuses until ctx ends.
func (o *outbox) run(ctx context.Context, b bus.Bus, ws string) {
	wait := retryFirst
	for {
		o.mu.Lock()
		var head outboxEntry
		ok := len(o.pending) > 0
		if ok {
			head = o.pending[0]
		}
		o.mu.Unlock()
		if !ok {
			select {
			case <-o.wake:
				continue
			case <-ctx.Done():
				return
			}
		}
		if err := o.publish(ctx, b, ws, head.st); err != nil {
			if wait == retryFirst {
				o.log.Warn("the broker does not confirm statuses; they wait on disk and are retried", "pending", o.len(), "err", err)
			}
			o.log.Debug("status not confirmed yet; retrying", "execution", head.st.ID, "status", head.st.Status, "in", wait, "err", err)
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return
			}
			wait = min(2*wait, retryMost)
			continue
		}
		if wait != retryFirst {
			o.log.Info("the broker confirms statuses again", "pending", o.len()-1)
		}
		wait = retryFirst
		o.done(head.file)
	}
}

func (o *outbox) publish(ctx context.Context, b bus.Bus, ws string, st wire.Status) error {
	body, err := wire.Encode(st)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, publishWait)
	defer cancel()
	return b.PublishDurable(ctx, ws, bus.Message{
		ID:   statusMessageID(st),
		Key:  bus.StatusKey(st.ID, st.Device),
		Body: body,
	})
}

// statusMessageID lets the broker and the server drop a status sent twice.
func statusMessageID(st wire.Status) string {
	return st.ID + "/" + st.Device + "/" + string(st.Status)
}

// done forgets the confirmed head of the outbox.
func (o *outbox) done(file string) {
	// A removal lost in a crash only means one more resend, which the
	// message id makes harmless.
	if err := os.Remove(filepath.Join(o.dir, file)); err != nil {
		o.log.Error("remove a sent status from the outbox", "file", file, "err", err)
	}
	o.mu.Lock()
	o.pending = o.pending[1:]
	close(o.changed)
	o.changed = make(chan struct{})
	o.mu.Unlock()
}

// len is the number of statuses not confirmed yet.
func (o *outbox) len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.pending)
}

// flush waits until the outbox is empty or d has passed.
func (o *outbox) flush(d time.Duration) bool {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		o.mu.Lock()
		n, changed := len(o.pending), o.changed
		o.mu.Unlock()
		if n == 0 {
			return true
		}
		select {
		case <-changed:
		case <-deadline.C:
			o.log.Warn("stopping with statuses the broker has not confirmed; they go out at the next start", "count", n)
			return false
		}
	}
}
