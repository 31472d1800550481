package server_test

import (
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/wire"
)

// benchFleet is a server with the jobs of jobsYAML and the device pi-1.
func benchFleet(b *testing.B) (*testServer, *fakeDevice) {
	s := startServer(b, nil)
	dev := newFakeDevice(b, s, "pi-1")
	if _, err := dev.api.PutJobs(b.Context(), []byte(jobsYAML), 0); err != nil {
		b.Fatal(err)
	}
	return s, dev
}

// BenchmarkRun is one POST /api/v1/runs to one device: authenticate, read
// and parse the job set, record the execution (SQLite) and publish its
// dispatch durably (embedded NATS, synced to disk).
func BenchmarkRun(b *testing.B) {
	_, dev := benchFleet(b)
	for b.Loop() {
		if _, err := dev.api.Run(b.Context(), api.RunRequest{Job: "hello", Args: []string{"x"}}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStatus is one status message from a device to the store: a
// durable publish of Running, consumed and committed by the server, until
// the store shows it.
func BenchmarkStatus(b *testing.B) {
	s, dev := benchFleet(b)
	ctx := b.Context()
	var runs []string
	for range b.N {
		r, err := dev.api.Run(ctx, api.RunRequest{Job: "hello", Args: []string{"x"}})
		if err != nil {
			b.Fatal(err)
		}
		runs = append(runs, r.Execution)
	}
	b.ResetTimer()
	for i := range b.N {
		exec := runs[i]
		dev.publishStatus(b, exec, wire.Status{Execution: runlet.Execution{ID: exec, Device: "pi-1", Status: runlet.StatusRunning, Started: time.Now()}})
		for {
			e, err := s.Store.Execution(ctx, dev.cred.Workspace, exec, "pi-1")
			if err != nil {
				b.Fatal(err)
			}
			if e.Status == runlet.StatusRunning {
				break
			}
			time.Sleep(50 * time.Microsecond)
		}
	}
}
