package intake

import (
	"context"
	"time"

	"github.com/runlet/runlet/wire"
)

// sweep runs the periodic chores until Close: expiring queued executions,
// dropping old device codes, reporting devices gone silent, and attaching
// workspaces created behind the server's back.
func (s *Service) sweep() {
	t := time.NewTicker(s.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		s.sweepOnce()
	}
}

func (s *Service) sweepOnce() {
	ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
	defer cancel()
	// A chore cut short by Close is not worth a warning.
	warn := func(msg string, err error) {
		if s.ctx.Err() == nil {
			s.log.Warn(msg, "err", err)
		}
	}
	expired, err := s.db.ExpireExecutions(ctx)
	if err != nil {
		warn("expiry sweep failed", err)
	}
	for _, e := range expired {
		s.Event(e.Workspace, wire.Event{Type: wire.EventExecution, Execution: &e})
	}
	if _, err := s.db.DeleteExpiredDeviceCodes(ctx); err != nil {
		warn("device code sweep failed", err)
	}
	s.sweepPresence(ctx)
	if err := s.attachAll(ctx); err != nil {
		warn("attaching new workspaces failed", err)
	}
}

// sweepPresence asks the broker which daemons are connected, when it can
// tell, and announces the devices that went offline or came back.
func (s *Service) sweepPresence(ctx context.Context) {
	if s.cfg.Connections != nil {
		// The time is taken first: a heartbeat that comes while the
		// broker answers is newer than its list (presence.alive).
		at := s.now()
		conns, err := s.cfg.Connections(ctx)
		if err != nil {
			// Heartbeats alone decide until the broker answers again.
			s.log.Warn("the broker did not list its connections; presence from heartbeats only", "err", err)
			conns = nil
		}
		s.presence.connected(conns, at)
	}
	offline, online := s.presence.changes(s.now())
	for ws, names := range offline {
		for _, n := range names {
			f := false
			s.Event(ws, wire.Event{Type: wire.EventDevice, Device: n, Online: &f})
		}
	}
	for ws, names := range online {
		for _, n := range names {
			t := true
			s.Event(ws, wire.Event{Type: wire.EventDevice, Device: n, Online: &t})
		}
	}
}
