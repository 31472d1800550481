package server

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/dispatch"
	"github.com/runlet/runlet/jobspec"
	"github.com/runlet/runlet/store"
)

func jobsOf(f *jobspec.File) []*jobspec.Job {
	if f.Jobs == nil {
		return []*jobspec.Job{}
	}
	return f.Jobs
}

// jobsAnswer is the job set f at version as the API returns it.
func jobsAnswer(f *jobspec.File, version int64) api.Jobs {
	a := api.Jobs{Source: string(f.Source), Version: version, Jobs: jobsOf(f)}
	for _, w := range f.Warnings {
		a.Warnings = append(a.Warnings, *w)
	}
	return a
}

func (s *Server) handleGetJobs(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	f, version, err := s.dispatch.Jobs(r.Context(), c.Workspace.ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, jobsAnswer(f, version))
}

// ifMatch is the version of the job set a change was made from, from the
// If-Match header: store.AnyVersion when there is none (or "*").
func ifMatch(r *http.Request) (int64, error) {
	im := strings.Trim(r.Header.Get("If-Match"), `" `)
	if im == "" || im == "*" {
		return store.AnyVersion, nil
	}
	v, err := strconv.ParseInt(im, 10, 64)
	if err != nil || v < 0 {
		return 0, runlet.Errorf(runlet.EINVALID, "If-Match must be the version number of the job set, not %q.", im)
	}
	return v, nil
}

func (s *Server) handlePutJobs(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	src, err := readBody(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	expect, err := ifMatch(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	prune := false
	if p := r.URL.Query().Get("prune"); p != "" {
		if prune, err = strconv.ParseBool(p); err != nil {
			s.error(w, r, runlet.Errorf(runlet.EINVALID, "prune must be true or false, not %q.", p))
			return
		}
	}
	if noJobFile(src) {
		s.error(w, r, errNoJobFile)
		return
	}
	f, version, err := s.dispatch.SaveJobs(r.Context(), c.Workspace.ID, dispatch.Save{Source: src, Expect: expect, Prune: prune, By: c.Name()})
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, jobsAnswer(f, version))
}

func (s *Server) handleJobVersions(w http.ResponseWriter, r *http.Request) {
	vs, err := s.dispatch.JobVersions(r.Context(), callerOf(r).Workspace.ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.JobVersions{Versions: vs, Kept: store.JobHistory})
}

func (s *Server) handleJobVersion(w http.ResponseWriter, r *http.Request) {
	version, err := strconv.ParseInt(r.PathValue("version"), 10, 64)
	if err != nil || version <= 0 {
		s.error(w, r, runlet.Errorf(runlet.EINVALID, "A version of the job set is a number from 1, not %q.", r.PathValue("version")))
		return
	}
	v, src, err := s.dispatch.JobVersion(r.Context(), callerOf(r).Workspace.ID, version)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.JobVersion{JobVersion: v, Source: string(src)})
}

func (s *Server) handleRollbackJobs(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	var req api.RollbackRequest
	if err := decode(r, &req); err != nil {
		s.error(w, r, err)
		return
	}
	if req.Version <= 0 {
		s.error(w, r, runlet.Errorf(runlet.EINVALID, "Say which version to roll back to: {\"version\": N}, N from 1."))
		return
	}
	expect, err := ifMatch(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	f, version, err := s.dispatch.Rollback(r.Context(), c.Workspace.ID, req.Version, expect, c.Name())
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, jobsAnswer(f, version))
}

// errNoJobFile refuses a PUT that would delete every job by accident (an
// empty body, a client that lost its file): deleting them all takes {}.
var errNoJobFile = runlet.Errorf(runlet.EINVALID, "The job file is empty (or only comments): nothing saved. To delete every job, save a file holding just {} (an empty map).")

// noJobFile reports whether src holds no YAML value: nothing, blanks,
// comments, or null.
func noJobFile(src []byte) bool {
	if len(bytes.TrimSpace(src)) == 0 {
		return true // tabs too, which YAML would call a syntax error
	}
	var doc yaml.Node
	if yaml.Unmarshal(src, &doc) != nil {
		return false // not YAML: the parser says what is wrong
	}
	return len(doc.Content) == 0 || doc.Content[0].Tag == "!!null"
}

func (s *Server) handleDeleteJob(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	name := r.PathValue("name")
	ctx := r.Context()
	f, version, err := s.dispatch.Jobs(ctx, c.Workspace.ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if f.Job(name) == nil {
		s.error(w, r, dispatch.UnknownJob(name, f))
		return
	}
	src, err := removeKey(f.Source, name)
	if err != nil {
		s.error(w, r, err)
		return
	}
	_, version, err = s.dispatch.SaveJobs(ctx, c.Workspace.ID, dispatch.Save{Source: src, Expect: version, Prune: true, By: c.Name(), Note: "deleted job " + name})
	if runlet.ErrorCode(err) == runlet.ECONFLICT {
		err = runlet.Errorf(runlet.ECONFLICT, "The jobs changed while deleting %q: try again.", name)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.DeleteJobResponse{Version: version})
}

// removeKey deletes a top-level key from a YAML mapping, keeping the rest
// (comments included, as far as the YAML library keeps them).
func removeKey(src []byte, key string) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("the job set is not a YAML mapping")
	}
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content = append(m.Content[:i], m.Content[i+2:]...)
			break
		}
	}
	if len(m.Content) == 0 {
		return []byte{}, nil
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	return b.Bytes(), enc.Close()
}
