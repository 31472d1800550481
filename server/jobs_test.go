package server_test

import (
	"strings"
	"testing"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/apiclient"
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
	emptied, err := api.PutJobs(ctx, []byte("{}\n"), put.Version)
	if err != nil || len(emptied.Jobs) != 0 || emptied.Version == put.Version {
		t.Fatalf("PUT {}: %+v, %v; want a new version without jobs", emptied, err)
	}
}
