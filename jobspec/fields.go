package jobspec

import (
	"errors"
	"fmt"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"

	"github.com/runlet/runlet"
)

// jobFields are the fields of a job, in the order error messages list them.
var jobFields = []string{"description", "showDuration", "script", "cwd", "where", "whereCustom", "every", "catchup", "entrypoint", "expires", "timeout"}

// jobNodes remembers where a job's fields are, for checks across fields.
type jobNodes struct {
	key, script, where, whereCustom, catchup *yaml.Node
}

// job reads one job: a string (the script) or a map of fields. It returns
// nil when the job is too broken to keep; problems are collected either way.
func (p *parser) job(name string, key, value *yaml.Node) *Job {
	p.checkName(name, key)
	j := &Job{Name: name, Where: WhereLocal, Expires: DefaultExpires, Line: key.Line}
	n := jobNodes{key: key}
	switch {
	case value.Kind == yaml.ScalarNode && !isNull(value):
		j.Script, n.script = value.Value, value
	case value.Kind == yaml.MappingNode:
		p.jobFields(j, &n, value)
	case isNull(value):
		p.add(key.Line, name, "script", "the job is empty: give the commands to run, as \"%s: ls -lah\" or under script:", name)
		return nil
	default:
		p.add(value.Line, name, "", "a job is a script (\"%s: ls -lah\") or a map of fields (%s), not %s", name, strings.Join(jobFields, ", "), describe(value))
		return nil
	}
	p.checkJob(j, n)
	return j
}

func (p *parser) checkName(name string, key *yaml.Node) {
	switch {
	case !validName.MatchString(name):
		p.add(key.Line, name, "", "bad job name: use only letters, digits, '.', '_' and '-' (like rpi-htop)")
	case len(name) > maxNameLen:
		p.add(key.Line, name, "", "the job name is %d characters long: keep it to %d", len(name), maxNameLen)
	}
}

func (p *parser) jobFields(j *Job, n *jobNodes, m *yaml.Node) {
	seen := map[string]int{}
	for _, kv := range p.pairs(m, j.Name, "") {
		field, ok := p.keyName(kv.key, j.Name, "")
		if !ok {
			continue
		}
		if first, dup := seen[field]; dup {
			p.add(kv.key.Line, j.Name, field, "given twice (first at line %d): keep one", first)
			continue
		}
		seen[field] = kv.key.Line
		p.jobField(j, n, field, kv)
	}
}

func (p *parser) jobField(j *Job, n *jobNodes, field string, kv pair) {
	v := kv.value
	switch field {
	case "description":
		j.Description, _ = p.str(v, j.Name, field)
	case "showDuration":
		j.ShowDuration = p.boolean(v, j.Name, field)
	case "script":
		j.Script, _ = p.str(v, j.Name, field)
		n.script = v
	case "cwd":
		j.Cwd, _ = p.str(v, j.Name, field)
	case "where":
		j.Where, n.where = p.where(v, j.Name), v
	case "whereCustom":
		j.WhereCustom, n.whereCustom = p.devices(v, j.Name), v
	case "every":
		j.Every, j.Schedule = p.every(v, j.Name)
	case "catchup":
		j.Catchup, n.catchup = p.catchup(v, j.Name), v
	case "entrypoint":
		j.Entrypoint = p.entrypoint(v, j.Name, field)
	case "expires":
		j.Expires = p.expires(v, j.Name)
	case "timeout":
		j.Timeout, j.timeoutSet = p.timeout(v, j.Name, field)
	default:
		p.unknownField(kv.key, j.Name, field, jobFields)
	}
}

func (p *parser) unknownField(key *yaml.Node, job, field string, allowed []string) {
	if p.full() {
		p.dropped++
		return
	}
	msg := "unknown field; allowed: " + strings.Join(allowed, ", ")
	if s := suggest(key.Value, allowed); s != "" {
		msg = fmt.Sprintf("unknown field: did you mean %q? Allowed: %s", s, strings.Join(allowed, ", "))
	}
	p.add(key.Line, job, field, "%s", msg)
}

