package daemon

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"time"

	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/runner"
	"github.com/runlet/runlet/wire"
)

// follow publishes every frame of x on its output key and the end marker
// after the last, then forgets x once its final status is in the outbox
// (its log file stays, for replays). It ends with the execution: a stopping
// daemon closes the runner, which ends every execution.
func (d *Daemon) follow(x *runner.Execution, tr *tracked) {
	key := bus.OutputKey(x.ID(), d.device)
	c := x.Frames(1)
	defer c.Close()
	var last uint64
	for {
		fr, err := c.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			d.log.Error("reading an execution's frames; its live output stops here (replay has it)", "execution", x.ID(), "err", err)
			break
		}
		last = fr.Seq
		d.publish(wire.FrameMessage(key, wireFrame(fr)))
	}
	d.publish(wire.EndMessage(key, last))
	<-tr.final
	d.mu.Lock()
	delete(d.execs, x.ID())
	d.mu.Unlock()
	if err := d.runner.Remove(x.ID()); err != nil {
		d.log.Error("forget an ended execution", "execution", x.ID(), "err", err)
	}
	d.logs.release(x.ID()) // its plaintext log goes, if encrypted: logs.go
	d.sizes.forget(x.ID())
}

// transientWait bounds one transient publish.
const transientWait = 5 * time.Second

// publish sends a transient message. A viewer that missed it because the
// broker was away catches up by replay, so a failure is only logged.
func (d *Daemon) publish(m bus.Message) {
	ctx, cancel := context.WithTimeout(context.Background(), transientWait)
	defer cancel()
	if err := d.bus.Publish(ctx, d.ws, m); err != nil {
		d.log.Debug("transient publish failed; viewers recover by replay", "key", m.Key, "err", err)
	}
}

func wireFrame(fr runner.Frame) wire.Frame {
	return wire.Frame{Seq: fr.Seq, Time: fr.Time, Data: fr.Data}
}

// replay sends the frames of execution exec from sequence number from to
// one viewer, then the end marker (ended) or the replayed marker (still
// running: live frames follow on the output key).
func (d *Daemon) replay(ctx context.Context, exec string, from uint64, viewer string) {
	key := bus.ReplayKey(exec, d.device, viewer)
	if x := d.runner.Get(exec); x != nil {
		d.replayLive(ctx, x, key, from)
		return
	}
	d.replayLog(exec, key, from)
}

func (d *Daemon) replayLive(ctx context.Context, x *runner.Execution, key bus.Key, from uint64) {
	upTo := x.LastSeq()
	c := x.Frames(from)
	defer c.Close()
	for seq := max(from, 1); seq <= upTo; seq++ {
		fr, err := c.Next(ctx)
		if err != nil {
			d.log.Debug("replay cut short", "execution", x.ID(), "err", err)
			return
		}
		d.publish(wire.FrameMessage(key, wireFrame(fr)))
	}
	select {
	case <-x.Done():
	default:
		d.publish(wire.ReplayedMessage(key, upTo))
		return
	}
	// It ended meanwhile: the rest is short and final.
	for {
		fr, err := c.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			d.log.Debug("replay cut short", "execution", x.ID(), "err", err)
			return
		}
		d.publish(wire.FrameMessage(key, wireFrame(fr)))
	}
	d.publish(wire.EndMessage(key, x.LastSeq()))
}

// replayLog replays an execution the runner no longer holds (it ended, or
// an earlier daemon ran it) from its plaintext log; when only its
// encrypted log is left, the end marker says so (wire.EncryptedEndMessage)
// and the viewer reads that log (viewer.ErrLogEncrypted).
func (d *Daemon) replayLog(exec string, key bus.Key, from uint64) {
	if !goodID(exec) {
		return
	}
	l, err := d.runner.ReadLog(exec)
	if errors.Is(err, fs.ErrNotExist) {
		if last, ok := d.logs.lastEncrypted(exec); ok {
			// Only the encrypted log is left (R-LOG-1): the viewer reads it.
			d.publish(wire.EncryptedEndMessage(key, last))
			return
		}
		if d.records.known(exec) {
			d.publish(wire.EndMessage(key, 0)) // it never started
		}
		return
	}
	if err != nil {
		d.log.Warn("cannot replay an execution", "execution", exec, "err", err)
		return
	}
	defer l.Close()
	var last uint64
	for {
		fr, err := l.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				d.log.Debug("execution log ends in a partial frame", "execution", exec, "err", err)
			}
			break
		}
		last = fr.Seq
		if fr.Seq >= from {
			d.publish(wire.FrameMessage(key, wireFrame(fr)))
		}
	}
	d.publish(wire.EndMessage(key, last))
}
