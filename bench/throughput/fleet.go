//go:build !windows

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/bench/internal/benchkit"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/daemon"
	"github.com/runlet/runlet/viewer"
	"github.com/runlet/runlet/wire"
)

const device = "bench-device"

// readyLine is what a job prints, with the terminal's echo off, once it
// waits for the viewers: a newline typed by one of them starts the output.
const readyLine = "ready\r\n"

var exitLine = []byte("\r\nExited with code: 0\r\n")

// fleetBench is a real server on one broker with one device whose daemon
// runs in this process, and the bus connections of the viewers (one each,
// as separate CLIs would have).
type fleetBench struct {
	fleet  *benchkit.Fleet
	daemon *benchkit.Daemon
	conns  []bus.Bus
	jobs   map[string]string // output name → job name
}

func startFleetBench(ctx context.Context, broker, file string, outs []Output, viewers int) (fb *fleetBench, err error) {
	f, err := benchkit.StartFleet(ctx, broker)
	if err != nil {
		return nil, err
	}
	fb = &fleetBench{fleet: f, jobs: map[string]string{}}
	defer func() {
		if err != nil {
			fb.Close()
		}
	}()
	if fb.daemon, err = f.StartDaemon(ctx, device, daemon.Config{Parallel: 1}); err != nil {
		return nil, err
	}
	yaml := "settings:\n  entrypoint: /bin/sh\n"
	for i, o := range outs {
		name := fmt.Sprintf("out%d", i)
		fb.jobs[o.Name] = name
		// stty first: the typed newline must not echo into the output.
		yaml += fmt.Sprintf("%s:\n  script: stty -echo; printf 'ready\\n'; read x; %s\n  where: custom\n  whereCustom: [%s]\n",
			name, fmt.Sprintf(o.Script, file), device)
	}
	if _, err := f.Admin.PutJobs(ctx, []byte(yaml), apiclient.NoVersion); err != nil {
		return nil, fmt.Errorf("put the jobs: %w", err)
	}
	for range max(viewers, 1) + 1 {
		b, err := benchkit.OpenBus(ctx, fb.daemon.Creds)
		if err != nil {
			return nil, err
		}
		fb.conns = append(fb.conns, b)
	}
	return fb, nil
}

func (fb *fleetBench) Close() {
	for _, b := range fb.conns {
		_ = b.Close()
	}
	if fb.daemon != nil {
		_ = fb.daemon.Stop()
	}
	fb.fleet.Close()
}

// result is one run through the fleet.
type result struct {
	took   time.Duration // from the typed newline to the end marker at the last reader
	frames int           // frames of output the (first) reader got
}

