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

// testJobHistory: every save is kept as a version with who saved it, its
// job count and note, newest first; a refused save keeps nothing; the
// history is bounded by store.JobHistory and per workspace.
func testJobHistory(t *testing.T, e *env) {
	ws := e.workspace(t, "default")
	other := e.workspace(t, "other")
	vs, err := e.JobVersions(e.ctx, ws.ID)
	ok(t, err)
	equal(t, "history of a new workspace", vs, []runlet.JobVersion{})

	v1 := []byte("a: echo a\n")
	_, err = e.SaveJobs(e.ctx, ws.ID, store.JobsSave{Source: v1, By: "ada@example.com", Jobs: 1})
	ok(t, err)
	first := e.clock.Now()
	e.clock.Advance(time.Minute)
	_, err = e.SaveJobs(e.ctx, ws.ID, store.JobsSave{Source: []byte("b: echo b\n"), Expect: 7, By: "pi-1", Jobs: 1})
	code(t, err, runlet.ECONFLICT) // refused: no version kept
	_, err = e.PutJobs(e.ctx, ws.ID, []byte{}, 1)
	ok(t, err)
	second := e.clock.Now()
	e.clock.Advance(time.Minute)
	_, err = e.SaveJobs(e.ctx, ws.ID, store.JobsSave{Source: v1, Expect: store.AnyVersion, By: "pi-1", Jobs: 1, Note: "rollback to version 1"})
	ok(t, err)
	_, err = e.PutJobs(e.ctx, other.ID, []byte("other: echo other\n"), 0)
	ok(t, err)

	vs, err = e.JobVersions(e.ctx, ws.ID)
	ok(t, err)
	equal(t, "history", vs, []runlet.JobVersion{
		{Version: 3, Saved: e.clock.Now(), By: "pi-1", Jobs: 1, Note: "rollback to version 1"},
		{Version: 2, Saved: second, Jobs: -1},
		{Version: 1, Saved: first, By: "ada@example.com", Jobs: 1},
	})
	v, src, err := e.JobVersion(e.ctx, ws.ID, 1)
	ok(t, err)
	equal(t, "version 1", []any{v, string(src)}, []any{vs[2], string(v1)})
	v, src, err = e.JobVersion(e.ctx, ws.ID, 2)
	ok(t, err)
	equal(t, "the emptied version", []any{v.Version, src}, []any{int64(2), []byte{}})
	_, _, err = e.JobVersion(e.ctx, ws.ID, 4)
	code(t, err, runlet.ENOTFOUND)
	_, _, err = e.JobVersion(e.ctx, other.ID, 2) // another workspace's versions are not visible
	code(t, err, runlet.ENOTFOUND)
	_, err = e.JobVersions(e.ctx, "nope")
	code(t, err, runlet.ENOTFOUND)
	_, _, err = e.JobVersion(e.ctx, "nope", 1)
	code(t, err, runlet.ENOTFOUND)

	// Past store.JobHistory versions, the oldest are dropped.
	for i := range store.JobHistory {
		_, err = e.SaveJobs(e.ctx, ws.ID, store.JobsSave{Source: fmt.Appendf(nil, "j%d: echo %d\n", i, i), Expect: store.AnyVersion, Jobs: 1})
		ok(t, err)
	}
	current := int64(3 + store.JobHistory)
	vs, err = e.JobVersions(e.ctx, ws.ID)
	ok(t, err)
	equal(t, "versions kept", len(vs), store.JobHistory)
	equal(t, "newest and oldest kept", []int64{vs[0].Version, vs[len(vs)-1].Version}, []int64{current, current - store.JobHistory + 1})
	_, _, err = e.JobVersion(e.ctx, ws.ID, current-store.JobHistory)
	code(t, err, runlet.ENOTFOUND)
	_, src, err = e.JobVersion(e.ctx, ws.ID, current)
	ok(t, err)
	equal(t, "the current version's source", string(src), fmt.Sprintf("j%d: echo %d\n", store.JobHistory-1, store.JobHistory-1))
	vs, err = e.JobVersions(e.ctx, other.ID)
	ok(t, err)
	equal(t, "the other workspace's history", len(vs), 1)
}
