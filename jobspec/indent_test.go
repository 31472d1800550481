package jobspec

import (
	"errors"
	"strings"
	"testing"
)

// TestMisindentedField: a top-level key named like a job field is a job of
// its own; the parser says it is probably a field of the job above that
// lost its indentation — as an error beside the errors it causes, or as a
// warning when the file is otherwise valid.
func TestMisindentedField(t *testing.T) {
	tests := []struct {
		name, src string
		invalid   bool
		want      []string // "LINE|JOB|text" of each warning (or hint among the errors)
	}{
		{
			name:    "the script of a job above",
			src:     "backup:\n  description: Nightly\nscript: tar czf /tmp/x.tgz ~\n",
			invalid: true, // backup has no script
			want:    []string{`3|script|probably a field of job "backup" above that lost its indentation`},
		},
		{
			name: "where under a complete job",
			src:  "backup:\n  script: tar czf /tmp/x.tgz ~\nwhere: all\n",
			want: []string{`3|where|probably a field of job "backup" above`},
		},
		{
			name: "two fields, both of the job above",
			src:  "a: echo a\nscript: echo b\nentrypoint: /bin/sh\n",
			want: []string{`2|script|field of job "a" above`, `3|entrypoint|field of job "a" above`},
		},
		{
			name: "under settings",
			src:  "settings:\n  daemons: {}\nentrypoint: /bin/sh\nhello: echo hi\n",
			want: []string{`3|entrypoint|mis-indented under "settings" above`},
		},
		{
			name: "first key",
			src:  "script: echo hi\n",
			want: []string{`1|script|a job's fields go indented under its name`},
		},
		{name: "names that only look alike", src: "scripts: echo\nwhere-am-i: hostname\nbackup:\n  script: tar\n  where: all\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("jobs.yaml", []byte(tt.src))
			var got Errors
			var errs Errors
			switch {
			case tt.invalid && !errors.As(err, &errs):
				t.Fatalf("Parse = %v, want errors", err)
			case tt.invalid:
				for _, e := range errs {
					if strings.Contains(e.Msg, "is the name of a job field") {
						got = append(got, e)
					}
				}
				if len(errs) == len(got) {
					t.Errorf("only the hints among the errors: %v", errs)
				}
			case err != nil:
				t.Fatalf("Parse: %v", err)
			default:
				got = f.Warnings
			}
			if len(got) != len(tt.want) {
				t.Fatalf("warnings %v, want %d", got, len(tt.want))
			}
			for i, w := range tt.want {
				parts := strings.SplitN(w, "|", 3)
				e := got[i]
				if line := e.Error(); !strings.HasPrefix(line, "jobs.yaml:"+parts[0]+": job \""+parts[1]+"\": ") || !strings.Contains(e.Msg, parts[2]) || !strings.Contains(e.Msg, "rename the job") {
					t.Errorf("warning %d is %q, want line %s, job %s and %q", i, line, parts[0], parts[1], parts[2])
				}
			}
		})
	}
}
