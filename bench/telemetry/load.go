package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/telemetry/batch"
	"github.com/runlet/runlet/telemetry/sim"
)

// device is a simulated gateway: a real device's broker connection,
// publishing its sensors' readings as its gateway does, one batch per
// message on its telemetry key.
type device struct {
	creds  *home.Credentials
	bus    bus.Bus
	stream *sim.Stream
	mu     sync.Mutex // the stream and the probes
	// probe, when not nil, is sent in the next batch.
	probe *probe
}

// probe is one reading whose way from accepted to visible is timed.
type probe struct {
	send     sim.Send
	accepted time.Time
	sent     chan struct{} // closed once the broker confirmed its batch
}

// load is what the devices have published, for the backlog bound.
type load struct {
	published atomic.Int64
	bytes     atomic.Int64
	messages  atomic.Int64
	stored    atomic.Int64 // the pipeline's count, polled
	errors    atomic.Int64
	lastErr   atomic.Value
}

// publish sends ms as one batch, numbered from the device's sequence,
// each reading accepted at the time acceptedAt gives it.
func (d *device) publish(ctx context.Context, ms []sim.Send, acceptedAt func(i int) time.Time) (int, error) {
	d.mu.Lock()
	seq := d.stream.NextSeq(len(ms))
	d.mu.Unlock()
	b := sim.Batch(ms, seq, time.Time{})
	for i := range b.Readings {
		b.Readings[i].Accepted = acceptedAt(i)
	}
	body, err := batch.Encode(b)
	if err != nil {
		return 0, err
	}
	m := bus.Message{ID: d.creds.Device + "/" + b.ID(), Key: bus.TelemetryKey(d.creds.Device), Body: body}
	for {
		pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err = d.bus.PublishDurable(pctx, d.creds.Workspace, m)
		cancel()
		if err == nil || ctx.Err() != nil {
			return len(body), err
		}
		if !errors.Is(err, bus.ErrNoQueue) {
			return 0, err
		}
		// The pipeline's consumer has not declared its queue yet.
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// runLoad makes the devices send rate readings a second in all (0: as
// fast as the pipeline stores them, with at most backlog readings
// published and not yet stored) until ctx ends. Each device sends a batch
// every batchTime, as the gateway does, its readings accepted over that
// time.
func runLoad(ctx context.Context, devs []*device, rate int, batchTime time.Duration, maxBatch int, backlog int64, l *load) {
	var wg sync.WaitGroup
	for i, d := range devs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 1))
			per := float64(rate) / float64(len(devs)) * batchTime.Seconds()
			carry := 0.0
			tick := time.NewTicker(batchTime)
			defer tick.Stop()
			last := time.Now()
			for ctx.Err() == nil {
				n := maxBatch
				if rate > 0 {
					select {
					case <-ctx.Done():
						return
					case <-tick.C:
					}
					carry += per
					n = int(carry)
					carry -= float64(n)
				} else if l.published.Load()-l.stored.Load() > backlog {
					select {
					case <-ctx.Done():
						return
					case <-time.After(5 * time.Millisecond):
					}
					continue
				}
				now := time.Now()
				d.mu.Lock()
				ms := d.stream.Next(n, now)
				p := d.probe
				d.probe = nil
				d.mu.Unlock()
				span := now.Sub(last)
				last = now
				if p != nil {
					p.accepted = now.Add(-time.Duration(rng.Int64N(int64(max(span, 1)))))
					p.send.Time = max(p.send.Time, now.UnixMilli())
					ms = append(ms, p.send)
				}
				if len(ms) == 0 {
					continue
				}
				// Readings arrive at the gateway evenly over the batch's time.
				size, err := d.publish(ctx, ms, func(i int) time.Time {
					if p != nil && i == len(ms)-1 {
						return p.accepted
					}
					return now.Add(-span + span*time.Duration(i+1)/time.Duration(len(ms)))
				})
				if err != nil {
					if ctx.Err() == nil {
						l.errors.Add(1)
						l.lastErr.Store(err.Error())
					}
					continue
				}
				if p != nil {
					close(p.sent)
				}
				l.published.Add(int64(len(ms)))
				l.bytes.Add(int64(size))
				l.messages.Add(1)
			}
		}()
	}
	wg.Wait()
}

// pollStored keeps l.stored at the pipeline's count of stored readings
// until ctx ends.
func (s *stack) pollStored(ctx context.Context, l *load) {
	for {
		if st, err := s.Admin.TelemetryStats(ctx); err == nil {
			l.stored.Store(st.Stored)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// waitStored waits until the pipeline has stored n readings in all.
func (s *stack) waitStored(ctx context.Context, n int64, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		st, err := s.Admin.TelemetryStats(ctx)
		if err == nil && st.Stored >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the pipeline stored %d readings of %d after %s (%+v, %v)", st.Stored, n, timeout, st, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
