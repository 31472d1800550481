package server_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/cmd/assemble"
	"github.com/runlet/runlet/server"
)

// TestPutJobsRefusesAnEmptyBody: a PUT of nothing (an empty body, blanks,
// comments, null) would delete every job, as a client that lost its file
// would send it; it is refused and the jobs stay. {} deletes them, on
// purpose.
func TestPutJobsRefusesAnEmptyBody(t *testing.T) {
	s := startServer(t, nil)
	ctx := ctxT(t)
	api := apiclient.New(s.URL(), s.enroll(t, "pi-1").Token)
	put, err := api.PutJobs(ctx, []byte(jobsYAML), apiclient.NoVersion)
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{"", "  \n\t\n", "# all gone\n", "~\n", "null", "---\n"} {
		_, err := api.PutJobs(ctx, []byte(body), apiclient.NoVersion)
		if runlet.ErrorCode(err) != runlet.EINVALID || !strings.Contains(runlet.ErrorMessage(err), "To delete every job, save a file holding just {}") {
			t.Errorf("PUT %q: %v, want 400 saying how to delete every job", body, err)
		}
	}
	got, err := api.Jobs(ctx)
	if err != nil || got.Version != put.Version || len(got.Jobs) != len(put.Jobs) {
		t.Fatalf("after the empty PUTs the jobs are version %d with %d jobs (%v), want version %d with %d", got.Version, len(got.Jobs), err, put.Version, len(put.Jobs))
	}
	// {} deletes every job, with prune=true only.
	_, err = api.PutJobs(ctx, []byte("{}\n"), put.Version)
	var re *apiclient.RemovalError
	if !errors.As(err, &re) || runlet.ErrorCode(err) != runlet.ECONFLICT || !slices.Equal(re.Jobs, []string{"hello", "everywhere", "one", "here"}) {
		t.Fatalf("PUT {} without prune: %v, want 409 naming every job", err)
	}
	emptied, err := api.PutJobsPrune(ctx, []byte("{}\n"), put.Version)
	if err != nil || len(emptied.Jobs) != 0 || emptied.Version == put.Version {
		t.Fatalf("PUT {} with prune: %+v, %v; want a new version without jobs", emptied, err)
	}
}

// rawJobs sends one request to the jobs API as token and returns the status
// and the error body, if any.
func rawJobs(t *testing.T, s *testServer, token, method, path, body string, header ...string) (int, api.ErrorDetail) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxT(t), method, s.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e api.ErrorBody
	if resp.StatusCode >= 300 {
		if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
			t.Fatalf("%s %s: %d without a JSON error: %v", method, path, resp.StatusCode, err)
		}
	}
	return resp.StatusCode, e.Error
}

// TestPutJobsThatRemovesJobsNeedsPrune: a file that lacks jobs of the set
// (a wrong file, a truncated one) is refused with 409 naming them, and
// changes nothing; prune=true deletes them. Files that only add or change
// jobs need no prune.
func TestPutJobsThatRemovesJobsNeedsPrune(t *testing.T) {
	s := startServer(t, nil)
	ctx := ctxT(t)
	tok := s.enroll(t, "pi-1").Token
	c := apiclient.New(s.URL(), tok)
	put, err := c.PutJobs(ctx, []byte(jobsYAML), 0)
	if err != nil {
		t.Fatal(err)
	}
	status, e := rawJobs(t, s, tok, "PUT", "/api/v1/jobs", "hello: echo hi\nnew: echo new\n")
	if status != http.StatusConflict || e.Code != runlet.ECONFLICT || !slices.Equal(e.Removed, []string{"everywhere", "one", "here"}) ||
		!strings.Contains(e.Message, "would delete 3 job(s) the new file does not define: everywhere, one, here") || !strings.Contains(e.Message, "prune=true") {
		t.Fatalf("PUT removing three jobs: %d %+v", status, e)
	}
	if got, err := c.Jobs(ctx); err != nil || got.Version != put.Version || len(got.Jobs) != 4 {
		t.Fatalf("after the refused PUT: version %d with %d jobs (%v), want version %d with 4", got.Version, len(got.Jobs), err, put.Version)
	}
	if status, e := rawJobs(t, s, tok, "PUT", "/api/v1/jobs?prune=maybe", jobsYAML); status != http.StatusBadRequest || !strings.Contains(e.Message, "prune must be true or false") {
		t.Errorf("prune=maybe: %d %+v", status, e)
	}
	// A stale version is a conflict of versions, not a removal.
	_, err = c.PutJobs(ctx, []byte("hello: echo hi\n"), put.Version-1)
	if runlet.ErrorCode(err) != runlet.ECONFLICT || errors.As(err, new(*apiclient.RemovalError)) || !strings.Contains(runlet.ErrorMessage(err), "changed since you read them") {
		t.Errorf("a stale PUT: %v, want a version conflict", err)
	}

	added, err := c.PutJobs(ctx, []byte(jobsYAML+"new: echo new\n"), apiclient.NoVersion)
	if err != nil || len(added.Jobs) != 5 {
		t.Fatalf("PUT adding a job: %v", err)
	}
	changed, err := c.PutJobs(ctx, []byte(strings.Replace(jobsYAML, "uptime", "uptime -p", 1)+"new: echo newer\n"), added.Version)
	if err != nil || len(changed.Jobs) != 5 {
		t.Fatalf("PUT changing jobs: %v", err)
	}
	pruned, err := c.PutJobsPrune(ctx, []byte("hello: echo hi\n"), changed.Version)
	if err != nil || len(pruned.Jobs) != 1 || pruned.Version != changed.Version+1 {
		t.Fatalf("PUT with prune=true: %+v %v", pruned, err)
	}
}

