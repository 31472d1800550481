package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
)

// Bench measures the server's hot paths on a store: heartbeats
// (TouchDevice), the life of one execution (create, Running, Finished) and
// authentication (TokenByHash). open is called once per benchmark.
func Bench(b *testing.B, open func(b testing.TB) store.Store) {
	setup := func(b *testing.B) (store.Store, context.Context, runlet.Workspace, runlet.Device) {
		s := open(b)
		ctx := b.Context()
		ws := runlet.Workspace{Name: "bench"}
		d := runlet.Device{Name: "pi-1"}
		if err := s.CreateWorkspace(ctx, &ws); err != nil {
			b.Fatal(err)
		}
		d.Workspace = ws.ID
		if err := s.CreateDevice(ctx, &d); err != nil {
			b.Fatal(err)
		}
		return s, ctx, ws, d
	}
	b.Run("TouchDevice", func(b *testing.B) {
		s, ctx, ws, d := setup(b)
		t0 := time.Now()
		i := 0
		for b.Loop() {
			i++
			if err := s.TouchDevice(ctx, ws.ID, d.ID, t0.Add(time.Duration(i)*time.Millisecond)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ExecutionLifecycle", func(b *testing.B) {
		s, ctx, ws, d := setup(b)
		for b.Loop() {
			x := runlet.Execution{Workspace: ws.ID, Job: "backup", Device: d.ID}
			if err := s.CreateExecution(ctx, &x); err != nil {
				b.Fatal(err)
			}
			for _, st := range []runlet.Status{runlet.StatusRunning, runlet.StatusFinished} {
				if _, _, err := s.UpdateExecutionStatus(ctx, ws.ID, x.ID, d.ID, store.StatusUpdate{Status: st}); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("TokenByHash", func(b *testing.B) {
		s, ctx, ws, d := setup(b)
		const tokens = 1000
		for i := range tokens {
			t := runlet.Token{Workspace: ws.ID, Kind: runlet.TokenDevice, Hash: store.HashSecret(fmt.Sprint(i)), Subject: d.ID}
			if err := s.CreateToken(ctx, &t); err != nil {
				b.Fatal(err)
			}
		}
		i := 0
		for b.Loop() {
			i++
			if _, err := s.TokenByHash(ctx, store.HashSecret(fmt.Sprint(i%tokens))); err != nil {
				b.Fatal(err)
			}
		}
	})
}
