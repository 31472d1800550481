//go:build !windows

package daemon_test

import (
	"testing"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/wire"
)

// BenchmarkDispatchToFinished measures one execution of a trivial job
// through the bus: dispatch published durably, taken by the daemon, run in
// a terminal, and its three statuses confirmed back on the status queue.
// The job runs under /bin/sh: a login bash can take seconds to read its
// profile on a busy machine, which would hide the daemon's own cost.
func BenchmarkDispatchToFinished(b *testing.B) {
	br := startBroker(b)
	s := newServer(b, br, device)
	runDaemon(b, br, home.Dir(b.TempDir()), device)
	for b.Loop() {
		exec := s.dispatch(device, "true", func(d *wire.Dispatch, _ *bus.Message) { d.Entrypoint = []string{"/bin/sh"} })
		s.waitStatus(exec, runlet.StatusFinished)
	}
}
