package daemon

import (
	"context"
	"strings"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/wire"
)

// onControl applies a viewer's stop, kill, resize or replay request.
func (d *Daemon) onControl(m bus.Message) {
	exec := execOfKey(m.Key)
	var c wire.Control
	err := wire.Decode(m.Body, &c)
	if err == nil {
		err = c.Validate()
	}
	if err != nil || exec == "" {
		d.log.Debug("dropping a malformed control request", "key", m.Key, "err", err)
		return
	}
	if c.Op == wire.OpReplay {
		d.spawn(func() {
			ctx, cancel := context.WithTimeout(d.ctx, replayWait)
			defer cancel()
			// Replays read logs and fill the broker: a few at a time.
			select {
			case d.replays <- struct{}{}:
				defer func() { <-d.replays }()
			case <-ctx.Done():
				return
			}
			d.replay(ctx, exec, c.From, c.Viewer)
		})
		return
	}
	x := d.runner.Get(exec)
	if x == nil {
		d.log.Debug("control request for an execution not running here", "execution", exec, "op", c.Op)
		return
	}
	switch c.Op {
	case wire.OpStop:
		err = x.Stop()
	case wire.OpKill:
		err = x.Kill()
	case wire.OpResize:
		err = d.sizes.resize(x, c.Viewer, c.Size, c.Active)
	}
	switch {
	case err == nil:
		if c.Op != wire.OpResize {
			d.log.Info("control request", "execution", exec, "op", c.Op, "by", c.By)
		}
	case runlet.ErrorCode(err) == runlet.ECONFLICT:
		d.log.Debug("control request after the end", "execution", exec, "op", c.Op)
	default:
		d.log.Warn("control request failed", "execution", exec, "op", c.Op, "err", err)
	}
}

// replayWait bounds one replay, waiting for its turn included: the frames
// it sends exist already.
const replayWait = 2 * time.Minute

// maxReplays is how many replays run at once.
const maxReplays = 4

// execOfKey is the execution id in a job key ("job.<exec>.<device>...."),
// undoing bus.Word's escapes; "" when k is not a job key.
func execOfKey(k bus.Key) string {
	j, ok := bus.ParseJobKey(k)
	if !ok || strings.ContainsAny(j.Exec, "/\\") {
		return ""
	}
	return j.Exec
}