// TestJobHistoryAndRollback: every save is a version with who saved it and
// how many jobs it has; an older one reads back whole and rolls back as a
// new version, under the same If-Match rules as PUT /jobs.
func TestJobHistoryAndRollback(t *testing.T) {
	s := startServer(t, func(c *assemble.Config) { c.AdminPassword = "pw-admin" })
	ctx := ctxT(t)
	admin := s.adminClient(t)
	tok := s.enroll(t, "pi-1").Token
	pi := apiclient.New(s.URL(), tok)
	if _, err := admin.PutJobs(ctx, []byte(jobsYAML), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := pi.PutJobsPrune(ctx, []byte("hello: echo hi\nhere: pwd\n"), 1); err != nil {
		t.Fatal(err)
	}
	if _, err := pi.DeleteJob(ctx, "hello"); err != nil {
		t.Fatal(err)
	}
	h, err := pi.JobVersions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Version  int64
		By, Note string
		Jobs     int
	}
	var got []row
	for _, v := range h.Versions {
		if v.Saved.IsZero() {
			t.Errorf("version %d has no time", v.Version)
		}
		got = append(got, row{v.Version, v.By, v.Note, v.Jobs})
	}
	want := []row{{3, "pi-1", "deleted job hello", 1}, {2, "pi-1", "", 2}, {1, server.AdminEmail, "", 4}}
	if !reflect.DeepEqual(got, want) || h.Kept != 100 {
		t.Fatalf("history %+v (kept %d), want %+v (kept 100)", got, h.Kept, want)
	}
	v1, err := pi.JobVersion(ctx, 1)
	if err != nil || v1.Source != jobsYAML || v1.Jobs != 4 || v1.By != server.AdminEmail {
		t.Fatalf("version 1: %+v %v", v1, err)
	}
	for path, want := range map[string]int{"/api/v1/jobs/versions/9": 404, "/api/v1/jobs/versions/0": 400, "/api/v1/jobs/versions/latest": 400} {
		if status, e := rawJobs(t, s, tok, "GET", path, ""); status != want || e.Message == "" {
			t.Errorf("GET %s: %d %+v, want %d with a message", path, status, e, want)
		}
	}

	// Rollback: If-Match as PUT's, then a new version with the old source.
	_, err = pi.RollbackJobs(ctx, 1, 2)
	if runlet.ErrorCode(err) != runlet.ECONFLICT || !strings.Contains(runlet.ErrorMessage(err), "you had version 2") {
		t.Fatalf("rollback from a stale version: %v", err)
	}
	back, err := pi.RollbackJobs(ctx, 1, 3)
	if err != nil || back.Version != 4 || back.Source != jobsYAML || len(back.Jobs) != 4 {
		t.Fatalf("rollback to 1: %+v %v", back, err)
	}
	if cur, err := admin.Jobs(ctx); err != nil || cur.Version != 4 || cur.Source != jobsYAML {
		t.Fatalf("the job set after the rollback: %+v %v", cur, err)
	}
	if h, err := pi.JobVersions(ctx); err != nil || len(h.Versions) != 4 || h.Versions[0].Note != "rollback to version 1" || h.Versions[0].By != "pi-1" || h.Versions[0].Jobs != 4 {
		t.Fatalf("history after the rollback: %+v %v", h, err)
	}
	for _, tc := range []struct {
		body   string
		status int
		says   string
	}{
		{`{"version": 4}`, 400, "current job set already"},
		{`{"version": 99}`, 404, "no version 99"},
		{`{}`, 400, "which version"},
		{`{"version": "1"}`, 400, "not the JSON expected"},
	} {
		if status, e := rawJobs(t, s, tok, "POST", "/api/v1/jobs/rollback", tc.body, "Content-Type", "application/json"); status != tc.status || !strings.Contains(e.Message, tc.says) {
			t.Errorf("rollback %s: %d %+v, want %d saying %q", tc.body, status, e, tc.status, tc.says)
		}
	}
	if status, e := rawJobs(t, s, tok, "POST", "/api/v1/jobs/rollback", `{"version": 1}`, "If-Match", "v4"); status != 400 || !strings.Contains(e.Message, "If-Match") {
		t.Errorf("rollback with a bad If-Match: %d %+v", status, e)
	}
}

// TestJobsWarnAboutMisindentedFields: a top-level key named like a job
// field is saved as a job, with a warning that it is probably a field of
// the job above; when it leaves that job invalid, the hint comes with the
// errors.
func TestJobsWarnAboutMisindentedFields(t *testing.T) {
	s := startServer(t, nil)
	ctx := ctxT(t)
	c := apiclient.New(s.URL(), s.enroll(t, "pi-1").Token)
	saved, err := c.PutJobs(ctx, []byte("backup:\n  script: tar czf /tmp/x.tgz ~\nwhere: all\n"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(saved.Warnings) != 1 || saved.Warnings[0].Line != 3 || !strings.Contains(saved.Warnings[0].Msg, `probably a field of job "backup" above`) {
		t.Fatalf("warnings of the save: %+v", saved.Warnings)
	}
	if got, err := c.Jobs(ctx); err != nil || len(got.Warnings) != 1 {
		t.Fatalf("GET /jobs warnings: %+v %v", got.Warnings, err)
	}
	_, err = c.PutJobs(ctx, []byte("backup:\n  description: Nightly\nscript: tar czf /tmp/x.tgz ~\nwhere: all\n"), apiclient.NoVersion)
	var ve *apiclient.ValidationError
	if !errors.As(err, &ve) || !strings.Contains(ve.Error(), `"script" is the name of a job field`) || !strings.Contains(ve.Error(), "no script") {
		t.Fatalf("a job left without its script: %v", err)
	}
}
