//go:build !windows

package cli

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/runlet/runlet"
	"golang.org/x/sys/unix"
)

// watchSize reports the window size on every SIGWINCH.
func watchSize(ctx context.Context, size func() runlet.Size, fn func(runlet.Size)) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGWINCH)
	defer signal.Stop(ch)
	last := size()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ch:
			if s := size(); s != last {
				last = s
				fn(s)
			}
		}
	}
}

// signalNumber is the number of a signal named like "SIGKILL", or 0.
func signalNumber(name string) int { return int(unix.SignalNum(name)) }
