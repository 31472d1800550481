//go:build !windows

package devicesim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/runlet/runlet/home"
)

// Enroller signs device name in and returns its credentials.
type Enroller func(ctx context.Context, name string) (*home.Credentials, error)

// EnrollAll enrolls the devices named, parallel at a time, writing its
// progress to progress (stderr) every second. The credentials come back in
// the order of names.
func EnrollAll(ctx context.Context, names []string, parallel int, enroll Enroller, progress io.Writer) ([]*home.Credentials, error) {
	out := make([]*home.Credentials, len(names))
	err := forEach(ctx, len(names), parallel, "enrolled", progress, func(ctx context.Context, i int) error {
		c, err := enroll(ctx, names[i])
		out[i] = c
		return err
	})
	return out, err
}

// StartAll starts a device for each of creds, parallel at a time. On an
// error it closes those it started.
func StartAll(ctx context.Context, creds []*home.Credentials, parallel int, open Opener, cfg Config, progress io.Writer) ([]*Device, error) {
	out := make([]*Device, len(creds))
	err := forEach(ctx, len(creds), parallel, "connected", progress, func(ctx context.Context, i int) error {
		d, err := Start(ctx, creds[i], open, cfg)
		out[i] = d
		return err
	})
	if err != nil {
		CloseAll(out)
		return nil, err
	}
	return out, nil
}

// CloseAll closes every device, a few at a time.
func CloseAll(devs []*Device) {
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	for _, d := range devs {
		if d == nil {
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			_ = d.Close()
		})
	}
	wg.Wait()
}

// forEach calls f for 0..n-1 on parallel goroutines, stopping at the first
// error, and reports how far it got every second.
func forEach(ctx context.Context, n, parallel int, what string, progress io.Writer, f func(context.Context, int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next, done atomic.Int64
	start := time.Now()
	stopProgress := make(chan struct{})
	var pw sync.WaitGroup
	pw.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stopProgress:
				return
			case <-t.C:
				fmt.Fprintf(progress, "  %s %d/%d (%.0fs)\n", what, done.Load(), n, time.Since(start).Seconds())
			}
		}
	})
	var wg sync.WaitGroup
	for range max(1, parallel) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := f(ctx, i); err != nil {
					cancel(err)
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	close(stopProgress)
	pw.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	if done.Load() < int64(n) {
		return fmt.Errorf("%s only %d of %d: %w", what, done.Load(), n, ctx.Err())
	}
	fmt.Fprintf(progress, "  %s %d/%d in %.1fs\n", what, n, n, time.Since(start).Seconds())
	return nil
}

// RaiseFileLimit raises this process's limit of open files to want, the
// soft limit up to the hard one, and the hard one too when allowed (root).
// It returns the soft limit in effect afterwards.
func RaiseFileLimit(want uint64) (uint64, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, fmt.Errorf("read the open-file limit: %w", err)
	}
	if l.Cur >= want {
		return l.Cur, nil
	}
	if l.Max < want {
		raised := syscall.Rlimit{Cur: want, Max: want}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err == nil {
			return want, nil
		}
	}
	l.Cur = min(want, l.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, fmt.Errorf("raise the open-file limit to %d: %w", l.Cur, err)
	}
	return l.Cur, nil
}
