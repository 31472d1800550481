package termtest

import "strings"

// Printed returns, in order, the values a job printed as lines
// "label=VALUE". Jobs print what they read with printf 'label=%q\n' "$v",
// quoted as the shell would take it back, so that a test compares it for
// equality: a search for "label=y" also matches "label=yy", a key that
// arrived twice. The label starts its line or follows a space (the
// "pi-1 | " of prefixed output); the value runs to the end of the line
// (without the "\r" of a terminal's line end). Wait for the job to end, or
// for a later line, before calling it: the last line may not be whole yet.
func Printed(text, label string) []string {
	var vals []string
	for line := range strings.SplitSeq(text, "\n") {
		line = strings.TrimRight(line, "\r")
		i := strings.Index(line, label+"=")
		if i < 0 || (i > 0 && line[i-1] != ' ') {
			continue
		}
		vals = append(vals, line[i+len(label)+1:])
	}
	return vals
}
