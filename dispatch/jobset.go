package dispatch

import (
	"context"
	"fmt"
	"strings"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/jobspec"
	"github.com/runlet/runlet/store"
	"github.com/runlet/runlet/wire"
)

// Save is a new job set for a workspace.
type Save struct {
	Source []byte
	// Expect is the version the change was made from; store.AnyVersion
	// replaces whatever version is stored.
	Expect int64
	// Prune lets the save remove jobs. Without it, a save that would
	// remove any is refused with *Removal, naming them: a wrong or
	// truncated file must not wipe jobs by accident.
	Prune bool
	// By is who saves it (Client.Name), for the history.
	By string
	// Note says why, when it is not an edit ("deleted job backup").
	Note string
}

// Removal refuses a save that would remove jobs without Save.Prune. It is
// an ECONFLICT for runlet.ErrorCode and runlet.ErrorMessage.
type Removal struct {
	// Jobs are the jobs the save would remove, in the order of the
	// stored file.
	Jobs []string
	// Version is the stored version that has them.
	Version int64
}

func (r *Removal) Error() string {
	return fmt.Sprintf("Nothing saved: this would delete %d job(s) the new file does not define: %s. Add them to the file to keep them, or save it again with prune=true to delete them.",
		len(r.Jobs), strings.Join(r.Jobs, ", "))
}

// As gives runlet.ErrorCode and runlet.ErrorMessage an ECONFLICT.
func (r *Removal) As(target any) bool {
	p, ok := target.(**runlet.Error)
	if !ok {
		return false
	}
	*p = &runlet.Error{Code: runlet.ECONFLICT, Message: r.Error()}
	return true
}

// saveTries bounds the retries of a save of any version that lost a race
// between its check for removed jobs and its write.
const saveTries = 3

// SaveJobs validates save.Source and makes it the workspace's job set,
// keeping the version in the history, and tells the workspace's viewers.
// It returns the parsed file and its version. EINVALID: the file has
// problems (jobspec.Errors). ECONFLICT: the version is not save.Expect, or
// *Removal. ENOTFOUND: no such workspace.
func (s *Service) SaveJobs(ctx context.Context, ws string, save Save) (*jobspec.File, int64, error) {
	f, err := jobspec.Parse(JobsFile, save.Source)
	if err != nil {
		return nil, 0, err
	}
	for try := 1; ; try++ {
		expect := save.Expect
		if !save.Prune {
			if expect, err = s.checkRemoval(ctx, ws, f, save.Expect); err != nil {
				return nil, 0, err
			}
		}
		version, err := s.db.SaveJobs(ctx, ws, store.JobsSave{Source: save.Source, Expect: expect, By: save.By, Jobs: len(f.Jobs), Note: save.Note})
		if runlet.ErrorCode(err) == runlet.ECONFLICT && save.Expect == store.AnyVersion && try < saveTries {
			continue // changed between the check and the write: check again
		}
		if runlet.ErrorCode(err) == runlet.ECONFLICT {
			return nil, 0, conflict(save.Expect)
		}
		if err != nil {
			return nil, 0, err
		}
		s.cfg.Events.Event(ws, wire.Event{Type: wire.EventJobs, Version: version})
		return f, version, nil
	}
}

// checkRemoval refuses (*Removal) a new file f that lacks jobs of the
// stored set, and returns the version it checked against, which the save
// must then replace: the check holds for that version only.
func (s *Service) checkRemoval(ctx context.Context, ws string, f *jobspec.File, expect int64) (int64, error) {
	cur, version, err := s.Jobs(ctx, ws)
	switch {
	case runlet.ErrorCode(err) == runlet.EINVALID:
		// The stored set no longer parses, so its jobs are unknown; the
		// save is how it gets fixed, and the history keeps it.
		return version, nil
	case err != nil:
		return 0, err
	case expect != store.AnyVersion && expect != version:
		return 0, conflict(expect)
	}
	var removed []string
	for _, j := range cur.Jobs {
		if f.Job(j.Name) == nil {
			removed = append(removed, j.Name)
		}
	}
	if len(removed) > 0 {
		return 0, &Removal{Jobs: removed, Version: version}
	}
	return version, nil
}

func conflict(expect int64) error {
	return runlet.Errorf(runlet.ECONFLICT, "The jobs changed since you read them (you had version %d): read them again and redo your change.", expect)
}

// Rollback makes an older version the job set again, as a new version
// whose source is the old one's; the jobs added since are removed, the
// history keeps them. expect is as Save.Expect. ENOTFOUND: the version is
// not kept. EINVALID: it is the current version, or no longer parses.
// ECONFLICT: the version is not expect.
func (s *Service) Rollback(ctx context.Context, ws string, version, expect int64, by string) (*jobspec.File, int64, error) {
	_, src, err := s.db.JobVersion(ctx, ws, version)
	if err != nil {
		return nil, 0, err
	}
	_, current, _, err := s.db.GetJobs(ctx, ws)
	switch {
	case err != nil:
		return nil, 0, err
	case expect != store.AnyVersion && expect != current:
		return nil, 0, conflict(expect)
	case current == version:
		return nil, 0, runlet.Errorf(runlet.EINVALID, "Version %d is the current job set already: nothing to roll back.", version)
	}
	return s.SaveJobs(ctx, ws, Save{Source: src, Expect: expect, Prune: true, By: by, Note: fmt.Sprintf("rollback to version %d", version)})
}

// JobVersions returns the kept versions of the workspace's job set, newest
// first, each with its number of jobs. ENOTFOUND: no such workspace.
func (s *Service) JobVersions(ctx context.Context, ws string) ([]runlet.JobVersion, error) {
	vs, err := s.db.JobVersions(ctx, ws)
	if err != nil {
		return nil, err
	}
	for i := range vs {
		if vs[i].Jobs < 0 { // saved before the history counted them
			_, src, err := s.db.JobVersion(ctx, ws, vs[i].Version)
			if err == nil {
				vs[i].Jobs = countJobs(src)
			}
		}
	}
	return vs, nil
}

// JobVersion returns one kept version of the workspace's job set and its
// source. ENOTFOUND: no such workspace or version.
func (s *Service) JobVersion(ctx context.Context, ws string, version int64) (runlet.JobVersion, []byte, error) {
	v, src, err := s.db.JobVersion(ctx, ws, version)
	if err == nil && v.Jobs < 0 {
		v.Jobs = countJobs(src)
	}
	return v, src, err
}

// countJobs is how many jobs src defines, -1 when it no longer parses.
func countJobs(src []byte) int {
	f, err := jobspec.Parse(JobsFile, src)
	if err != nil {
		return -1
	}
	return len(f.Jobs)
}
