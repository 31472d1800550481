package jobspec

import (
	"strings"
	"testing"

	"github.com/runlet/runlet"
)

func TestRender(t *testing.T) {
	f := mustParse(t, `greet: echo "Hello, {{ index .Args 1 }} from {{ index .Args 0 }}"
plain: ls -lah
count: echo {{ len .Args }}{{ if gt (len .Args) 1 }} first={{ index .Args 1 }}{{ end }}
literal: docker ps --format '{{"{{"}}.Names{{"}}"}}'
`)
	tests := []struct {
		job  string
		args []string
		want string
	}{
		{"greet", []string{"greet", "Ada"}, `echo "Hello, Ada from greet"`},
		{"greet", []string{"greet", "Ada", "extra"}, `echo "Hello, Ada from greet"`},
		{"plain", nil, "ls -lah"},
		{"count", nil, "echo 1"},
		{"count", []string{"count", "x"}, "echo 2 first=x"},
		{"literal", nil, "docker ps --format '{{.Names}}'"},
	}
	for _, tt := range tests {
		got, err := f.Job(tt.job).Render(tt.args)
		if err != nil {
			t.Errorf("%s %q: %v", tt.job, tt.args, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%s %q = %q, want %q", tt.job, tt.args, got, tt.want)
		}
	}
}

func TestRenderMissingArgument(t *testing.T) {
	f := mustParse(t, "two: cp {{ index .Args 1 }} {{ index .Args 2 }}\n")
	_, err := f.Job("two").Render([]string{"two", "a"})
	if err == nil {
		t.Fatal("Render succeeded with a missing argument")
	}
	want := `job "two" needs argument 2 (it got 1): run it as runlet @run two ARG1 ARG2`
	if err.Error() != want {
		t.Errorf("error = %q\nwant    %q", err, want)
	}
	if runlet.ErrorCode(err) != runlet.EINVALID {
		t.Errorf("code %q, want %q", runlet.ErrorCode(err), runlet.EINVALID)
	}
}

func TestRenderExecError(t *testing.T) {
	f := mustParse(t, "ps: docker ps --format '{{ .Names }}'\n")
	_, err := f.Job("ps").Render(nil)
	if err == nil || !strings.Contains(err.Error(), `job "ps"`) || !strings.Contains(err.Error(), "Names") {
		t.Errorf("error = %v, want one naming the job and the field", err)
	}
}

func TestRenderHandBuiltJob(t *testing.T) {
	j := &Job{Name: "x", Script: "echo {{ index .Args 0 }}"}
	if got, err := j.Render(nil); err != nil || got != "echo x" {
		t.Errorf("Render = %q, %v", got, err)
	}
	bad := &Job{Name: "y", Script: "echo {{"}
	if _, err := bad.Render(nil); err == nil || !strings.Contains(err.Error(), "not a valid template") {
		t.Errorf("Render of a bad template = %v", err)
	}
}
