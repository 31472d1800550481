package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Frame is one piece of an execution's terminal output: what one read of the
// terminal returned, or a line the runner adds (the command line first, the
// exit lines last), or MarginReset where the terminal's size changed. Data
// must not be modified: cursors share it.
type Frame struct {
	Seq  uint64 // 1 for the first frame of an execution, then no gaps
	Time time.Time
	Data []byte
}

// ring keeps the most recent frames of a running execution, up to max bytes
// of data (always at least the last frame).
type ring struct {
	frames []Frame
	bytes  int
	max    int
}

func (r *ring) add(fr Frame) {
	r.frames = append(r.frames, fr)
	r.bytes += len(fr.Data)
	for r.bytes > r.max && len(r.frames) > 1 {
		r.bytes -= len(r.frames[0].Data)
		r.frames[0] = Frame{} // let the data go
		r.frames = r.frames[1:]
	}
}

// get returns frame seq if the ring still holds it.
func (r *ring) get(seq uint64) (Frame, bool) {
	if len(r.frames) == 0 || seq < r.frames[0].Seq {
		return Frame{}, false
	}
	i := seq - r.frames[0].Seq
	if i >= uint64(len(r.frames)) {
		return Frame{}, false
	}
	return r.frames[i], true
}

// first is the oldest sequence number the ring holds, 0 if none.
func (r *ring) first() uint64 {
	if len(r.frames) == 0 {
		return 0
	}
	return r.frames[0].Seq
}

// Cursor reads an execution's frames in order: the recorded ones first (from
// memory, or from the log for those the ring has let go), then live ones as
// they come. A cursor never slows the execution down and never misses a
// frame. One goroutine at a time may use a cursor.
type Cursor struct {
	e    *Execution
	next uint64
	// The log, open while reading frames the ring has dropped: file for a
	// log of FileLogs, read in place; reader for any other LogStore.
	file   *os.File
	reader FrameReader
}

// Next returns the next frame, waiting for it if needed. It returns io.EOF
// after the last frame of an ended execution, and ctx's error if ctx ends
// first.
func (c *Cursor) Next(ctx context.Context) (Frame, error) {
	for {
		e := c.e
		e.mu.Lock()
		last, ended, wake := e.lastSeq, e.framesDone, e.wake
		fr, inRing := e.ring.get(c.next)
		e.mu.Unlock()
		if c.next <= last {
			if !inRing {
				var err error
				if fr, err = c.fromLog(c.next); err != nil {
					return Frame{}, err
				}
			}
			c.next++
			return fr, nil
		}
		if ended {
			c.Close()
			return Frame{}, io.EOF
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return Frame{}, ctx.Err()
		}
	}
}

// fromLog reads frame seq back from the execution's log.
func (c *Cursor) fromLog(seq uint64) (Frame, error) {
	if log := fileOf(c.e.logWriter()); log != nil {
		return c.fromFile(log, seq)
	}
	return c.fromStore(seq)
}

// fromFile reads frame seq at its offset in the log file, which its writer
// knows: a replay from the middle of a long log reads only what it sends.
func (c *Cursor) fromFile(log *LogWriter, seq uint64) (Frame, error) {
	off, ok := log.Offset(seq)
	if !ok {
		return Frame{}, fmt.Errorf("execution %s: frame %d is not in its log", c.e.id, seq)
	}
	if c.file == nil {
		f, err := os.Open(log.Path())
		if err != nil {
			return Frame{}, fmt.Errorf("replay execution %s: %w", c.e.id, err)
		}
		c.file = f
	}
	fr, err := readFrameAt(c.file, off)
	if err == nil && fr.Seq != seq {
		err = fmt.Errorf("found frame %d where frame %d should be", fr.Seq, seq)
	}
	if err != nil {
		return Frame{}, fmt.Errorf("replay execution %s from %s: %w", c.e.id, log.Path(), err)
	}
	return fr, nil
}

// fromStore reads frame seq through Config.Logs. A store's reader reads
// from the start of the log, so the cursor keeps it open and reads on from
// where it is; one opened earlier in the run may end before frames written
// since, and is opened again.
func (c *Cursor) fromStore(seq uint64) (Frame, error) {
	for {
		fresh := c.reader == nil
		if fresh {
			r, err := c.e.r.cfg.Logs.Open(c.e.id)
			if err != nil {
				return Frame{}, fmt.Errorf("replay execution %s: %w", c.e.id, err)
			}
			c.reader = r
		}
		fr, err := readTo(c.reader, seq)
		if err == nil {
			return fr, nil
		}
		c.closeReader()
		if errors.Is(err, io.EOF) {
			if !fresh {
				continue
			}
			err = fmt.Errorf("frame %d is not in its log", seq)
		}
		return Frame{}, fmt.Errorf("replay execution %s: %w", c.e.id, err)
	}
}

// readTo reads r on to frame seq, which it returns; io.EOF if the log ends
// before it.
func readTo(r FrameReader, seq uint64) (Frame, error) {
	for {
		fr, err := r.Next()
		switch {
		case err != nil:
			return Frame{}, err
		case fr.Seq == seq:
			return fr, nil
		case fr.Seq > seq:
			return Frame{}, fmt.Errorf("found frame %d where frame %d should be", fr.Seq, seq)
		}
	}
}

func (c *Cursor) closeReader() error {
	if c.reader == nil {
		return nil
	}
	err := c.reader.Close()
	c.reader = nil
	return err
}

// Close releases the log a cursor may hold open. Next closes it by itself
// at io.EOF; Close is for a cursor given up before that.
func (c *Cursor) Close() error {
	err := c.closeReader()
	if c.file == nil {
		return err
	}
	ferr := c.file.Close()
	c.file = nil
	return errors.Join(err, ferr)
}
