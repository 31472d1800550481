package jobspec

import (
	"fmt"
	"sort"
	"strings"

	"github.com/runlet/runlet"
)

// Error is one problem found in a job file: where it is and what to do.
type Error struct {
	File  string `json:"file"`
	Line  int    `json:"line,omitempty"`  // 1-based; 0 when the problem has no line
	Job   string `json:"job,omitempty"`   // the job it concerns, if any
	Field string `json:"field,omitempty"` // the field it concerns, if any
	Msg   string `json:"message"`
}

// Error prints FILE:LINE: job "x": field "where": message, leaving out the
// parts that are unknown.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Job != "" {
		fmt.Fprintf(&b, "job %q: ", e.Job)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, "field %q: ", e.Field)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one job file, in line order. Parse
// returns it as its error so that a person fixes them all in one go.
type Errors []*Error

// Error prints one problem a line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap gives errors.Is and errors.As each problem.
func (es Errors) Unwrap() []error {
	errs := make([]error, len(es))
	for i, e := range es {
		errs[i] = e
	}
	return errs
}

// As makes a bad job file an invalid-input error for runlet.ErrorCode and
// runlet.ErrorMessage, so that the HTTP and CLI layers answer 400 and show
// every problem instead of "Internal error.".
func (es Errors) As(target any) bool {
	p, ok := target.(**runlet.Error)
	if !ok {
		return false
	}
	*p = &runlet.Error{Code: runlet.EINVALID, Message: es.Error()}
	return true
}

// maxErrors bounds the problems kept for one file: past it a person fixes
// the first ones before reading more, and a hostile file cannot grow the
// list without end.
const maxErrors = 200

// collector gathers the problems of one file.
type collector struct {
	file    string
	errs    Errors
	dropped int
}

func (c *collector) add(line int, job, field, format string, args ...any) {
	if c.full() {
		c.dropped++
		return
	}
	if len(job) > 2*maxNameLen { // a hostile name is not worth printing whole
		job = shorten(job)
	}
	c.errs = append(c.errs, &Error{File: c.file, Line: line, Job: job, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// full reports whether further problems are only counted.
func (c *collector) full() bool { return len(c.errs) >= maxErrors }

// err returns the problems sorted by line, or nil when there are none.
func (c *collector) err() error {
	if len(c.errs) == 0 {
		return nil
	}
	sort.SliceStable(c.errs, func(i, j int) bool { return c.errs[i].Line < c.errs[j].Line })
	if c.dropped > 0 {
		c.errs = append(c.errs, &Error{File: c.file, Msg: fmt.Sprintf("and %d more problems not shown: fix these first", c.dropped)})
	}
	return c.errs
}
