package daemon

import (
	"context"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/runner"
	"github.com/runlet/runlet/wire"
)

// consumeDispatch takes executions from the device's dispatch queue until
// ctx ends. The queue may not exist yet (the server declares it when it
// first dispatches to this device, and a device may not create queues), so
// Consume is retried with a backoff.
func (d *Daemon) consumeDispatch(ctx context.Context) {
	q := bus.Queue{
		Name:      bus.DispatchQueue(d.device),
		Pattern:   bus.DispatchKey(d.device),
		OnExpired: d.onExpired,
	}
	wait := retryFirst
	for {
		sub, err := d.bus.Consume(ctx, d.ws, q, func(dl bus.Delivery) { d.onDispatch(ctx, dl) })
		if err == nil {
			<-ctx.Done()
			// Closed here, not only by ctx, so that no handler runs once
			// this goroutine is done.
			_ = sub.Close()
			return
		}
		if ctx.Err() != nil {
			return
		}
		d.log.Warn("cannot consume the dispatch queue yet; retrying", "queue", q.Name, "in", wait, "err", err)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return
		}
		wait = min(2*wait, maxConsumeWait)
	}
}

// maxConsumeWait is the longest pause between attempts to consume.
const maxConsumeWait = 30 * time.Second

// goodID is the runner's rule for execution ids; checked before an id
// becomes a file name.
func goodID(id string) bool { return runner.ValidID(id) }

// onDispatch takes one execution into the runner once the server's record
// says it may start (cancel.go). It acks once the execution is recorded
// and queued, and for anything that can never succeed; it nacks only when
// the daemon is stopping (ctx ends).
func (d *Daemon) onDispatch(ctx context.Context, dl bus.Delivery) {
	var disp wire.Dispatch
	err := wire.Decode(dl.Body, &disp)
	if err == nil {
		err = disp.Validate()
	}
	if err == nil && !goodID(disp.Execution) {
		err = runlet.Errorf(runlet.EINVALID, "execution id %q is not one this device can use", disp.Execution)
	}
	switch {
	case err != nil:
		d.log.Warn("dropping a malformed dispatch", "id", dl.ID, "err", err)
	case d.known(disp.Execution):
		d.log.Debug("dispatch of an execution taken before; acking", "execution", disp.Execution)
	case expired(disp, dl.ExpiresAt, d.cfg.Now()):
		d.expire(disp)
	default:
		start, ok := d.startable(ctx, disp, dl.ExpiresAt)
		if ok && start {
			d.logs.keys.refresh(ctx) // the key its log is encrypted to: logkey.go
		}
		if !ok || start && !d.enqueue(disp) {
			d.settle(dl, false)
			return
		}
	}
	d.settle(dl, true)
}

// settle acks or nacks; a failure means the broker delivers the message
// again, which the records make harmless.
func (d *Daemon) settle(dl bus.Delivery, ack bool) {
	var err error
	if ack {
		err = dl.Ack()
	} else {
		err = dl.Nack()
	}
	if err != nil {
		d.log.Debug("settling a dispatch failed; it will come again", "id", dl.ID, "err", err)
	}
}

// onExpired is told of dispatches the broker found past their expiry.
func (d *Daemon) onExpired(m bus.Message) {
	var disp wire.Dispatch
	if err := wire.Decode(m.Body, &disp); err != nil || disp.Validate() != nil || !goodID(disp.Execution) {
		d.log.Warn("dropping a malformed expired dispatch", "id", m.ID)
		return
	}
	if !d.known(disp.Execution) {
		d.expire(disp)
	}
}

func expired(disp wire.Dispatch, expiresAt, now time.Time) bool {
	return !disp.Expires.IsZero() && now.After(disp.Expires) ||
		!expiresAt.IsZero() && now.After(expiresAt)
}

// expire reports an execution that will never run here.
func (d *Daemon) expire(disp wire.Dispatch) {
	d.typeAhead.mu.Lock()
	d.typeAhead.drop(disp.Execution, d.log)
	d.typeAhead.mu.Unlock()
	now := d.cfg.Now()
	d.report(runlet.Execution{
		ID: disp.Execution, Job: disp.Job, Client: disp.Client, Device: d.device,
		Status: runlet.StatusError, Created: disp.Created, Scheduled: disp.Scheduled,
		Finished: now, ExitCode: -1, Reason: reasonExpired,
	}, 0)
}

// known reports whether this device took the execution before, in this
// process or an earlier one.
func (d *Daemon) known(id string) bool {
	d.mu.Lock()
	_, ok := d.execs[id]
	d.mu.Unlock()
	return ok || d.records.known(id)
}

// enqueue starts an execution in the runner and its output follower, with
// the input that came before it. It reports false when the runner is
// closed (the daemon is stopping).
func (d *Daemon) enqueue(disp wire.Dispatch) bool {
	// Held until the runner has the execution, so that onInput either adds
	// to the input taken here or gives its own to the execution after it.
	d.typeAhead.mu.Lock()
	defer d.typeAhead.mu.Unlock()
	typed := d.typeAhead.take(disp.Execution, d.cfg.Now(), d.log)
	tr := &tracked{status: runlet.StatusPending, final: make(chan struct{})}
	d.mu.Lock()
	d.execs[disp.Execution] = tr
	d.mu.Unlock()
	d.logs.expect(disp.Execution, disp.Job, disp.Size)
	x, err := d.runner.Enqueue(runner.Spec{
		ID:           disp.Execution,
		Job:          disp.Job,
		Client:       disp.Client,
		Device:       d.device,
		Script:       disp.Script,
		Entrypoint:   disp.Entrypoint,
		Cwd:          disp.Cwd,
		ShowDuration: disp.ShowDuration,
		Timeout:      disp.Timeout,
		Size:         disp.Size,
		Input:        typed,
	})
	if err != nil {
		d.mu.Lock()
		delete(d.execs, disp.Execution)
		d.mu.Unlock()
		if runlet.ErrorCode(err) == runlet.EUNAVAILABLE {
			return false
		}
		d.log.Warn("dropping a dispatch the runner refused", "execution", disp.Execution, "err", err)
		return true
	}
	d.mu.Lock()
	tr.x = x
	d.mu.Unlock()
	d.spawn(func() { d.follow(x, tr) })
	return true
}