// run runs the output's job and follows it with n viewers, each a
// viewer.Viewer on its own connection that must receive every byte in
// order. With raw, the reader is instead a bare subscription to the
// execution's output key (no viewer: no replay, sequencing or channel),
// and one viewer only waits for the job to be ready.
func (fb *fleetBench) run(ctx context.Context, o Output, n int, raw bool) (result, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	creds := fb.daemon.Creds
	resp, err := fb.fleet.Admin.Run(ctx, api.RunRequest{Job: fb.jobs[o.Name]})
	if err != nil {
		return result{}, fmt.Errorf("run %s: %w", o.Name, err)
	}
	exec := resp.Execution
	if logFile, err := fb.daemon.Home.LogPath(exec); err == nil {
		defer os.Remove(logFile)
	}

	var sub *rawReader
	if raw {
		sub = &rawReader{done: make(chan struct{})}
		s, err := fb.conns[len(fb.conns)-1].Subscribe(ctx, creds.Workspace, bus.OutputKey(exec, creds.Device), sub.handle)
		if err != nil {
			return result{}, err
		}
		defer s.Close()
		n = 1
	}

	readers := make([]*viewReader, n)
	var ready sync.WaitGroup
	ready.Add(n)
	ended := make(chan error, n)
	vctx, stopViewers := context.WithCancel(ctx)
	defer stopViewers()
	for i := range readers {
		v := viewer.New(fb.conns[i], viewer.Config{Workspace: creds.Workspace, Execution: exec, Device: creds.Device, Logger: benchkit.Quiet})
		r := &viewReader{v: v, ready: ready.Done}
		readers[i] = r
		go func() {
			_, err := v.Follow(vctx, r.out)
			r.end = time.Now()
			ended <- err
		}()
	}
	waitReady := make(chan struct{})
	go func() { ready.Wait(); close(waitReady) }()
	select {
	case <-waitReady:
	case err := <-ended:
		return result{}, fmt.Errorf("a viewer ended before the job was ready: %v", err)
	case <-ctx.Done():
		return result{}, fmt.Errorf("the job did not get ready: %w", ctx.Err())
	}
	if raw {
		sub.after.Store(readers[0].readySeq)
	}
	start := time.Now()
	if err := readers[0].v.Input(ctx, []byte("\n")); err != nil {
		return result{}, err
	}
	if raw {
		stopViewers()
		<-ended
		select {
		case <-sub.done:
		case <-ctx.Done():
			return result{}, fmt.Errorf("the end marker did not come: %w", ctx.Err())
		}
		if err := sub.err; err != nil {
			return result{}, err
		}
		if err := sub.c.check(o); err != nil {
			return result{}, err
		}
		return result{took: sub.end.Sub(start), frames: sub.frames}, nil
	}
	var errs []error
	for range readers {
		errs = append(errs, <-ended)
	}
	if err := errors.Join(errs...); err != nil {
		return result{}, err
	}
	res := result{frames: readers[0].frames}
	for i, r := range readers {
		if !bytes.Equal(r.held, exitLine) {
			return result{}, fmt.Errorf("viewer %d: the last frame is not the exit line: %q", i, r.held)
		}
		if err := r.c.check(o); err != nil {
			return result{}, fmt.Errorf("viewer %d: %w", i, err)
		}
		res.took = max(res.took, r.end.Sub(start))
	}
	return res, nil
}

// viewReader is what one viewer does with the frames: wait for the ready
// line, then count and checksum every byte except the last frame's (the
// exit line).
type viewReader struct {
	v        *viewer.Viewer
	ready    func()
	readySeq uint64
	held     []byte
	c        counter
	frames   int
	end      time.Time
}

func (r *viewReader) out(fr wire.Frame) error {
	if r.readySeq == 0 {
		if fr.Seq > 1 && bytes.HasSuffix(fr.Data, []byte(readyLine)) {
			r.readySeq = fr.Seq
			r.ready()
		}
		return nil
	}
	if r.held != nil {
		r.c.add(r.held)
		r.frames++
	}
	r.held = fr.Data
	return nil
}

// rawReader counts the frames after the ready line straight off the bus.
type rawReader struct {
	after  atomic.Uint64 // the ready line's seq; 0 until known
	next   uint64
	held   []byte
	c      counter
	frames int
	err    error
	end    time.Time
	done   chan struct{}
}

func (s *rawReader) handle(m bus.Message) {
	after := s.after.Load()
	if after == 0 || s.err != nil || s.end != (time.Time{}) {
		return
	}
	if s.next == 0 {
		s.next = after + 1
	}
	fr, end, last, err := wire.ParseOutput(m)
	switch {
	case err != nil:
		s.fail(err)
	case end:
		s.end = time.Now()
		if last != s.next-1 {
			s.err = fmt.Errorf("end marker says %d frames, got up to %d", last, s.next-1)
		} else if !bytes.Equal(s.held, exitLine) {
			s.err = fmt.Errorf("the last frame is not the exit line: %q", s.held)
		}
		close(s.done)
	case fr.Seq <= after:
	case fr.Seq != s.next:
		s.fail(fmt.Errorf("frame %d came after frame %d: the bus lost or reordered frames", fr.Seq, s.next-1))
	default:
		if s.held != nil {
			s.c.add(s.held)
			s.frames++
		}
		s.held, s.next = fr.Data, fr.Seq+1
	}
}

func (s *rawReader) fail(err error) {
	s.err, s.end = err, time.Now()
	close(s.done)
}
