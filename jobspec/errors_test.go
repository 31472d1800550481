package jobspec

import (
	"errors"
	"strings"
	"testing"

	"github.com/runlet/runlet"
)

// TestParseErrors checks that each kind of mistake is reported with the
// file, the line, the job and the field, and a hint of what is allowed.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		line  int
		job   string
		field string
		want  string // a part of the message
	}{
		{"unknown field", "a:\n  script: ls\n  scirpt: ls\n", 3, "a", "scirpt", `did you mean "script"? Allowed: description, showDuration, script, cwd, where, whereCustom, every, catchup, entrypoint, expires, timeout`},
		{"unknown field far from any", "a:\n  script: ls\n  color: red\n", 3, "a", "color", "allowed: description, showDuration"},
		{"custom without whereCustom", "a:\n  script: ls\n  where: custom\n", 3, "a", "where", "needs whereCustom"},
		{"custom with empty whereCustom", "a:\n  script: ls\n  where: custom\n  whereCustom: [' , ']\n", 4, "a", "whereCustom", "names no device"},
		{"custom with a malformed pattern", "a:\n  script: ls\n  where: custom\n  whereCustom: [pi-1, 'pi-[2']\n", 4, "a", "whereCustom", `The device pattern "pi-[2" is malformed`},
		{"custom with an empty label", "a:\n  script: ls\n  where: custom\n  whereCustom: ['label:']\n", 4, "a", "whereCustom", "a label's key has 1 to 63 characters"},
		{"whereCustom without custom", "a:\n  script: ls\n  whereCustom: [pi-1]\n", 3, "a", "whereCustom", "only with where: custom"},
		{"whereCustom with where all", "a:\n  script: ls\n  where: all\n  whereCustom: [pi-1]\n", 4, "a", "whereCustom", "where: all"},
		{"bad every", "a:\n  script: ls\n  every: sometimes\n", 3, "a", "every", `an interval ("30s", "15m"`},
		{"bad cron", "a:\n  script: ls\n  every: 61 * * * *\n", 3, "a", "every", "above maximum"},
		{"never-firing cron", "a:\n  script: ls\n  every: 0 0 30 2 *\n", 3, "a", "every", "never fires"},
		{"bad catchup", "a:\n  script: ls\n  every: 1h\n  catchup: all\n", 4, "a", "catchup", `"all" is not a catch-up: use one (after downtime, run the latest missed tick once; the default) or none`},
		{"catchup is a list", "a:\n  script: ls\n  every: 1h\n  catchup: [one]\n", 4, "a", "catchup", "want a string, not a list"},
		{"catchup without every", "a:\n  script: ls\n  catchup: none\n", 3, "a", "catchup", "catchup applies only to a job with a schedule: add every: or remove catchup"},
		{"empty script", "a:\n  script: '  '\n", 2, "a", "script", "script is empty"},
		{"no script", "a:\n  description: nothing\n", 1, "a", "script", "no script"},
		{"null short form", "a:\n", 1, "a", "script", "the job is empty"},
		{"bad name", "my job: ls\n", 1, "my job", "", "letters, digits, '.', '_' and '-'"},
		{"name too long", strings.Repeat("x", 129) + ": ls\n", 1, strings.Repeat("x", 129), "", "keep it to 128"},
		{"bad where", "a:\n  script: ls\n  where: everywhere\n", 3, "a", "where", "use local (this device, the default), all, any or custom"},
		{"where is a list", "a:\n  script: ls\n  where: [all]\n", 3, "a", "where", "want a string, not a list"},
		{"showDuration not bool", "a:\n  script: ls\n  showDuration: maybe\n", 3, "a", "showDuration", "want true or false"},
		{"script is a map", "a:\n  script: {x: 1}\n", 2, "a", "script", "want a string, not a map"},
		{"description is a list", "a:\n  script: ls\n  description: [x]\n", 3, "a", "description", "want a string"},
		{"whereCustom item is a map", "a:\n  script: ls\n  where: custom\n  whereCustom:\n    - {x: 1}\n", 5, "a", "whereCustom", "want a string, not a map"},
		{"job is a list", "a:\n  - ls\n", 2, "a", "", "a job is a script"},
		{"duplicate job", "a: ls\nb: ls\na: pwd\n", 3, "a", "", "defined twice (first at line 1)"},
		{"duplicate field", "a:\n  script: ls\n  script: pwd\n", 3, "a", "script", "given twice (first at line 2)"},
		{"top level list", "- a\n- b\n", 1, "", "", "must be a map from job name to job"},
		{"top level string", "just text\n", 1, "", "", "must be a map"},
		{"name is a list", "[a, b]: ls\n", 1, "", "", "a name must be a plain string"},
		{"yaml syntax", "a: ls\nb:\n  script: x\n   where: all\n", 4, "", "", "not valid YAML"},
		{"yaml syntax on line 1", "a: [ls\n", 1, "", "", "not valid YAML"},
		{"tab indentation", "a:\n\tscript: ls\n", 2, "", "", "not valid YAML"},
		{"bad utf-8", "a: ls\nb: \xff\n", 2, "", "", "not valid YAML"},
		{"unknown anchor", "a: ls\nb: *nope\n", 2, "", "", "unknown anchor"},
		{"two documents", "a: ls\n---\nb: ls\n", 2, "", "", "one YAML document"},
		{"template error", "a:\n  script: |\n    echo one\n    echo {{ .Args\n", 4, "a", "script", "literal {{"},
		{"template error inline", "a: echo {{ end }}\n", 1, "a", "script", "unexpected {{end}}"},
		{"entrypoint unclosed quote", "a:\n  script: ls\n  entrypoint: /bin/sh -c 'x\n", 3, "a", "entrypoint", "single quote"},
		{"entrypoint pipe", "a:\n  script: ls\n  entrypoint: /bin/sh | tee\n", 3, "a", "entrypoint", "not through a shell"},
		{"entrypoint empty list", "a:\n  script: ls\n  entrypoint: []\n", 3, "a", "entrypoint", "entrypoint is empty"},
		{"entrypoint empty string", "a:\n  script: ls\n  entrypoint: ''\n", 3, "a", "entrypoint", "entrypoint is empty"},
		{"expires zero", "a:\n  script: ls\n  expires: 0s\n", 3, "a", "expires", "more than zero"},
		{"expires negative", "a:\n  script: ls\n  expires: -5m\n", 3, "a", "expires", "more than zero"},
		{"expires garbage", "a:\n  script: ls\n  expires: soon\n", 3, "a", "expires", "30s, 15m, 6h, 1d"},
		{"timeout zero", "a:\n  script: ls\n  timeout: 0s\n", 3, "a", "timeout", "more than zero, like 90s, 10m or 2h; write none for no limit"},
		{"timeout negative", "a:\n  script: ls\n  timeout: -1m\n", 3, "a", "timeout", "more than zero"},
		{"timeout garbage", "a:\n  script: ls\n  timeout: forever\n", 3, "a", "timeout", `"forever" is not a duration: write a number and a unit, like 30s, 15m, 6h, 1d or 1h30m, or none`},
		{"timeout a list", "a:\n  script: ls\n  timeout: [1m]\n", 3, "a", "timeout", "want a string, not a list"},
		{"settings timeout garbage", "settings:\n  timeout: soon\n", 2, "", "settings.timeout", "not a duration"},
		{"settings timeout zero", "settings:\n  timeout: 0\n", 2, "", "settings.timeout", "more than zero"},
		{"settings unknown field", "settings:\n  entrypiont: /bin/sh\n", 2, "", "settings.entrypiont", `did you mean "entrypoint"`},
		{"settings not a map", "settings: yes\n", 1, "", "settings", "settings is a map"},
		{"daemon unknown field", "settings:\n  daemons:\n    pi-3: {enable: false}\n", 3, "", "settings.daemons.pi-3.enable", `did you mean "enabled"`},
		{"daemon enabled not bool", "settings:\n  daemons:\n    pi-3: {enabled: sometimes}\n", 3, "", "settings.daemons.pi-3.enabled", "want true or false"},
		{"daemons not a map", "settings:\n  daemons: [pi-3]\n", 2, "", "settings.daemons", "map from device name"},
		{"settings entrypoint bad", "settings:\n  entrypoint: /bin/sh 'x\n", 2, "", "settings.entrypoint", "not closed"},
		{"settings commands not bool", "settings:\n  commands: sometimes\n", 2, "", "settings.commands", "want true or false"},
		{"settings commands a list", "settings:\n  commands: [ls]\n", 2, "", "settings.commands", "want true or false"},
		{"settings commands misspelt", "settings:\n  comands: false\n", 2, "", "settings.comands", `did you mean "commands"`},
		{"merge of a string", "a:\n  <<: ls\n  script: ls\n", 2, "a", "", "a merge (<<) takes a map"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("jobs.yaml", []byte(tt.src))
			if err == nil {
				t.Fatalf("Parse succeeded with %d jobs; want an error", len(f.Jobs))
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error is %T, want Errors: %v", err, err)
			}
			e := find(errs, tt.line, tt.field)
			if e == nil {
				t.Fatalf("no error at line %d for field %q; got:\n%v", tt.line, tt.field, err)
			}
			if e.Job != tt.job || e.File != "jobs.yaml" || !strings.Contains(e.Msg, tt.want) {
				t.Errorf("got %+v\nwant job %q, file jobs.yaml and a message with %q", *e, tt.job, tt.want)
			}
			text := e.Error()
			for _, part := range []string{"jobs.yaml:", tt.want} {
				if !strings.Contains(text, part) {
					t.Errorf("Error() = %q, want it to contain %q", text, part)
				}
			}
			if tt.field != "" && !strings.Contains(text, `field "`+tt.field+`"`) {
				t.Errorf("Error() = %q does not name field %q", text, tt.field)
			}
			if runlet.ErrorCode(err) != runlet.EINVALID {
				t.Errorf("ErrorCode = %q, want %q", runlet.ErrorCode(err), runlet.EINVALID)
			}
		})
	}
}

