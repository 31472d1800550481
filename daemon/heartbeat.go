package daemon

import (
	"context"
	"runtime"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/wire"
)

// heartbeat tells the workspace this device is there, and how busy, every
// HeartbeatInterval until ctx ends; then that it is leaving, so that it
// shows offline at once rather than three intervals later.
func (d *Daemon) heartbeat(ctx context.Context) {
	var s sampler
	s.cpu() // the first CPU figure covers the time since this call
	t := time.NewTicker(d.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		d.beat(&s, false)
		select {
		case <-t.C:
		case <-ctx.Done():
			d.beat(&s, true)
			return
		}
	}
}

func (d *Daemon) beat(s *sampler, leaving bool) {
	running, queued := d.counts()
	hb := wire.Heartbeat{
		Device:   d.device,
		OS:       runtime.GOOS,
		Arch:     runtime.GOARCH,
		Version:  d.cfg.Version,
		CPU:      s.cpu(),
		Memory:   s.memory(),
		Uptime:   s.uptime(),
		Running:  running,
		Queued:   queued,
		Time:     d.cfg.Now(),
		Interval: d.cfg.HeartbeatInterval,
		Leaving:  leaving,
	}
	body, err := wire.Encode(hb)
	if err != nil {
		d.log.Error("encode heartbeat", "err", err)
		return
	}
	d.publish(bus.Message{Key: bus.HeartbeatKey(d.device), Body: body})
}

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
