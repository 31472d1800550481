package jobspec

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"
)

// validName is what a job name may be made of.
var validName = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// maxNameLen keeps names printable in tables and usable in paths.
const maxNameLen = 128

// settingsKey is the reserved top-level key that is not a job.
const settingsKey = "settings"

// parser holds the state of one ParseWith call.
type parser struct {
	collector
	opt      Options
	file     *File
	work     int    // map entries read so far, aliases counted each time
	warnings Errors // what is valid but probably a mistake
}

// ParseWith reads a job file. filename is only used in error messages. The
// error, if any, is Errors: every problem found, in line order.
func ParseWith(filename string, src []byte, opt Options) (*File, error) {
	p := &parser{collector: collector{file: filename}, opt: opt}
	p.file = &File{Name: filename, Source: bytes.Clone(src)}
	if root := p.decode(src); root != nil {
		p.top(root)
	}
	if len(p.errs) > 0 {
		// The file is refused anyway: a warning may be what explains an
		// error (a job left without its script, mis-indented below it).
		for _, w := range p.warnings {
			p.add(w.Line, w.Job, w.Field, "%s", w.Msg)
		}
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	p.file.Warnings = p.warnings
	return p.file, nil
}

// yamlLine finds the line in a YAML syntax error ("yaml: line 3: ...").
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// decode returns the top node of the one YAML document in src, or nil when
// src holds nothing or is not YAML.
func (p *parser) decode(src []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if !errors.Is(err, io.EOF) {
			p.syntaxError(err)
		}
		return nil
	}
	var second yaml.Node
	switch err := dec.Decode(&second); {
	case err == nil:
		p.add(second.Line, "", "", "a job file holds one YAML document: remove the second \"---\" or put its jobs in the first")
	case !errors.Is(err, io.EOF):
		p.syntaxError(err)
	}
	if len(doc.Content) == 0 {
		return nil
	}
	return doc.Content[0]
}

func (p *parser) syntaxError(err error) {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		p.add(line, "", "", "not valid YAML: %s", m[2])
		return
	}
	// The YAML library leaves the line out when it is the first, for bad
	// bytes, which it counts by offset, and for unknown anchors.
	line := badByteLine(p.file.Source)
	if m := unknownAnchor.FindStringSubmatch(msg); m != nil {
		line = lineOf(p.file.Source, "*"+m[1])
	}
	p.add(line, "", "", "not valid YAML: %s", strings.TrimPrefix(msg, "yaml: "))
}

var unknownAnchor = regexp.MustCompile(`unknown anchor '(.*)' referenced`)

// lineOf returns the first line of src that holds s, or 1.
func lineOf(src []byte, s string) int {
	i := bytes.Index(src, []byte(s))
	if i < 0 {
		return 1
	}
	return bytes.Count(src[:i], []byte("\n")) + 1
}

// badByteLine returns the first line holding bytes YAML does not allow
// (invalid UTF-8 or control characters other than tab, CR and LF), or 1.
func badByteLine(src []byte) int {
	for i, line := range bytes.Split(src, []byte("\n")) {
		if !utf8.Valid(line) || bytes.ContainsFunc(line, func(r rune) bool {
			return r != '\t' && r != '\r' && (r < 0x20 || r == 0x7f)
		}) {
			return i + 1
		}
	}
	return 1
}

// top reads the map from job name to job.
func (p *parser) top(root *yaml.Node) {
	root = resolve(root)
	if isNull(root) {
		return
	}
	if root.Kind != yaml.MappingNode {
		p.add(root.Line, "", "", "the file must be a map from job name to job (like \"myjob: ls -lah\"), not %s", describe(root))
		return
	}
	seen := map[string]int{}
	var settings *yaml.Node
	above := "" // the key a mis-indented field probably belongs under
	for _, kv := range p.pairs(root, "", "") {
		if p.work > maxWork {
			break
		}
		name, ok := p.keyName(kv.key, "", "")
		if !ok {
			continue
		}
		if w := misindented(p.file.Name, kv.key.Line, name, above); w != nil {
			p.warnings = append(p.warnings, w)
		} else {
			above = name
		}
		if first, dup := seen[name]; dup {
			p.add(kv.key.Line, name, "", "defined twice (first at line %d): rename one", first)
			continue
		}
		seen[name] = kv.key.Line
		switch {
		case name == settingsKey:
			settings = kv.value
		case strings.HasPrefix(name, "."):
			// A hidden entry, as in GitLab CI: a place for YAML anchors
			// that jobs merge with "<<: *name". It is not a job.
		default:
			if j := p.job(name, kv.key, kv.value); j != nil {
				p.file.Jobs = append(p.file.Jobs, j)
			}
		}
	}
	if settings != nil {
		p.settings(settings)
	}
	for _, j := range p.file.Jobs {
		if j.Entrypoint == nil && p.file.Settings.Entrypoint != nil {
			j.Entrypoint = append([]string(nil), p.file.Settings.Entrypoint...)
		}
		if !j.timeoutSet {
			j.Timeout = p.file.Settings.Timeout
		}
	}
}

// keyName returns a mapping key as a string, or reports why it cannot be one.
func (p *parser) keyName(key *yaml.Node, job, field string) (string, bool) {
	if key.Kind != yaml.ScalarNode {
		p.add(key.Line, job, field, "a name must be a plain string, not %s", describe(key))
		return "", false
	}
	return key.Value, true
}
