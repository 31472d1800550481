package gateway

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/telemetry/batch"
	"github.com/runlet/runlet/telemetry/spool"
)

// maxBatchReadings bounds MaxBatch by what the server's decoder takes.
const maxBatchReadings = batch.MaxReadings

// publishWait bounds one attempt to publish a batch: as long as the
// daemon's statuses wait (a batch of 5,000 readings is ~20 KB), so that a
// confirmation lost in a broker restart holds the readings back 10 s, not
// 30. A batch whose confirmation was lost is sent again; the server
// stores it once.
const publishWait = 10 * time.Second

// Run sends the spool's readings to the broker, oldest first, until ctx
// ends. A batch goes out when the spool holds a full one, or BatchTime
// after the sender found a partial one; a backlog goes out in full
// batches back to back. A batch the broker does not confirm is sent again
// (the same id, so that the broker and the server drop a copy) after a
// pause that grows up to RetryMax; readings are never dropped here, and
// the spool lets go of them only once their batch is confirmed. Run one
// sender per spool.
func (g *Gateway) Run(ctx context.Context) error {
	if g.cfg.Bus == nil || g.cfg.Workspace == "" || g.cfg.Device == "" {
		return runlet.Errorf(runlet.EINVALID, "gateway: the sender needs a bus, a workspace and a device")
	}
	after := g.cfg.Spool.Stats().Acked
	pause := g.cfg.RetryFirst
	for {
		recs, err := g.collect(ctx, after)
		if err == nil {
			err = g.sendAll(ctx, recs)
		}
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			after, pause = recs[len(recs)-1].Seq, g.cfg.RetryFirst
			continue
		}
		// The spool failed us: try again from where it was acked, the
		// readings sent meanwhile go again (the server drops copies).
		g.stats.failed(err)
		g.log.Error("the telemetry sender failed; retrying", "err", err, "pause", pause)
		if !sleep(ctx, pause) {
			return nil
		}
		pause = min(2*pause, g.cfg.RetryMax)
		after = g.cfg.Spool.Stats().Acked
	}
}

// sleep pauses for d, and reports false if ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// collect returns the records after seq after: a full batch as soon as
// the spool has one, or what came within BatchTime of the first.
func (g *Gateway) collect(ctx context.Context, after uint64) ([]spool.Record, error) {
	var recs []spool.Record
	for len(recs) == 0 {
		var err error
		if recs, err = g.read(after, g.cfg.MaxBatch, g.cfg.MaxBatchBytes); err != nil {
			return nil, err
		}
		if len(recs) == 0 {
			if err := g.cfg.Spool.Wait(ctx, after); err != nil {
				return nil, err
			}
		}
	}
	size := recordBytes(recs)
	if len(recs) >= g.cfg.MaxBatch || size >= g.cfg.MaxBatchBytes {
		return recs, nil
	}
	wait, cancel := context.WithTimeout(ctx, g.cfg.BatchTime)
	defer cancel()
	for len(recs) < g.cfg.MaxBatch && size < g.cfg.MaxBatchBytes {
		last := recs[len(recs)-1].Seq
		if err := g.cfg.Spool.Wait(wait, last); err != nil {
			break // BatchTime is up, or ctx ended: send what there is
		}
		more, err := g.read(last, g.cfg.MaxBatch-len(recs), g.cfg.MaxBatchBytes-size)
		if err != nil {
			return nil, err
		}
		recs = append(recs, more...)
		size += recordBytes(more)
	}
	return recs, nil
}

func (g *Gateway) read(after uint64, n, bytes int) ([]spool.Record, error) {
	recs, err := g.cfg.Spool.Read(after, n, bytes)
	if err != nil {
		return nil, fmt.Errorf("gateway: read the telemetry outbox: %w", err)
	}
	return recs, nil
}

func recordBytes(recs []spool.Record) int {
	n := 0
	for _, r := range recs {
		n += len(r.Data)
	}
	return n
}

// sendAll publishes recs as one batch or more (a sensor whose secret
// changes within recs starts a new batch, as a batch carries one secret
// per sensor), each acked in the spool once confirmed.
func (g *Gateway) sendAll(ctx context.Context, recs []spool.Record) error {
	b := batch.Batch{Secrets: map[int64]string{}}
	for _, rec := range recs {
		r, err := decodeRecord(rec.Data)
		if err != nil {
			// Not ours to send and never will be: say so, and go on.
			g.log.Error("skipping a record of the telemetry outbox that is no reading", "seq", rec.Seq, "err", err)
			g.stats.failed(fmt.Errorf("outbox record %d: %w", rec.Seq, err))
			continue
		}
		if s, ok := b.Secrets[r.Sensor]; ok && s != r.Secret {
			if err := g.publish(ctx, b); err != nil {
				return err
			}
			b = batch.Batch{Secrets: map[int64]string{}}
		}
		r.Seq = rec.Seq
		r.Device = g.cfg.Device
		b.Readings = append(b.Readings, r.RawReading)
		b.Secrets[r.Sensor] = r.Secret
	}
	if len(b.Readings) > 0 {
		if err := g.publish(ctx, b); err != nil {
			return err
		}
	}
	// Records skipped at the end are let go of too.
	return g.ack(recs[len(recs)-1].Seq)
}

// publish sends b until the broker confirms it, then acks its readings
// in the spool.
func (g *Gateway) publish(ctx context.Context, b batch.Batch) error {
	body, err := batch.Encode(b)
	if err != nil {
		return fmt.Errorf("gateway: encode a batch of %d readings: %w", len(b.Readings), err)
	}
	m := bus.Message{
		ID:   g.cfg.Device + "/" + b.ID(),
		Key:  bus.TelemetryKey(g.cfg.Device),
		Body: body,
	}
	pause := g.cfg.RetryFirst
	for attempt := 1; ; attempt++ {
		err := g.publishOnce(ctx, m)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		g.stats.failed(err)
		level := g.log.Warn
		if errors.Is(err, bus.ErrForbidden) || errors.Is(err, bus.ErrNoQueue) || errors.Is(err, bus.ErrFull) {
			level = g.log.Error
		}
		if attempt == 1 || attempt%10 == 0 {
			level("the broker did not take a batch of readings; retrying", "batch", b.ID(), "readings", len(b.Readings), "attempt", attempt, "err", err)
		}
		if !sleep(ctx, pause) {
			return ctx.Err()
		}
		pause = min(2*pause, g.cfg.RetryMax)
	}
	g.stats.sent(len(b.Readings), len(body))
	return g.ack(b.Readings[len(b.Readings)-1].Seq)
}

func (g *Gateway) publishOnce(ctx context.Context, m bus.Message) error {
	ctx, cancel := context.WithTimeout(ctx, publishWait)
	defer cancel()
	return g.cfg.Bus.PublishDurable(ctx, g.cfg.Workspace, m)
}

func (g *Gateway) ack(seq uint64) error {
	if err := g.cfg.Spool.Ack(seq); err != nil {
		return fmt.Errorf("gateway: acknowledge readings up to %d in the telemetry outbox: %w", seq, err)
	}
	return nil
}
