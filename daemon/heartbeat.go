package daemon

import (
	"context"
	"math"
	"runtime"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/wire"
)

// changeCheck is how often the heartbeat loop looks, locally, whether what
// a heartbeat reports (executions running and queued) changed: a change
// is sent within this time instead of at the next interval.
const changeCheck = time.Second

// heartbeat tells the workspace this device is there, and how busy: at
// once, then whenever the number of executions running or queued changes,
// after the broker connection comes back, and otherwise every
// HeartbeatInterval, until ctx ends; then that it is leaving, so that it
// shows offline at once rather than three intervals later.
//
// Presence does not hang on the interval alone: a server on the embedded
// broker learns of the connection's end from the broker itself (see
// intake's presence), so the interval is long (DefaultHeartbeatInterval)
// and an idle device's heartbeats cost little of its bandwidth budget
// (docs/bandwidth.md).
func (d *Daemon) heartbeat(ctx context.Context) {
	var s sampler
	s.cpu() // the first CPU figure covers the time since this call
	every := time.NewTicker(d.cfg.HeartbeatInterval)
	defer every.Stop()
	check := time.NewTicker(min(changeCheck, d.cfg.HeartbeatInterval))
	defer check.Stop()
	select {
	case <-d.beatSoon: // the first connection's: this first beat covers it
	default:
	}
	last := d.beat(&s, false)
	for {
		select {
		case <-every.C:
		case <-d.beatSoon:
		case <-check.C:
			if d.activity() == last {
				continue
			}
		case <-ctx.Done():
			d.beat(&s, true)
			return
		}
		last = d.beat(&s, false)
		every.Reset(d.cfg.HeartbeatInterval)
	}
}

// activity is what of a heartbeat changes with the device's work: a new
// value is worth a heartbeat at once.
type activity struct{ running, queued int }

func (d *Daemon) activity() activity {
	r, q := d.counts()
	return activity{r, q}
}

// brokerState sends a heartbeat soon after the broker connection comes
// back: a server that saw the connection end shows the device offline
// until then.
func (d *Daemon) brokerState(s bus.State) {
	if s != bus.Connected {
		return
	}
	if d.logs != nil {
		d.logs.queue.kick() // the server may be back too: uploads.go
	}
	select {
	case d.beatSoon <- struct{}{}:
	default:
	}
}

// beat publishes one heartbeat and returns the activity it reported.
func (d *Daemon) beat(s *sampler, leaving bool) activity {
	a := d.activity()
	hb := wire.Heartbeat{
		Device:  d.device,
		OS:      runtime.GOOS,
		Arch:    runtime.GOARCH,
		Version: d.cfg.Version,
		// Tenths of a percent are more than a person reads ('runlet
		// devices' shows whole ones), and shorter on the wire.
		CPU:      tenths(s.cpu()),
		Memory:   tenths(s.memory()),
		Uptime:   s.uptime().Truncate(time.Second),
		Running:  a.running,
		Queued:   a.queued,
		Time:     d.cfg.Now().Truncate(time.Millisecond),
		Interval: d.cfg.HeartbeatInterval,
		Leaving:  leaving,
	}
	hb.Telemetry = d.telemetryStats()
	body, err := wire.Encode(hb)
	if err != nil {
		d.log.Error("encode heartbeat", "err", err)
		return a
	}
	d.publish(bus.Message{Key: bus.HeartbeatKey(d.device), Body: body})
	return a
}

func tenths(v float64) float64 { return math.Round(v*10) / 10 }

// counts is the number of executions running and waiting in the runner.
func (d *Daemon) counts() (running, queued int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, tr := range d.execs {
		switch tr.status {
		case runlet.StatusRunning:
			running++
		case runlet.StatusPending:
			queued++
		}
	}
	return running, queued
}
