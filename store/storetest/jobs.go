package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
)

func testJobs(t *testing.T, e *env) {
	ws := e.workspace(t, "default")
	src, v, updated, err := e.GetJobs(e.ctx, ws.ID)
	ok(t, err)
	if src != nil || v != 0 || !updated.IsZero() {
		t.Fatalf("GetJobs of a new workspace = %q, %d, %v; want nil, 0, zero", src, v, updated)
	}

	v1 := []byte("jobs:\n  hello:\n    run: echo hi\n")
	v, err = e.PutJobs(e.ctx, ws.ID, v1, 0)
	ok(t, err)
	equal(t, "first version", v, int64(1))
	_, err = e.PutJobs(e.ctx, ws.ID, []byte("other"), 0)
	code(t, err, runlet.ECONFLICT) // someone created it meanwhile

	e.clock.Advance(time.Minute)
	v2 := []byte("jobs: {}\n")
	v, err = e.PutJobs(e.ctx, ws.ID, v2, 1)
	ok(t, err)
	equal(t, "second version", v, int64(2))
	_, err = e.PutJobs(e.ctx, ws.ID, []byte("stale"), 1)
	code(t, err, runlet.ECONFLICT)
	_, err = e.PutJobs(e.ctx, ws.ID, []byte("future"), 7)
	code(t, err, runlet.ECONFLICT)

	src, v, updated, err = e.GetJobs(e.ctx, ws.ID)
	ok(t, err)
	equal(t, "jobs", []any{string(src), v, updated}, []any{string(v2), int64(2), e.clock.Now()})

	v, err = e.PutJobs(e.ctx, ws.ID, []byte{}, store.AnyVersion)
	ok(t, err)
	equal(t, "forced version", v, int64(3))
	src, _, _, _ = e.GetJobs(e.ctx, ws.ID)
	equal(t, "empty job set", len(src), 0)

	fresh := e.workspace(t, "fresh")
	v, err = e.PutJobs(e.ctx, fresh.ID, v1, store.AnyVersion)
	ok(t, err)
	equal(t, "forced first version", v, int64(1))

	_, _, _, err = e.GetJobs(e.ctx, "nope")
	code(t, err, runlet.ENOTFOUND)
	for _, expect := range []int64{0, 1, store.AnyVersion} {
		_, err = e.PutJobs(e.ctx, "nope", v1, expect)
		code(t, err, runlet.ENOTFOUND)
	}
	_, err = e.PutJobs(e.ctx, ws.ID, v1, -2)
	code(t, err, runlet.EINVALID)
}

// testJobsConcurrent has editors race from the same version: exactly one
// wins, the others are told of the conflict.
func testJobsConcurrent(t *testing.T, e *env) {
	ws := e.workspace(t, "default")
	_, err := e.PutJobs(e.ctx, ws.ID, []byte("v1"), 0)
	ok(t, err)
	const editors = 8
	errs := make([]error, editors)
	var wg sync.WaitGroup
	for i := range editors {
		wg.Go(func() {
			_, errs[i] = e.PutJobs(e.ctx, ws.ID, fmt.Appendf(nil, "editor %d", i), 1)
		})
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch runlet.ErrorCode(err) {
		case "":
			wins++
		case runlet.ECONFLICT:
		default:
			t.Fatalf("PutJobs: %v", err)
		}
	}
	equal(t, "winners", wins, 1)
	_, v, _, err := e.GetJobs(e.ctx, ws.ID)
	ok(t, err)
	equal(t, "version after the race", v, int64(2))
}
