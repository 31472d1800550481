package cli_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/runlet/runlet/jobspec"
)

// TestRunExamplesNameRealJobs: the jobs that `runlet @run --help` shows
// exist in examples/jobs.yaml, so that a reader can try each one.
func TestRunExamplesNameRealJobs(t *testing.T) {
	src, err := os.ReadFile("../examples/jobs.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f, err := jobspec.Parse("jobs.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	r := runIn(t, t.TempDir(), "", "@run", "--help")
	if r.code != 0 {
		t.Fatalf("@run --help: exit %d %s", r.code, r.err)
	}
	_, examples, ok := strings.Cut(r.out, "Examples:")
	if !ok {
		t.Fatalf("@run --help has no examples:\n%s", r.out)
	}
	// The first word after @run (and its flags with values) is the job.
	job := regexp.MustCompile(`@run(?: --offline -f \S+)? ([a-z][\w.-]*)`)
	n := 0
	for _, m := range job.FindAllStringSubmatch(examples, -1) {
		n++
		if f.Job(m[1]) == nil {
			t.Errorf("the example %q names the job %q, which examples/jobs.yaml does not have", m[0], m[1])
		}
	}
	if n < 5 {
		t.Errorf("found %d job names in the examples:\n%s", n, examples)
	}
}
