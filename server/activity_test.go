package server_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/store"
)

// TestListRuns: GET /runs lists one run per execution ID with its targets,
// newest first, filters on job, device, client, outcome and time, pages by
// cursor while runs are added, and never lists another workspace's runs.
func TestListRuns(t *testing.T) {
	s := startServer(t, nil)
	ctx := ctxT(t)
	mac := newFakeDevice(t, s, "mac")
	newFakeDevice(t, s, "pi-1")
	ws := mac.cred.Workspace

	// A run through the API: a fan-out is one run of two targets.
	if _, err := mac.api.PutJobs(ctx, []byte(jobsYAML), 0); err != nil {
		t.Fatal(err)
	}
	all, err := mac.api.Run(ctx, api.RunRequest{Job: "everywhere"})
	if err != nil {
		t.Fatal(err)
	}
	page, err := mac.api.Runs(ctx, api.RunFilter{})
	if err != nil || len(page.Runs) != 1 || page.Next != "" {
		t.Fatalf("runs after one fan-out: %+v, %v", page, err)
	}
	if r := page.Runs[0]; r.ID != all.Execution || r.Job != "everywhere" || r.Client != "mac" || r.Outcome != runlet.OutcomePending ||
		len(r.Targets) != 2 || r.Targets[0].Device != "mac" || r.Targets[1].Device != "pi-1" || r.Targets[1].Outcome != runlet.OutcomePending {
		t.Errorf("the fan-out as a run: %+v", r)
	}

	// Runs made in the store: three days ago by ada on pi-1 (killed),
	// yesterday by the scheduler on pi-1 and pi-2, and another
	// workspace's with the same names and the same ID.
	now := time.Now().UTC().Truncate(time.Microsecond)
	put := func(ws, id, job, client string, created time.Time, devices ...string) string {
		t.Helper()
		if id == "" {
			id = store.NewID()
		}
		var xs []*runlet.Execution
		for _, d := range devices {
			xs = append(xs, &runlet.Execution{Workspace: ws, ID: id, Job: job, Client: client, Device: d, Created: created})
		}
		if err := s.Store.CreateExecutions(ctx, xs); err != nil {
			t.Fatal(err)
		}
		return id
	}
	old := put(ws, "", "deploy", "ada@example.com", now.Add(-72*time.Hour), "pi-1")
	if _, err := s.Store.MarkExecutionKilled(ctx, ws, old, "pi-1"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Store.UpdateExecutionStatus(ctx, ws, old, "pi-1", store.StatusUpdate{Status: runlet.StatusError, Signal: "SIGKILL", Reason: runlet.ReasonKilled + " (SIGKILL)"}); err != nil {
		t.Fatal(err)
	}
	nightly := put(ws, "", "backup", "scheduler", now.Add(-24*time.Hour), "pi-1", "pi-2")
	other := runlet.Workspace{Name: "other"}
	if err := s.Store.CreateWorkspace(ctx, &other); err != nil {
		t.Fatal(err)
	}
	put(other.ID, nightly, "backup", "scheduler", now.Add(-24*time.Hour), "pi-1")
	put(other.ID, "", "deploy", "ada@example.com", now.Add(-time.Hour), "pi-1")

	ids := func(f api.RunFilter) []string {
		t.Helper()
		page, err := mac.api.Runs(ctx, f)
		if err != nil {
			t.Fatalf("runs of %+v: %v", f, err)
		}
		out := []string{}
		for _, r := range page.Runs {
			out = append(out, r.ID)
		}
		return out
	}
	for _, c := range []struct {
		name string
		f    api.RunFilter
		want []string
	}{
		{"all, newest first", api.RunFilter{}, []string{all.Execution, nightly, old}},
		{"job", api.RunFilter{Job: "backup"}, []string{nightly}},
		{"device", api.RunFilter{Device: "pi-1"}, []string{all.Execution, nightly, old}},
		{"device pi-2", api.RunFilter{Device: "pi-2"}, []string{nightly}},
		{"client", api.RunFilter{Client: "ada@example.com"}, []string{old}},
		{"client scheduler", api.RunFilter{Client: "scheduler"}, []string{nightly}},
		{"outcome", api.RunFilter{Outcome: "Killed"}, []string{old}},
		{"pending", api.RunFilter{Outcome: "Pending"}, []string{all.Execution, nightly}},
		{"since two days", api.RunFilter{From: now.Add(-48 * time.Hour)}, []string{all.Execution, nightly}},
		{"until two days ago", api.RunFilter{To: now.Add(-48 * time.Hour)}, []string{old}},
		{"between", api.RunFilter{From: now.Add(-48 * time.Hour), To: now.Add(-time.Hour)}, []string{nightly}},
		{"nothing of the other workspace", api.RunFilter{Job: "deploy", From: now.Add(-2 * time.Hour)}, []string{}},
	} {
		if got := ids(c.f); strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	page, err = mac.api.Runs(ctx, api.RunFilter{Job: "backup"})
	if err != nil || len(page.Runs) != 1 || len(page.Runs[0].Targets) != 2 {
		t.Fatalf("the nightly backup: %+v, %v; want its two targets and not the other workspace's", page, err)
	}
	for _, e := range page.Runs[0].Targets {
		if e.Workspace != ws {
			t.Errorf("another workspace's target in the run: %+v", e)
		}
	}

	// Paging, one run a page, while runs are added: each run once.
	var seen []string
	f := api.RunFilter{Limit: 1}
	for range 10 {
		page, err := mac.api.Runs(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Runs {
			seen = append(seen, r.ID)
		}
		if page.Next == "" {
			break
		}
		f.Cursor = page.Next
		put(ws, "", "here", "mac", time.Now(), "mac")
	}
	if strings.Join(seen, " ") != strings.Join([]string{all.Execution, nightly, old}, " ") {
		t.Errorf("paged while runs were added: %v, want each of the first three once", seen)
	}
}

// TestListRunsRefusesBadParameters: a bad cursor, limit, time or outcome
// is a 400 with a sentence that says what to send instead.
func TestListRunsRefusesBadParameters(t *testing.T) {
	s := startServer(t, nil)
	cred := s.enroll(t, "pi-1")
	for _, c := range []struct {
		query, says string
	}{
		{"cursor=nonsense", "cursor"},
		{"cursor=" + base64.RawURLEncoding.EncodeToString([]byte("1700000000000000/")), "cursor"}, // no ID
		{"limit=abc", "limit must be a number"},
		{"limit=-3", "limit must be a number"},
		{"from=yesterday", "from must be a time such as"},
		{"to=2026-13-01T00:00:00Z", "to must be a time such as"},
		{"from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z", "must come before its end"},
		{"outcome=Done", "Unknown outcome"},
	} {
		req, _ := http.NewRequest(http.MethodGet, s.URL()+api.Prefix+"/runs?"+c.query, nil)
		req.Header.Set("Authorization", "Bearer "+cred.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		a := read(t, resp)
		var body api.ErrorBody
		if err := json.Unmarshal([]byte(a.body), &body); err != nil || a.status != http.StatusBadRequest ||
			body.Error.Code != runlet.EINVALID || !strings.Contains(body.Error.Message, c.says) || !strings.HasSuffix(body.Error.Message, ".") {
			t.Errorf("GET /runs?%s: %d %s, want 400 with a sentence saying %q", c.query, a.status, a.body, c.says)
		}
	}
	// Unauthenticated: 401, as every route.
	if a := get(t, s.URL()+api.Prefix+"/runs"); a.status != http.StatusUnauthorized {
		t.Errorf("GET /runs without a token: %d %s", a.status, a.body)
	}
	// A limit above the most is the most, and the cursor goes on.
	page, err := apiclient.New(s.URL(), cred.Token).Runs(ctxT(t), api.RunFilter{Limit: store.MaxLimit + 1})
	if err != nil || len(page.Runs) != 0 || page.Next != "" {
		t.Errorf("a limit above the most: %+v, %v", page, err)
	}
}
