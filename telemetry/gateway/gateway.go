// Package gateway is the device as the gateway of the sensors around it:
// it takes their readings in (a local HTTP endpoint, and a subscription to
// an MQTT broker the user already runs), stamps each with the time the
// device accepted it, keeps it in the device's fsynced spool before it
// answers, and sends what the spool holds to the server in batches on
// bus.TelemetryKey(device), acknowledging a reading in the spool only once
// the broker confirmed its batch.
//
// MQTT is a subscription rather than a listener of the embedded NATS
// server's MQTT gateway: that broker runs on the server, while sensors
// talk to a gateway near them, and the device has no broker of its own.
// Sensors that speak only MQTT publish to the user's broker (Mosquitto on
// the device or on the local network); the gateway holds a persistent QoS 1
// session there, so that what they publish while the daemon is down is
// delivered when it is back, and acknowledges each message only once its
// reading is in the spool.
package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/telemetry/sensormsg"
	"github.com/runlet/runlet/telemetry/spool"
)

// Config configures a Gateway; zero values pick the defaults.
type Config struct {
	// Spool is the device's outbox of readings; the gateway does not
	// close it. Required.
	Spool *spool.Spool
	// Bus is the device's broker connection and Workspace, Device whose
	// telemetry the gateway publishes. Required for Run.
	Bus       bus.Bus
	Workspace string
	Device    string
	// Now is the clock that stamps accepted readings; nil means time.Now.
	Now func() time.Time
	// MaxBatch bounds the readings of one batch (DefaultMaxBatch), and
	// MaxBatchBytes the spool bytes they may take (DefaultMaxBatchBytes).
	MaxBatch      int
	MaxBatchBytes int
	// BatchTime is how long the sender waits for more readings when the
	// spool holds less than a full batch (DefaultBatchTime, at most
	// MaxBatchTime).
	BatchTime time.Duration
	// RetryFirst and RetryMax bound the pause between two attempts to
	// publish a batch the broker did not confirm.
	RetryFirst, RetryMax time.Duration
	// Logger receives the gateway's log; nil discards it.
	Logger *slog.Logger
}

// Defaults of Config.
const (
	DefaultMaxBatch      = 5000
	DefaultMaxBatchBytes = 1 << 20
	// DefaultBatchTime keeps a reading's way to the server short (the
	// target is 100 ms at the median, accepted to visible: bench/telemetry
	// measured 120 ms with 100 ms batches, 75 ms with 50 ms) while still
	// filling batches at high rates: a gateway taking 1,000 readings a
	// second sends batches of about 50 (17 B a reading). A quiet gateway
	// sends each reading alone whatever this is.
	DefaultBatchTime = 50 * time.Millisecond
	// MaxBatchTime bounds BatchTime: a gateway on a metered link whose
	// sensors report minutes apart may gather them for up to this long,
	// one message instead of one per reading (docs/bandwidth.md: 15
	// sensors every 15 minutes cost 31.5 MB a month sent one by one,
	// about 6 MB in batches of 5 minutes).
	MaxBatchTime = 15 * time.Minute
	// DefaultRetryFirst and DefaultRetryMax bound the sender's backoff.
	DefaultRetryFirst = 100 * time.Millisecond
	DefaultRetryMax   = 5 * time.Second
)

// Gateway takes readings into the spool and sends them to the server.
type Gateway struct {
	cfg   Config
	log   *slog.Logger
	stats counters
}

// New checks cfg.
func New(cfg Config) (*Gateway, error) {
	switch {
	case cfg.Spool == nil:
		return nil, runlet.Errorf(runlet.EINVALID, "gateway: a spool is required")
	case cfg.MaxBatch < 0 || cfg.MaxBatchBytes < 0:
		return nil, runlet.Errorf(runlet.EINVALID, "gateway: the batch bounds must not be negative")
	case cfg.BatchTime < 0 || cfg.BatchTime > MaxBatchTime:
		return nil, runlet.Errorf(runlet.EINVALID, "gateway: the batching time %s is out of range: give one from 0 to %s", cfg.BatchTime, MaxBatchTime)
	}
	if cfg.MaxBatch == 0 {
		cfg.MaxBatch = DefaultMaxBatch
	}
	cfg.MaxBatch = min(cfg.MaxBatch, maxBatchReadings)
	if cfg.MaxBatchBytes == 0 {
		cfg.MaxBatchBytes = DefaultMaxBatchBytes
	}
	if cfg.BatchTime == 0 {
		cfg.BatchTime = DefaultBatchTime
	}
	if cfg.RetryFirst <= 0 {
		cfg.RetryFirst = DefaultRetryFirst
	}
	if cfg.RetryMax < cfg.RetryFirst {
		cfg.RetryMax = max(DefaultRetryMax, cfg.RetryFirst)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	g := &Gateway{cfg: cfg, log: cfg.Logger}
	g.stats.init()
	return g, nil
}

// Accept stamps msgs with the time now, keeps them in the spool and
// returns once the spool has them on disk, with the spool sequence
// number of the first (the others follow it). A spool that cannot write
// returns an error (EFULL for a full disk) and keeps none of them.
func (g *Gateway) Accept(ctx context.Context, msgs []sensormsg.Message) (first uint64, err error) {
	if len(msgs) == 0 {
		return 0, nil
	}
	now := g.cfg.Now()
	recs := make([][]byte, len(msgs))
	buf := make([]byte, 0, len(msgs)*48)
	for i, m := range msgs {
		start := len(buf)
		buf = appendRecord(buf, stamp(m, now))
		recs[i] = buf[start:len(buf):len(buf)]
	}
	first, err = g.cfg.Spool.Append(ctx, recs...)
	if err != nil {
		g.stats.failed(err)
		if runlet.IsDiskFull(err) {
			if runlet.ErrorCode(err) == runlet.EFULL {
				return 0, fmt.Errorf("gateway: keep %d readings: %w", len(msgs), err)
			}
			return 0, runlet.DiskFull("the device's telemetry outbox", err)
		}
		return 0, runlet.Errorf(runlet.EUNAVAILABLE, "The device could not keep the readings in its outbox (%v); send them again later.", err)
	}
	g.stats.accepted(len(msgs))
	g.noteSpool()
	return first, nil
}

// Refused counts and logs (rate-limited) what a way in refused.
func (g *Gateway) Refused(from string, rs []sensormsg.Refusal) {
	for _, r := range rs {
		if n, log := g.stats.refused(r.Reason, g.cfg.Now()); log {
			g.log.Warn("a sensor message was refused", "from", from, "reason", r.Reason, "field", r.Field, "message", r.Message, "refusedSoFar", n)
		}
	}
}

// noteSpool says loudly when the spool starts dropping the oldest
// readings for lack of room.
func (g *Gateway) noteSpool() {
	st := g.cfg.Spool.Stats()
	if dropped, now := g.stats.dropped(st.Dropped, g.cfg.Now()); dropped > 0 && now {
		g.log.Error("the telemetry outbox is full: the oldest readings are being dropped; is the broker reachable?",
			"dropped", st.Dropped, "pending", st.Pending, "pendingBytes", st.PendingBytes)
	}
}
