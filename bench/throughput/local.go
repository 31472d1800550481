//go:build !windows

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bench/internal/benchkit"
	"github.com/runlet/runlet/pty"
	"github.com/runlet/runlet/runner"
)

// readSize is what the bare read loop asks for per read, as the runner does.
const readSize = 32 << 10

// ptyOnly runs the output's script in a terminal (our pty package, the
// kernel's line discipline) and reads it with nothing else: the ceiling
// of everything after it. It returns the time from start to end of file
// and the mean bytes per read.
func ptyOnly(file string, o Output) (time.Duration, float64, error) {
	start := time.Now()
	term, err := pty.Start(pty.Command{Argv: []string{"/bin/sh", "-c", fmt.Sprintf(o.Script, file)}, Env: os.Environ()})
	if err != nil {
		return 0, 0, err
	}
	defer term.Close()
	var c counter
	var reads int
	buf := make([]byte, readSize)
	for {
		n, err := term.Read(buf)
		if n > 0 {
			reads++
			c.add(buf[:n])
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, 0, fmt.Errorf("read the terminal: %w", err)
		}
	}
	took := time.Since(start)
	if _, err := term.Wait(); err != nil {
		return 0, 0, err
	}
	return took, float64(c.n) / float64(max(reads, 1)), c.check(o)
}

// runnerOnly runs the output's script in the runner (terminal, frames, log
// file, ring) with one cursor reading every frame, as the daemon's
// publisher does: the device side without the bus. It returns the time
// from Enqueue to the last frame and the mean bytes per frame.
func runnerOnly(dir, file string, o Output) (time.Duration, float64, error) {
	r, err := runner.New(runner.Config{Parallel: 1, LogDir: filepath.Join(dir, "runner-logs"), TempDir: dir, Logger: benchkit.Quiet})
	if err != nil {
		return 0, 0, err
	}
	defer r.Close()
	start := time.Now()
	x, err := r.Enqueue(runner.Spec{Script: fmt.Sprintf(o.Script, file), Entrypoint: []string{"/bin/sh"}})
	if err != nil {
		return 0, 0, err
	}
	cur := x.Frames(2) // frame 1 is the command line
	defer cur.Close()
	var c counter
	var frames int
	var held []byte // the latest frame: the last one is the exit line
	for {
		fr, err := cur.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, 0, err
		}
		if held != nil {
			c.add(held)
			frames++
		}
		held = fr.Data
	}
	took := time.Since(start)
	<-x.Done()
	if st := x.State(); st.Status != runlet.StatusFinished || st.ExitCode != 0 {
		return 0, 0, fmt.Errorf("the job ended %s with code %d: %s", st.Status, st.ExitCode, st.Reason)
	}
	if !bytes.HasPrefix(held, []byte("\r\nExited with code: 0")) {
		return 0, 0, fmt.Errorf("the last frame is not the exit line: %q", held)
	}
	if err := errors.Join(r.Remove(x.ID()), os.Remove(x.LogPath())); err != nil {
		return 0, 0, err
	}
	return took, float64(c.n) / float64(max(frames, 1)), c.check(o)
}
