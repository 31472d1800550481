package cli_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet/cmd/assemble"
	"github.com/runlet/runlet/internal/testenv"
)

// TestConfigListShowsSchedules: @config list shows when each scheduled job
// runs next and how its last scheduled run went, and why one could not
// start; --json carries the same.
func TestConfigListShowsSchedules(t *testing.T) {
	f := startFleet(t, func(c *assemble.Config) { c.SchedulePoll, c.ScheduleLease = 20*time.Millisecond, time.Second })
	h := f.signin("pi-1")
	applyJobs(t, h, `tick:
  script: date
  where: custom
  whereCustom: [pi-1]
  every: 1s
here:
  script: hostname
  every: 1s
nightly:
  script: ./backup.sh
  where: all
  every: every day at 02:30
plain: echo by hand
`)
	var r result
	ran := testenv.Poll(30*time.Second, 50*time.Millisecond, func() bool {
		r = runIn(t, h, "", "@config", "list")
		return r.code == 0 && regexp.MustCompile(`(?m)^tick .* \d\d:\d\d Pending`).MatchString(r.out) &&
			strings.Contains(r.out, "here: the run of ")
	})
	if !ran {
		t.Fatalf("@config list never showed the scheduled runs:\n%s%s", r.out, r.err)
	}
	for _, want := range []string{"NEXT RUN", "LAST RUN", "02:30  not yet", `failed: Job "here" runs where it is started (local), and scheduler is not a device`} {
		if !strings.Contains(r.out, want) {
			t.Errorf("@config list lacks %q:\n%s", want, r.out)
		}
	}
	if !regexp.MustCompile(`(?m)^plain\s+local\s+-\s+-\s+-\s+`).MatchString(r.out) {
		t.Errorf("a job without a schedule has no next or last run:\n%s", r.out)
	}

	r = runIn(t, h, "", "@config", "list", "--json")
	var jobs []map[string]any
	if err := json.Unmarshal([]byte(r.out), &jobs); err != nil || len(jobs) != 4 {
		t.Fatalf("@config list --json: %v\n%s", err, r.out)
	}
	if jobs[0]["name"] != "tick" || jobs[0]["next"] == nil || jobs[0]["last"] == nil || jobs[0]["catchup"] != "one" {
		t.Errorf("tick as JSON: %v, want its next and last run", jobs[0])
	}
	if _, ok := jobs[3]["next"]; ok || jobs[3]["name"] != "plain" {
		t.Errorf("plain as JSON: %v, want no next run", jobs[3])
	}
}
