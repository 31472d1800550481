package ingest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/telemetry/batch"
)

// queue is the per-workspace telemetry queue the intake declares.
var queue = bus.Queue{Name: bus.TelemetryQueue, Pattern: bus.AllTelemetry, Prefetch: Prefetch}

// retryWait is how long a worker waits before giving back deliveries it
// could not commit: the database is likely down, and an immediate
// redelivery would spin.
const retryWait = time.Second

// Consumer starts the pipeline of workspace ws: the consumer of its
// telemetry queue and the worker that commits what it takes. It has the
// type of intake.Consumer, for intake.Service.Register. The pipeline lives
// until ctx ends or the subscription is closed.
//
// One consumer per workspace per server process keeps each sensor's
// readings in order; consumers of several processes compete for the
// queue, which is safe as the store is idempotent per (device, seq) and
// per (sensor, metric, time).
func (s *Service) Consumer(ctx context.Context, ws string) (bus.Subscription, error) {
	w := &worker{
		s: s, ws: ws,
		ch:   make(chan item, Prefetch),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	w.ctx, w.cancel = context.WithCancel(ctx)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		w.cancel()
		return nil, runlet.Errorf(runlet.EUNAVAILABLE, "The telemetry pipeline is shutting down.")
	}
	s.workers[w] = struct{}{}
	s.mu.Unlock()
	go w.run()
	sub, err := s.bus.Consume(w.ctx, ws, queue, w.handle)
	if err != nil {
		w.close()
		return nil, fmt.Errorf("consume the telemetry of workspace %s: %w", ws, err)
	}
	return &subscription{sub: sub, w: w}, nil
}

// subscription stops the consumer, then its worker.
type subscription struct {
	sub bus.Subscription
	w   *worker
}

// Close stops deliveries (the unsettled ones go back to the queue), then
// lets the worker finish the transaction under way.
func (sub *subscription) Close() error {
	err := sub.sub.Close()
	sub.w.close()
	return err
}

// item is one delivery, authenticated: the readings to store and the
// counts to add once it is acked.
type item struct {
	d      bus.Delivery
	device string
	rs     []runlet.RawReading
	counts tally
}

// worker commits one workspace's deliveries in order, several per
// transaction.
type worker struct {
	s      *Service
	ws     string
	ctx    context.Context
	cancel context.CancelFunc
	ch     chan item
	stop   chan struct{} // closed by close: finish the transaction and return
	done   chan struct{} // closed when run returns
	once   sync.Once
}

// close stops the worker and waits for it.
func (w *worker) close() {
	w.once.Do(func() { close(w.stop) })
	<-w.done
	w.cancel()
	w.s.mu.Lock()
	delete(w.s.workers, w)
	w.s.mu.Unlock()
}

// handle is the consumer's handler: it authenticates the delivery and
// hands it to the worker, or settles it at once when nothing of it is to
// be stored.
func (w *worker) handle(d bus.Delivery) {
	it, err := w.s.prepare(w.ctx, w.ws, d)
	if err != nil && w.ctx.Err() != nil { // stopping: the next consumer takes it
		_ = d.Nack()
		return
	}
	if err != nil {
		w.s.log.Error("could not authenticate telemetry; it will come again", "workspace", w.ws, "key", d.Key, "err", err)
		w.pause()
		_ = d.Nack()
		return
	}
	if len(it.rs) == 0 {
		w.settle(&it)
		return
	}
	select {
	case w.ch <- it:
	case <-w.done:
		_ = d.Nack()
	}
}

// settle acks a delivery that stores nothing and counts it.
func (w *worker) settle(it *item) {
	if err := it.d.Ack(); err != nil {
		w.s.log.Warn("telemetry ack failed; it will come again", "workspace", w.ws, "err", err)
		return
	}
	w.s.stats.add(w.ws, &it.counts, "device", it.device, "key", it.d.Key)
	if a := w.s.cfg.Alerts; a != nil && it.device != "" {
		for _, r := range []Reason{BadSecret, OtherWorkspace} {
			if n := it.counts[r]; n > 0 {
				a.Refused(w.ws, it.device, r.String(), n)
			}
		}
	}
}

// pause waits retryWait, or less when the worker stops.
func (w *worker) pause() {
	t := time.NewTimer(retryWait)
	defer t.Stop()
	select {
	case <-t.C:
	case <-w.stop:
	case <-w.ctx.Done():
	}
}

