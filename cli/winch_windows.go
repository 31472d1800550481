package cli

import (
	"context"
	"time"

	"github.com/runlet/runlet"
)

// watchSize polls the console size: Windows has no SIGWINCH.
func watchSize(ctx context.Context, size func() runlet.Size, fn func(runlet.Size)) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	last := size()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if s := size(); s != last {
				last = s
				fn(s)
			}
		}
	}
}

// signalNumber maps the few signal names a Windows execution reports.
func signalNumber(name string) int {
	switch name {
	case "SIGINT":
		return 2
	case "SIGKILL":
		return 9
	case "SIGTERM":
		return 15
	}
	return 0
}
