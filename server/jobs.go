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
	"github.com/runlet/runlet/wire"
)

func jobsOf(f *jobspec.File) []*jobspec.Job {
	if f.Jobs == nil {
		return []*jobspec.Job{}
	}
	return f.Jobs
}

func (s *Server) handleGetJobs(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	f, version, err := s.dispatch.Jobs(r.Context(), c.Workspace.ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.Jobs{Source: string(f.Source), Version: version, Jobs: jobsOf(f)})
}

func (s *Server) handlePutJobs(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	src, err := readBody(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	expect := int64(-1) // store.AnyVersion
	if im := strings.Trim(r.Header.Get("If-Match"), `" `); im != "" && im != "*" {
		if expect, err = strconv.ParseInt(im, 10, 64); err != nil || expect < 0 {
			s.error(w, r, runlet.Errorf(runlet.EINVALID, "If-Match must be the version number of the job set, not %q.", im))
			return
		}
	}
	if noJobFile(src) {
		s.error(w, r, errNoJobFile)
		return
	}
	f, err := jobspec.Parse(dispatch.JobsFile, src)
	if err != nil {
		s.error(w, r, err)
		return
	}
	version, err := s.db.PutJobs(r.Context(), c.Workspace.ID, src, expect)
	if runlet.ErrorCode(err) == runlet.ECONFLICT {
		err = runlet.Errorf(runlet.ECONFLICT, "The jobs changed since you read them (you had version %d): read them again and redo your change.", expect)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.intake.Event(c.Workspace.ID, wire.Event{Type: wire.EventJobs, Version: version})
	writeJSON(w, http.StatusOK, api.Jobs{Source: string(src), Version: version, Jobs: jobsOf(f)})
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
	version, err = s.db.PutJobs(ctx, c.Workspace.ID, src, version)
	if runlet.ErrorCode(err) == runlet.ECONFLICT {
		err = runlet.Errorf(runlet.ECONFLICT, "The jobs changed while deleting %q: try again.", name)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.intake.Event(c.Workspace.ID, wire.Event{Type: wire.EventJobs, Version: version})
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
