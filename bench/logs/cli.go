//go:build !windows

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/runlet/runlet/bench/internal/benchkit"
	"github.com/runlet/runlet/home"
)

// cliFirstScreen measures `runlet logs EXEC --identity FILE` with the real
// binary, as another device of the workspace (bench-2) reads the log of
// execution on bench-1: the time from the command's start to the first bytes
// of output on its standard output, the first time (no local copy: the
// whole log is downloaded and checked) and then from its local copy (the
// server answers 304 to its hash). The identity file spares the
// passphrase's scrypt, measured apart.
func cliFirstScreen(ctx context.Context, st *benchkit.Stack, dir, execution string, k key) (first time.Duration, local benchkit.Sample, err error) {
	bin, err := benchkit.BuildRunlet(ctx, dir)
	if err != nil {
		return 0, nil, err
	}
	creds, err := st.EnrollDevice(ctx, "bench-2")
	if err != nil {
		return 0, nil, err
	}
	h := home.Dir(filepath.Join(dir, "reader-home"))
	if err := h.SaveCredentials(creds); err != nil {
		return 0, nil, err
	}
	ids := filepath.Join(dir, "identities.txt")
	if err := os.WriteFile(ids, []byte(k.id.String()+"\n"), 0o600); err != nil {
		return 0, nil, err
	}
	copyPath, err := h.FetchedCastPath("bench-1", execution)
	if err != nil {
		return 0, nil, err
	}
	for i := range firstScreenRuns + 1 {
		d, err := timeToOutput(ctx, bin, string(h), execution, ids)
		if err != nil {
			return 0, nil, err
		}
		if i == 0 {
			first = d
			if _, err := os.Stat(copyPath); err != nil {
				return 0, nil, fmt.Errorf("runlet logs kept no local copy: %w", err)
			}
			continue
		}
		local = append(local, d)
	}
	return first, local, nil
}

// timeToOutput runs runlet logs and returns the time until its first
// bytes of output, then stops it (the rest of a 100 MB log is not the
// first screen).
func timeToOutput(ctx context.Context, bin, home, execution, ids string) (time.Duration, error) {
	cmd := exec.CommandContext(ctx, bin, "--home", home, "logs", execution, "--identity", ids)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	var stderr limitedBuffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	buf := make([]byte, 4096)
	_, rerr := io.ReadAtLeast(out, buf, 1)
	took := time.Since(start)
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if rerr != nil {
		return 0, fmt.Errorf("runlet logs printed nothing (%v): %s", rerr, stderr.b)
	}
	return took, nil
}

// limitedBuffer keeps the first 4 KiB written to it.
type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := 4096 - len(l.b); room > 0 {
		l.b = append(l.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}