// checkJob applies the rules that involve more than one field.
func (p *parser) checkJob(j *Job, n jobNodes) {
	switch {
	case n.script == nil:
		p.add(n.key.Line, j.Name, "script", "no script: give the commands to run under script:")
	case strings.TrimSpace(j.Script) == "":
		p.add(n.script.Line, j.Name, "script", "the script is empty: give the commands to run")
	default:
		p.template(j, n.script)
	}
	switch {
	case j.Where == WhereCustom && len(j.WhereCustom) == 0 && n.whereCustom == nil:
		p.add(n.where.Line, j.Name, "where", "where: custom needs whereCustom, the list of devices to run on (like whereCustom: [pi-1, pi-2])")
	case j.Where == WhereCustom && len(j.WhereCustom) == 0:
		p.add(n.whereCustom.Line, j.Name, "whereCustom", "whereCustom names no device: list the devices to run on")
	case j.Where != WhereCustom && n.whereCustom != nil:
		p.add(n.whereCustom.Line, j.Name, "whereCustom", "whereCustom applies only with where: custom (this job has where: %s); add where: custom or remove whereCustom", j.Where)
	}
	switch {
	case j.Every == "" && n.catchup != nil:
		p.add(n.catchup.Line, j.Name, "catchup", "catchup applies only to a job with a schedule: add every: or remove catchup")
		j.Catchup = ""
	case j.Every != "" && j.Catchup == "":
		j.Catchup = CatchupOne
	}
}

// template parses the script as a Go template, reporting errors at the
// script's line in the file.
func (p *parser) template(j *Job, script *yaml.Node) {
	if !p.spend(1+len(j.Script)/64, script.Line) {
		return
	}
	t, err := parseTemplate(j.Name, j.Script)
	if err == nil {
		j.tmpl = t
		return
	}
	line, msg := splitTemplateError(err)
	base := script.Line
	if script.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		base++ // a block scalar's text starts on the line after | or >
	}
	if line > 0 {
		base += line - 1
	}
	p.add(base, j.Name, "script", "%s", templateErrorMsg(msg))
}

// str reads a scalar as a string; null is "".
func (p *parser) str(v *yaml.Node, job, field string) (string, bool) {
	if isNull(v) {
		return "", true
	}
	if v.Kind != yaml.ScalarNode {
		p.add(v.Line, job, field, "want a string, not %s", describe(v))
		return "", false
	}
	if !p.spend(1+len(v.Value)/64, v.Line) {
		return "", false
	}
	return v.Value, true
}

// boolean reads true or false (and YAML 1.1's yes/no/on/off).
func (p *parser) boolean(v *yaml.Node, job, field string) bool {
	if v.Kind == yaml.ScalarNode {
		switch strings.ToLower(v.Value) {
		case "true", "yes", "on":
			return true
		case "false", "no", "off":
			return false
		}
	}
	p.add(v.Line, job, field, "want true or false, not %s", describe(v))
	return false
}

func (p *parser) where(v *yaml.Node, job string) Where {
	s, ok := p.str(v, job, "where")
	if !ok {
		return WhereLocal
	}
	switch w := Where(strings.ToLower(strings.TrimSpace(s))); w {
	case WhereLocal, WhereAll, WhereAny, WhereCustom:
		return w
	case "":
		return WhereLocal
	}
	p.add(v.Line, job, "where", "%q is not a place: use local (this device, the default), all, any or custom", shorten(s))
	return WhereLocal
}

// devices reads whereCustom: a list of device names, or one string, in
// which commas also separate names ("pi-1,pi-2"). Blanks around names and
// empty pieces are dropped, and each device is listed once.
func (p *parser) devices(v *yaml.Node, job string) []string {
	items := []*yaml.Node{v}
	if v.Kind == yaml.SequenceNode {
		items = v.Content
	}
	var out []string
	seen := map[string]bool{}
	for _, item := range items {
		s, ok := p.str(resolve(item), job, "whereCustom")
		if !ok {
			continue
		}
		for _, name := range strings.Split(s, ",") {
			if name = strings.TrimSpace(name); name != "" && !seen[name] {
				// A name, a pattern (pi-*) or a label (label:lab), as
				// --on takes them: runlet.ParseSelector says which.
				if _, err := runlet.ParseSelector(name); err != nil {
					p.add(item.Line, job, "whereCustom", "%s", runlet.ErrorMessage(err))
					continue
				}
				seen[name] = true
				out = append(out, name)
			}
		}
	}
	return out
}