func find(errs Errors, line int, field string) *Error {
	for _, e := range errs {
		if e.Line == line && e.Field == field {
			return e
		}
	}
	return nil
}

// TestParseCollectsAllErrors checks that one pass reports every problem,
// in line order, instead of stopping at the first.
func TestParseCollectsAllErrors(t *testing.T) {
	src := `bad name: ls
ok: ls
x:
  scirpt: ls
  where: custom
  every: whenever
  showDuration: "yes please"
ok: again
`
	_, err := Parse("all.yaml", []byte(src))
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("want Errors, got %v", err)
	}
	want := []struct {
		line  int
		field string
	}{{1, ""}, {3, "script"}, {4, "scirpt"}, {5, "where"}, {6, "every"}, {7, "showDuration"}, {8, ""}}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(want), err)
	}
	for i, w := range want {
		if errs[i].Line != w.line || errs[i].Field != w.field {
			t.Errorf("error %d: line %d field %q, want line %d field %q (%v)", i, errs[i].Line, errs[i].Field, w.line, w.field, errs[i])
		}
	}
	if got := strings.Count(err.Error(), "\n"); got != len(want)-1 {
		t.Errorf("Errors.Error() has %d lines, want one an error:\n%v", got+1, err)
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{File: "j.yaml", Line: 3, Job: "x", Field: "where", Msg: "bad"}, `j.yaml:3: job "x": field "where": bad`},
		{Error{File: "j.yaml", Line: 1, Msg: "bad"}, `j.yaml:1: bad`},
		{Error{File: "j.yaml", Msg: "bad"}, `j.yaml: bad`},
		{Error{File: "j.yaml", Line: 2, Field: "settings", Msg: "bad"}, `j.yaml:2: field "settings": bad`},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}
