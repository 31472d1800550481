package jobspec

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"text/template"

	"github.com/runlet/runlet"
)

// TemplateData is what a script template sees: {{ index .Args 1 }} is the
// first argument given after the job's name.
type TemplateData struct {
	Args []string // Args[0] is the job name
}

// parseTemplate parses a script as a Go text/template named after its job.
func parseTemplate(job, script string) (*template.Template, error) {
	return template.New(job).Option("missingkey=error").Parse(script)
}

// templateLine finds the template's own line number in a text/template
// error ("template: NAME:3: ...") and the rest of the message.
var templateLine = regexp.MustCompile(`^template: .*?:(\d+):(?:\d+:)? ?(.*)$`)

// splitTemplateError returns the 1-based line within the script that err
// names (0 if none) and a message without the template's name.
func splitTemplateError(err error) (int, string) {
	msg := err.Error()
	if m := templateLine.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		msg = m[2]
		// "unclosed action started at NAME:2": the start is the line to fix.
		if s := startedAt.FindStringSubmatch(msg); s != nil {
			n, _ = strconv.Atoi(s[1])
			msg = strings.Replace(msg, s[0], "started on this line", 1)
		}
		return n, msg
	}
	return 0, strings.TrimPrefix(msg, "template: ")
}

var startedAt = regexp.MustCompile(`started at \S*?:(\d+)`)

// outOfRange matches text/template's messages for a missing argument:
// "at <index .Args 2>: error calling index: ... out of range" (the index
// in the action, as newer Go versions leave it out of the reason).
var (
	outOfRange = regexp.MustCompile(`index out of range`)
	argsIndex  = regexp.MustCompile(`<index \.Args (\d+)>|index out of range: (\d+)`)
)

// Render executes the job's script template and returns the script to run.
// args are the words of `runlet @run NAME A B`: args[0] is the job name (the
// job's own name is used when args is empty), so {{ index .Args 1 }} is A.
// A script that asks for an argument that was not given fails with an error
// that names the job and shows how to run it.
func (j *Job) Render(args []string) (string, error) {
	if len(args) == 0 {
		args = []string{j.Name}
	}
	t := j.tmpl
	if t == nil { // a Job built by hand or decoded from JSON
		var err error
		if t, err = parseTemplate(j.Name, j.Script); err != nil {
			_, msg := splitTemplateError(err)
			return "", runlet.Errorf(runlet.EINVALID, "job %q: the script is not a valid template: %s", j.Name, msg)
		}
	}
	var b strings.Builder
	if err := t.Execute(&b, TemplateData{Args: args}); err != nil {
		return "", j.renderError(err, len(args))
	}
	return b.String(), nil
}

func (j *Job) renderError(err error, given int) error {
	msg := err.Error()
	if m := argsIndex.FindStringSubmatch(msg); m != nil && outOfRange.MatchString(msg) {
		need, _ := strconv.Atoi(m[1] + m[2])
		if need >= given && need < 1000 {
			usage := []string{"runlet @run", j.Name}
			for i := 1; i <= need; i++ {
				usage = append(usage, "ARG"+strconv.Itoa(i))
			}
			return runlet.Errorf(runlet.EINVALID, "job %q needs argument %d (it got %d): run it as %s",
				j.Name, need, given-1, strings.Join(usage, " "))
		}
	}
	var execErr template.ExecError
	if errors.As(err, &execErr) {
		err = execErr.Err
	}
	_, msg = splitTemplateError(err)
	return runlet.Errorf(runlet.EINVALID, "job %q: cannot fill in the script template: %s", j.Name, templateErrorMsg(msg))
}

// templateHint is added to template parse errors: the usual cause is a
// script that means {{ literally (docker --format, Helm, Jinja).
const templateHint = `the script is a Go template (job arguments are {{ index .Args 1 }}); write {{"{{"}} for a literal {{`

func templateErrorMsg(msg string) string {
	return fmt.Sprintf("%s; %s", msg, templateHint)
}
