package dispatch_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/dispatch"
	"github.com/runlet/runlet/store"
	"github.com/runlet/runlet/wire"
)

// A save that would remove jobs is refused without Prune, naming them and
// changing nothing; with Prune it saves, keeps the version with its author
// and tells the workspace.
func TestSaveJobsThatRemovesJobsNeedsPrune(t *testing.T) {
	e := newEnv(t)
	s := e.service(t, e.bus)
	events := e.events(t)

	_, _, err := s.SaveJobs(e.ctx, e.ws, dispatch.Save{Source: []byte("hello: echo hi\n"), Expect: store.AnyVersion, By: "ada@example.com"})
	var r *dispatch.Removal
	if !errors.As(err, &r) || !slices.Equal(r.Jobs, []string{"here", "anywhere"}) || r.Version != 1 {
		t.Fatalf("a save removing two jobs: %v (%+v)", err, r)
	}
	wantError(t, err, runlet.ECONFLICT, "would delete 2 job(s) the new file does not define: here, anywhere", "prune=true")
	if _, v, _, _ := e.db.GetJobs(e.ctx, e.ws); v != 1 {
		t.Fatalf("the refused save changed the version to %d", v)
	}
	// A stale version is told as such, before any removal.
	_, _, err = s.SaveJobs(e.ctx, e.ws, dispatch.Save{Source: []byte("hello: echo hi\n"), Expect: 7})
	if errors.As(err, &r) {
		t.Fatalf("a stale save is a removal: %v", err)
	}
	wantError(t, err, runlet.ECONFLICT, "you had version 7")

	f, v, err := s.SaveJobs(e.ctx, e.ws, dispatch.Save{Source: []byte("hello: echo hi\n"), Expect: 1, Prune: true, By: "ada@example.com"})
	if err != nil || v != 2 || len(f.Jobs) != 1 {
		t.Fatalf("save with prune: %v, version %d", err, v)
	}
	if ev := receive(t, events, "the jobs event"); ev.Type != wire.EventJobs || ev.Version != 2 {
		t.Errorf("event %+v, want jobs version 2", ev)
	}
	vs, err := s.JobVersions(e.ctx, e.ws)
	if err != nil || len(vs) != 2 || vs[0].By != "ada@example.com" || vs[0].Jobs != 1 || vs[1].Jobs != 3 {
		t.Fatalf("history %+v %v; want version 2 by ada with 1 job, and version 1's 3 jobs counted", vs, err)
	}
}

// A stored set that no longer parses cannot say which jobs a save removes:
// the save that fixes it needs no prune.
func TestSaveJobsOverABrokenSet(t *testing.T) {
	e := newEnv(t)
	s := e.service(t, e.bus)
	if _, err := e.db.PutJobs(e.ctx, e.ws, []byte("a: [unclosed\n"), store.AnyVersion); err != nil {
		t.Fatal(err)
	}
	if _, v, err := s.SaveJobs(e.ctx, e.ws, dispatch.Save{Source: []byte("a: echo a\n"), Expect: store.AnyVersion}); err != nil || v != 3 {
		t.Fatalf("the fixing save: %v, version %d", err, v)
	}
}

// Rollback saves an older version's source as a new version, noting it;
// the current version and versions not kept are refused.
func TestRollbackJobs(t *testing.T) {
	e := newEnv(t)
	s := e.service(t, e.bus)
	if _, _, err := s.SaveJobs(e.ctx, e.ws, dispatch.Save{Source: []byte("{}\n"), Expect: 1, Prune: true}); err != nil {
		t.Fatal(err)
	}
	_, _, err := s.Rollback(e.ctx, e.ws, 2, store.AnyVersion, "pi")
	wantError(t, err, runlet.EINVALID, "Version 2 is the current job set already")
	_, _, err = s.Rollback(e.ctx, e.ws, 5, store.AnyVersion, "pi")
	wantError(t, err, runlet.ENOTFOUND, "no version 5")
	_, _, err = s.Rollback(e.ctx, e.ws, 1, 1, "pi")
	wantError(t, err, runlet.ECONFLICT, "you had version 1")

	f, v, err := s.Rollback(e.ctx, e.ws, 1, 2, "pi")
	if err != nil || v != 3 || len(f.Jobs) != 3 {
		t.Fatalf("rollback to 1: %v, version %d", err, v)
	}
	jv, src, err := s.JobVersion(e.ctx, e.ws, 3)
	if err != nil || string(src) != jobsYAML || jv.Note != "rollback to version 1" || jv.By != "pi" || jv.Jobs != 3 {
		t.Fatalf("version 3: %+v %q %v", jv, src, err)
	}
}
