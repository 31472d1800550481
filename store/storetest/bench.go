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
// (TouchDevice), the life of one execution (create, Running, Finished), a
// page of the activity (ListRuns) and authentication (TokenByHash). open
// is called once per benchmark.
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
	// A page of the activity (ListRuns, 50 runs) among 10,000 runs of two
	// targets: the newest page, one deep in the history by cursor, and
	// the newest of one device's. A cursor page costs the same at any
	// depth; an offset would cost more the further back it goes.
	runsPage := func(b *testing.B, pick func(s store.Store, ctx context.Context, ws string) store.RunFilter) {
		s, ctx, ws, _ := setup(b)
		const runs, batch = 10000, 1000
		t0 := time.Now().Add(-runs * time.Second)
		for i := 0; i < runs; i += batch {
			var xs []*runlet.Execution
			for j := i; j < i+batch; j++ {
				id := store.NewID()
				for _, d := range []string{fmt.Sprintf("pi-%d", j%20), "mac"} {
					xs = append(xs, &runlet.Execution{Workspace: ws.ID, ID: id, Job: "backup", Client: "scheduler", Device: d, Created: t0.Add(time.Duration(j) * time.Second)})
				}
			}
			if err := s.CreateExecutions(ctx, xs); err != nil {
				b.Fatal(err)
			}
		}
		f := pick(s, ctx, ws.ID)
		for b.Loop() {
			page, err := s.ListRuns(ctx, ws.ID, f)
			if err != nil || len(page.Runs) != store.DefaultLimit {
				b.Fatalf("a page of runs: %d, %v", len(page.Runs), err)
			}
		}
	}
	b.Run("ListRunsNewest", func(b *testing.B) {
		runsPage(b, func(store.Store, context.Context, string) store.RunFilter { return store.RunFilter{} })
	})
	b.Run("ListRunsDeep", func(b *testing.B) {
		runsPage(b, func(s store.Store, ctx context.Context, ws string) store.RunFilter {
			f := store.RunFilter{Limit: store.MaxLimit}
			for range 9 { // 9,000 runs back
				page, err := s.ListRuns(ctx, ws, f)
				if err != nil {
					b.Fatal(err)
				}
				f.After = page.Next
			}
			return store.RunFilter{After: f.After}
		})
	})
	b.Run("ListRunsOfDevice", func(b *testing.B) {
		runsPage(b, func(store.Store, context.Context, string) store.RunFilter { return store.RunFilter{Device: "pi-7"} })
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
