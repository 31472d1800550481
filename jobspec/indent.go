package jobspec

import (
	"fmt"
	"slices"
)

// misindented returns the warning for a top-level key named like a job
// field ("script", "where", "entrypoint"…), or nil. Such a key is a job of
// its own, which is almost always a field that lost its indentation and
// would now run as a job. above is the nearest top-level key above it not
// named like a field ("" when there is none): the one it belongs under.
func misindented(file string, line int, name, above string) *Error {
	if !slices.Contains(jobFields, name) {
		return nil
	}
	msg := fmt.Sprintf("%q is the name of a job field, so this reads as a job of its own: ", name)
	switch above {
	case "":
		msg += fmt.Sprintf("a job's fields go indented under its name (like \"myjob:\\n  %s: ...\")", name)
	case settingsKey:
		msg += fmt.Sprintf("it is probably mis-indented under %q above: indent it like the entries of %s", above, above)
	default:
		msg += fmt.Sprintf("it is probably a field of job %q above that lost its indentation: indent it like the other fields of %s", above, above)
	}
	return &Error{File: file, Line: line, Job: name, Msg: msg + ", or rename the job if it is meant to be one"}
}