func (p *parser) every(v *yaml.Node, job string) (string, *Schedule) {
	s, ok := p.str(v, job, "every")
	if !ok || strings.TrimSpace(s) == "" {
		return "", nil
	}
	sched, err := ParseSchedule(s)
	if err != nil {
		p.add(v.Line, job, "every", "%s", message(err))
		return s, nil
	}
	sched = sched.In(p.opt.Location)
	if !p.opt.Saved.IsZero() {
		sched = sched.AnchoredAt(p.opt.Saved)
	}
	return sched.String(), sched
}

// catchup reads what a scheduled job does about missed ticks: one or none.
func (p *parser) catchup(v *yaml.Node, job string) Catchup {
	s, ok := p.str(v, job, "catchup")
	if !ok {
		return ""
	}
	switch c := Catchup(strings.ToLower(strings.TrimSpace(s))); c {
	case CatchupOne, CatchupNone:
		return c
	case "":
		return ""
	}
	p.add(v.Line, job, "catchup", "%q is not a catch-up: use one (after downtime, run the latest missed tick once; the default) or none (run again at the next tick)", shorten(s))
	return ""
}

// entrypoint reads a command as a string split like a shell would, or as a
// list of words ([/bin/zsh, -l]).
func (p *parser) entrypoint(v *yaml.Node, job, field string) []string {
	var words []string
	switch v.Kind {
	case yaml.SequenceNode:
		for _, item := range v.Content {
			if s, ok := p.str(resolve(item), job, field); ok {
				words = append(words, s)
			}
		}
	default:
		s, ok := p.str(v, job, field)
		if !ok {
			return nil
		}
		var err error
		if words, err = SplitCommand(s); err != nil {
			p.add(v.Line, job, field, "%v", err)
			return nil
		}
	}
	if len(words) == 0 || words[0] == "" {
		p.add(v.Line, job, field, "the entrypoint is empty: name a program (like /bin/zsh -l), or remove it for the default")
		return nil
	}
	return words
}

func (p *parser) expires(v *yaml.Node, job string) time.Duration {
	s, ok := p.str(v, job, "expires")
	if !ok || strings.TrimSpace(s) == "" {
		return DefaultExpires
	}
	d, err := ParseDuration(s)
	if err != nil {
		p.add(v.Line, job, "expires", "%v (how long a run waits for an offline device; default 24h)", err)
		return DefaultExpires
	}
	if d <= 0 {
		p.add(v.Line, job, "expires", "must be more than zero, like 30m, 24h or 7d")
		return DefaultExpires
	}
	return d
}

// timeout reads a run's time limit (timeout: or settings.timeout): a
// duration as expires takes it, or none for no limit. set is false when
// the field is empty or wrong, so that settings.timeout applies.
func (p *parser) timeout(v *yaml.Node, job, field string) (d time.Duration, set bool) {
	s, ok := p.str(v, job, field)
	if !ok || strings.TrimSpace(s) == "" {
		return 0, false
	}
	if strings.EqualFold(strings.TrimSpace(s), "none") {
		return 0, true
	}
	d, err := ParseDuration(s)
	if err != nil {
		p.add(v.Line, job, field, "%v, or none (how long a run may take before it is stopped)", err)
		return 0, false
	}
	if d <= 0 {
		p.add(v.Line, job, field, "must be more than zero, like 90s, 10m or 2h; write none for no limit")
		return 0, false
	}
	return d, true
}

// message is the text of an error for a person, without a code.
func message(err error) string {
	var e *runlet.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}
