package intake

import (
	"context"
	"fmt"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/store"
	"github.com/runlet/runlet/wire"
)

// statusQueue is the per-workspace work queue of execution status.
var statusQueue = bus.Queue{Name: bus.StatusQueue, Pattern: bus.AllStatus}

// applyStatus commits one status message, then acks it; a database error
// nacks it so that it comes again. Messages that can never apply (unknown
// execution, malformed) are acked and logged.
func (s *Service) applyStatus(ws string, d bus.Delivery) {
	var st wire.Status
	if err := wire.Decode(d.Body, &st); err != nil {
		s.log.Warn("dropped a malformed status", "workspace", ws, "key", d.Key, "err", err)
		_ = d.Ack()
		return
	}
	if err := fromKey(&st, d.Key); err != nil {
		s.log.Warn("dropped a status whose body disagrees with its sender", "workspace", ws, "key", d.Key, "err", err)
		_ = d.Ack()
		return
	}
	if st.Status == runlet.StatusPending {
		_ = d.Ack() // the device queued it: the store says Pending already
		return
	}
	ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
	defer cancel()
	e, changed, err := s.db.UpdateExecutionStatus(ctx, ws, st.ID, st.Device, store.StatusUpdate{
		Status: st.Status, Time: statusTime(st), ExitCode: st.ExitCode, Signal: st.Signal, Reason: st.Reason,
	})
	switch runlet.ErrorCode(err) {
	case "":
	case runlet.ENOTFOUND, runlet.EINVALID:
		s.log.Warn("dropped a status that does not apply", "workspace", ws, "execution", st.ID, "device", st.Device, "status", st.Status, "err", err)
		_ = d.Ack()
		return
	default:
		s.log.Error("could not apply a status; it will come again", "execution", st.ID, "device", st.Device, "err", err)
		// Wait before the redelivery: the database is likely down, and an
		// immediate one would spin.
		select {
		case <-s.ctx.Done():
		case <-time.After(time.Second):
		}
		_ = d.Nack()
		return
	}
	if err := d.Ack(); err != nil {
		s.log.Warn("status ack failed; the redelivery will change nothing", "err", err)
	}
	if changed {
		s.Event(ws, wire.Event{Type: wire.EventExecution, Execution: &e})
	}
}

// fromKey takes the execution and device of a status from its key,
// bus.StatusKey(exec, device): the broker let only that device publish it
// (bus.Policy), so the key names the sender and the body cannot. A body
// that names another execution or device is refused.
func fromKey(st *wire.Status, k bus.Key) error {
	j, ok := bus.ParseJobKey(k)
	if !ok || j.Rest != "status.v1" {
		return fmt.Errorf("%q is not a status key", k)
	}
	if st.ID != "" && st.ID != j.Exec || st.Device != "" && st.Device != j.Device {
		return fmt.Errorf("the body speaks of execution %q on device %q, the key of %q on %q", st.ID, st.Device, j.Exec, j.Device)
	}
	st.ID, st.Device = j.Exec, j.Device
	return nil
}

// statusTime is when the transition happened on the device.
func statusTime(st wire.Status) time.Time {
	switch st.Status {
	case runlet.StatusRunning:
		return st.Started
	default:
		return st.Finished
	}
}

// heartbeat records a device's presence and, when due, refreshes its
// record, the record first, so that whoever sees the device online sees it
// up to date.
func (s *Service) heartbeat(ws string, m bus.Message) {
	var hb wire.Heartbeat
	if err := wire.Decode(m.Body, &hb); err != nil {
		s.log.Debug("dropped a malformed heartbeat", "workspace", ws, "err", err)
		return
	}
	// The key names the sender (bus.Policy lets a device publish only its
	// own); a body in another device's name is refused.
	device, ok := bus.ParseHeartbeatKey(m.Key)
	if !ok || hb.Device != "" && hb.Device != device {
		s.log.Warn("dropped a heartbeat whose body disagrees with its sender", "workspace", ws, "key", m.Key, "device", hb.Device)
		return
	}
	hb.Device = device
	if err := hb.Check(); err != nil {
		s.log.Warn("dropped a heartbeat with unprintable or over-long fields", "workspace", ws, "device", device, "err", err)
		return
	}
	now := s.now()
	if hb.Leaving {
		// The daemon stops: offline now, not three intervals later.
		if s.presence.leave(ws, hb.Device, now) {
			online := false
			s.Event(ws, wire.Event{Type: wire.EventDevice, Device: hb.Device, Online: &online})
		}
		return
	}
	touch := s.presence.touchDue(ws, hb, now)
	if touch {
		s.touch(ws, hb, now)
	}
	if s.presence.beat(ws, hb, now, touch) {
		online := true
		s.Event(ws, wire.Event{Type: wire.EventDevice, Device: hb.Device, Online: &online})
	}
}

// touch records in the store that the device was seen, and what it runs.
func (s *Service) touch(ws string, hb wire.Heartbeat, now time.Time) {
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	d, err := s.db.DeviceByName(ctx, ws, hb.Device)
	if err != nil {
		s.log.Debug("heartbeat of an unknown device", "workspace", ws, "device", hb.Device, "err", err)
		return
	}
	if err := s.db.TouchDevice(ctx, ws, d.ID, now); err != nil {
		s.log.Warn("could not record a heartbeat", "device", hb.Device, "err", err)
	}
	if hb.OS != d.OS || hb.Arch != d.Arch || hb.Version != d.Version {
		if _, err := s.db.UpdateDevice(ctx, ws, d.ID, store.DeviceUpdate{OS: &hb.OS, Arch: &hb.Arch, Version: &hb.Version}); err != nil {
			s.log.Warn("could not update a device from its heartbeat", "device", hb.Device, "err", err)
		}
	}
}
