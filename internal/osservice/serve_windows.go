//go:build windows

package osservice

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/eventlog"
)

// Serve runs run as a Windows service when the service control manager
// started this process: it answers the SCM (a service that does not is
// killed after 30 seconds), cancels run's context on stop or shutdown, and
// gives run the event log (source: the service's name) for both streams,
// since a service has no console. Started any other way, it calls run with
// stdout and stderr.
//
// A run that fails makes the service stop with an error, which the
// recovery actions restart; one that fails with exit status ExitNoRestart
// (an error with an ExitCode method) stops cleanly, so it stays stopped.
func Serve(ctx context.Context, stdout, stderr io.Writer, run func(ctx context.Context, stdout, stderr io.Writer) error) error {
	hosted, err := svc.IsWindowsService()
	if err != nil || !hosted {
		return run(ctx, stdout, stderr)
	}
	h := &host{ctx: ctx, run: run}
	// The name is ignored for a service that has its own process.
	if err := svc.Run("", h); err != nil {
		return fmt.Errorf("run as a Windows service: %w", err)
	}
	return h.err
}

type host struct {
	ctx context.Context
	run func(ctx context.Context, stdout, stderr io.Writer) error
	err error
}

func (h *host) Execute(args []string, req <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	status <- svc.Status{State: svc.StartPending}
	var out io.Writer = io.Discard
	var events *eventlog.Log
	if len(args) > 0 {
		if l, err := eventlog.Open(args[0]); err == nil {
			defer l.Close()
			events, out = l, &eventWriter{log: l}
		}
	}
	ctx, cancel := context.WithCancel(h.ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- h.run(ctx, out, out) }()
	status <- svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown}
	for {
		select {
		case h.err = <-done:
			return h.exit(events)
		case c := <-req:
			switch c.Cmd {
			case svc.Interrogate:
				status <- c.CurrentStatus
			case svc.Stop, svc.Shutdown:
				status <- svc.Status{State: svc.StopPending, WaitHint: 30000}
				cancel()
				h.err = <-done
				return h.exit(events)
			}
		}
	}
}

// exit logs the error run ended with (the console it would go to is not
// there) and says how the service ends.
func (h *host) exit(events *eventlog.Log) (bool, uint32) {
	var coded interface{ ExitCode() int }
	if h.err != nil && !errors.As(h.err, &coded) && events != nil {
		_ = events.Error(3, "runlet: "+h.err.Error())
	}
	return exitStatus(h.err)
}

// exitStatus is what the SCM is told when run ends: a service-specific
// exit code for a failure (the recovery actions restart it), none for a
// clean end or an ExitNoRestart.
func exitStatus(err error) (bool, uint32) {
	if err == nil {
		return false, 0
	}
	var coded interface{ ExitCode() int }
	if errors.As(err, &coded) {
		switch c := coded.ExitCode(); c {
		case 0, ExitNoRestart:
			return false, 0
		default:
			return true, uint32(c)
		}
	}
	return true, 1
}

// eventWriter writes each Write (a log record: slog writes one at a time)
// as one event, an error or a warning when the record says so.
type eventWriter struct {
	mu  sync.Mutex
	log *eventlog.Log
}

func (w *eventWriter) Write(p []byte) (int, error) {
	msg := strings.TrimRight(string(p), "\r\n")
	if msg == "" {
		return len(p), nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var err error
	switch {
	case strings.Contains(msg, "level=ERROR"):
		err = w.log.Error(3, msg)
	case strings.Contains(msg, "level=WARN"):
		err = w.log.Warning(2, msg)
	default:
		err = w.log.Info(1, msg)
	}
	if err != nil {
		return 0, err
	}
	return len(p), nil
}
