package runlet

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// Device selectors and labels: how a run names its devices (`--on`, a job's
// `where: custom` list) and what a device is tagged with. This file is the
// only place their syntax is decided.
//
// A selector is one of:
//   - a device's name: pi-1
//   - a pattern of names, with * ? and [...] as in path.Match: pi-*
//   - a label: label:lab (the device has the label lab, whatever its value)
//     or label:room=attic (the label room with the value attic)
//
// A label is a key, or key=value; keys and values are 1 to 63 characters of
// letters, digits, '-', '_' and '.', keys starting and ending with a letter
// or digit (so that "key-" can mean "remove key", as kubectl has it).

// LabelPrefix starts a selector that names a label.
const LabelPrefix = "label:"

// MaxLabels is how many labels a device may have.
const MaxLabels = 32

// Selector is a parsed device selector.
type Selector struct {
	raw     string
	name    string // an exact name
	pattern string // a path.Match pattern of names
	key     string // a label's key
	value   string // and its value, when hasValue
	hasVal  bool
}

// ParseSelector parses one selector; an error says what is wrong with it.
func ParseSelector(s string) (Selector, error) {
	s = strings.TrimSpace(s)
	sel := Selector{raw: s}
	switch {
	case s == "":
		return sel, Errorf(EINVALID, "An empty device selector: give a name, a pattern such as pi-*, or label:KEY[=VALUE].")
	case strings.HasPrefix(s, LabelPrefix):
		k, v, hasVal := strings.Cut(strings.TrimPrefix(s, LabelPrefix), "=")
		if err := checkLabelPart("key", k, true); err != nil {
			return sel, Errorf(EINVALID, "The device selector %q: %s", s, err)
		}
		if hasVal {
			if err := checkLabelPart("value", v, false); err != nil {
				return sel, Errorf(EINVALID, "The device selector %q: %s", s, err)
			}
		}
		sel.key, sel.value, sel.hasVal = k, v, hasVal
	case strings.ContainsAny(s, "*?["):
		if _, err := path.Match(s, ""); err != nil {
			return sel, Errorf(EINVALID, "The device pattern %q is malformed (%v): use * and ? and [...] as in pi-*.", s, err)
		}
		sel.pattern = s
	default:
		sel.name = s
	}
	return sel, nil
}

// String is the selector as it was written.
func (s Selector) String() string { return s.raw }

// Exact reports whether the selector is a plain name, which must then
// name a device that exists.
func (s Selector) Exact() bool { return s.name != "" }

// Match reports whether d is selected.
func (s Selector) Match(d Device) bool {
	switch {
	case s.name != "":
		return d.Name == s.name
	case s.pattern != "":
		ok, _ := path.Match(s.pattern, d.Name)
		return ok
	case s.key != "":
		v, ok := d.Labels[s.key]
		return ok && (!s.hasVal || v == s.value)
	}
	return false
}

// Select returns the names of the devices the selectors name, in the
// order the selectors name them, each once. A name that is no device, or
// a pattern or label that matches none, is an error listing the devices
// there are: a run that silently reaches fewer devices than meant is
// worse than one that does not start.
func Select(selectors []string, devices []Device) ([]string, error) {
	var out, unknown, empty []string
	for _, item := range selectors {
		for _, raw := range strings.Split(item, ",") {
			if strings.TrimSpace(raw) == "" {
				continue
			}
			sel, err := ParseSelector(raw)
			if err != nil {
				return nil, err
			}
			n := 0
			for _, d := range devices {
				if sel.Match(d) {
					n++
					if !slices.Contains(out, d.Name) {
						out = append(out, d.Name)
					}
				}
			}
			switch {
			case n > 0:
			case sel.Exact():
				unknown = append(unknown, sel.String())
			default:
				empty = append(empty, sel.String())
			}
		}
	}
	if len(unknown) > 0 || len(empty) > 0 {
		names := make([]string, len(devices))
		for i, d := range devices {
			names[i] = d.Name
		}
		list := "none"
		if len(names) > 0 {
			list = strings.Join(names, ", ")
		}
		if len(unknown) > 0 {
			return nil, Errorf(EINVALID, "Unknown device %s; the devices of this workspace are: %s.", strings.Join(unknown, ", "), list)
		}
		return nil, Errorf(EINVALID, "No device matches %s; the devices of this workspace are: %s.", strings.Join(empty, ", "), list)
	}
	return out, nil
}

// ParseLabels reads labels written as key or key=value, each item possibly
// a comma-separated list, into a map (a bare key has the value "").
func ParseLabels(items []string) (map[string]string, error) {
	out := map[string]string{}
	for _, item := range items {
		for _, l := range strings.Split(item, ",") {
			if l = strings.TrimSpace(l); l == "" {
				continue
			}
			k, v, hasVal := strings.Cut(l, "=")
			if err := checkLabelPart("key", k, true); err != nil {
				return nil, Errorf(EINVALID, "The label %q: %s", l, err)
			}
			if hasVal {
				if err := checkLabelPart("value", v, false); err != nil {
					return nil, Errorf(EINVALID, "The label %q: %s", l, err)
				}
			}
			out[k] = v
		}
	}
	if len(out) > MaxLabels {
		return nil, Errorf(EINVALID, "%d labels; a device may have at most %d.", len(out), MaxLabels)
	}
	return out, nil
}

// CheckLabels checks labels that come whole (an API body).
func CheckLabels(labels map[string]string) error {
	if len(labels) > MaxLabels {
		return Errorf(EINVALID, "%d labels; a device may have at most %d.", len(labels), MaxLabels)
	}
	for k, v := range labels {
		if err := checkLabelPart("key", k, true); err != nil {
			return Errorf(EINVALID, "The label %q: %s", k, err)
		}
		if v != "" {
			if err := checkLabelPart("value", v, false); err != nil {
				return Errorf(EINVALID, "The label %q: %s", k+"="+v, err)
			}
		}
	}
	return nil
}

// FormatLabels writes labels as ParseLabels reads them, sorted.
func FormatLabels(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		if v := labels[k]; v != "" {
			keys[i] = k + "=" + v
		}
	}
	return strings.Join(keys, ",")
}

func checkLabelPart(what, s string, key bool) error {
	if s == "" || len(s) > 63 {
		return fmt.Errorf("a label's %s has 1 to 63 characters", what)
	}
	for i, r := range s {
		alnum := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
		edge := i == 0 || i == len(s)-1
		if !alnum && !((r == '-' || r == '_' || r == '.') && (!key || !edge)) {
			return fmt.Errorf("a label's %s has letters, digits, '-', '_' and '.' only, and a key starts and ends with a letter or digit", what)
		}
	}
	return nil
}