// run takes the deliveries waiting, up to MaxBatch readings, commits them
// in one transaction, and again, until stopped.
func (w *worker) run() {
	defer close(w.done)
	var items []item
	for {
		items = items[:0]
		select {
		case it := <-w.ch:
			items = append(items, it)
		case <-w.stop:
			return
		case <-w.ctx.Done():
			return
		}
		n := len(items[0].rs)
	more:
		for n < w.s.cfg.MaxBatch {
			select {
			case it := <-w.ch:
				items = append(items, it)
				n += len(it.rs)
			default:
				break more
			}
		}
		w.commit(items, n)
		clear(items) // drop the readings before waiting for more
	}
}

// commit stores the items' readings in one transaction, then publishes
// and acks each; when the store fails it nacks them all, for redelivery.
func (w *worker) commit(items []item, n int) {
	rs := items[0].rs
	if len(items) > 1 {
		rs = make([]runlet.RawReading, 0, n)
		for _, it := range items {
			rs = append(rs, it.rs...)
		}
	}
	ctx, cancel := context.WithTimeout(w.ctx, time.Minute)
	archived, err := w.s.db.AddReadings(ctx, w.ws, rs)
	cancel()
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			w.s.log.Error("could not store telemetry; it will come again", "workspace", w.ws, "readings", n, "deliveries", len(items), "err", w.s.db.DiskFull(err))
			w.pause()
		}
		for _, it := range items {
			_ = it.d.Nack()
		}
		return
	}
	if a := w.s.cfg.Alerts; a != nil {
		ctx, cancel := context.WithTimeout(w.ctx, time.Minute)
		err := a.Readings(ctx, w.ws, rs)
		cancel()
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				w.s.log.Error("could not decide the alerts of stored telemetry; it will come again", "workspace", w.ws, "readings", n, "err", w.s.db.DiskFull(err))
				w.pause()
			}
			for _, it := range items {
				_ = it.d.Nack()
			}
			return
		}
	}
	var t tally
	t[Stored] = int64(archived)
	t[Duplicate] = int64(n - archived)
	w.s.stats.add(w.ws, &t)
	for i := range items {
		w.s.publish(w.ctx, w.ws, items[i].device, items[i].rs)
		w.settle(&items[i])
	}
}

// prepare authenticates a delivery: the device from its key, the batch,
// each reading's sensor. The error is the store's: the delivery must come
// again.
func (s *Service) prepare(ctx context.Context, ws string, d bus.Delivery) (item, error) {
	it := item{d: d}
	device, ok := bus.ParseTelemetryKey(d.Key)
	if !ok {
		it.counts[BadKey] = 1
		return it, nil
	}
	it.device = device
	r, err := s.device(ctx, ws, device)
	if err != nil {
		return it, err
	}
	if r != Accepted {
		it.counts[r] = 1
		return it, nil
	}
	b, err := batch.Decode(d.Body)
	if err != nil {
		it.counts[BadBatch] = 1
		return it, nil
	}
	it.rs, err = s.authenticate(ctx, ws, device, b, &it.counts)
	return it, err
}

// authenticate keeps the batch's readings whose sensor is authenticated,
// relayed by device, and counts the others by reason.
func (s *Service) authenticate(ctx context.Context, ws, device string, b batch.Batch, t *tally) ([]runlet.RawReading, error) {
	verdict := make(map[int64]Reason, len(b.Secrets))
	kept := b.Readings[:0]
	for _, r := range b.Readings {
		v, ok := verdict[r.Sensor]
		if !ok {
			secret, has := b.Secrets[r.Sensor]
			var err error
			if v, err = s.sensor(ctx, ws, r.Sensor, secret, has); err != nil {
				return nil, err
			}
			verdict[r.Sensor] = v
		}
		if v != Accepted {
			t[v]++
			continue
		}
		r.ID, r.Device, r.Stored = 0, device, time.Time{}
		if r.TimeReplaced {
			t[TimeReplaced]++
		}
		kept = append(kept, r)
	}
	t[Accepted] = int64(len(kept))
	return kept, nil
}

// publish tells the readings' subscribers (bus.AllReadings): transient,
// so a failure is only logged.
func (s *Service) publish(ctx context.Context, ws, device string, rs []runlet.RawReading) {
	body, err := batch.Encode(batch.Batch{Readings: rs})
	if err != nil {
		s.log.Warn("could not encode readings to publish", "workspace", ws, "device", device, "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := s.bus.Publish(ctx, ws, bus.Message{Key: bus.ReadingsKey(device), Body: body}); err != nil {
		s.log.Debug("readings not published", "workspace", ws, "device", device, "err", err)
	}
}
