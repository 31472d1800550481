package runlet

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// Run is one start of a job as a person reads the activity: every target
// of one execution ID, whoever started it and when. Its targets share the
// ID, the job and the client; each has its own device and outcome.
type Run struct {
	ID      string
	Job     string
	Client  string    // who started it: a user's email, a device's name, "scheduler"
	Created time.Time // when it was started, the order of the activity
	Targets []Execution
}

// Started is when the first target started running, or zero if none has.
func (r Run) Started() time.Time {
	var t time.Time
	for _, e := range r.Targets {
		if !e.Started.IsZero() && (t.IsZero() || e.Started.Before(t)) {
			t = e.Started
		}
	}
	return t
}

// Finished is when the last target ended, or zero while one has not.
func (r Run) Finished() time.Time {
	var t time.Time
	for _, e := range r.Targets {
		if !e.Status.Final() {
			return time.Time{}
		}
		if e.Finished.After(t) {
			t = e.Finished
		}
	}
	return t
}

// Outcome sums up the outcomes of the targets: Running while one runs,
// else Pending while one waits, else the first of Error, Killed and
// Stopped that a target ended with, else Finished (whatever the exit
// codes, which each target keeps).
func (r Run) Outcome() Outcome {
	has := map[Outcome]bool{}
	for _, e := range r.Targets {
		has[e.Outcome()] = true
	}
	for _, o := range []Outcome{OutcomeRunning, OutcomePending, OutcomeError, OutcomeKilled, OutcomeStopped, OutcomeFinished} {
		if has[o] {
			return o
		}
	}
	return OutcomePending
}

// Cursor is the place of r in the activity, for the page after it.
func (r Run) Cursor() RunCursor { return RunCursor{Created: r.Created, ID: r.ID} }

// RunCursor is a place in the activity, which lists runs newest first by
// Created, then by ID: the page after a cursor starts with the run that
// comes next in that order. Runs added meanwhile are newer, so they never
// shift a later page as an offset would (no run twice, none skipped).
type RunCursor struct {
	Created time.Time
	ID      string
}

// IsZero reports whether c is no place: the first page, or no more.
func (c RunCursor) IsZero() bool { return c.ID == "" && c.Created.IsZero() }

// String encodes c for a URL; ParseRunCursor reads it back. The form is
// not a promise: clients pass it back as it is.
func (c RunCursor) String() string {
	if c.IsZero() {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.Created.UnixMicro(), 10) + "/" + c.ID))
}

// maxCursor bounds what ParseRunCursor reads: an ID and a time take far
// less.
const maxCursor = 256

// ParseRunCursor reads a cursor made by RunCursor.String; "" is the zero
// cursor. EINVALID: anything else.
func ParseRunCursor(s string) (RunCursor, error) {
	if s == "" {
		return RunCursor{}, nil
	}
	bad := Errorf(EINVALID, "This cursor is not one the server gave: ask for the first page again, without a cursor.")
	if len(s) > maxCursor {
		return RunCursor{}, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return RunCursor{}, bad
	}
	micros, id, ok := strings.Cut(string(b), "/")
	us, err := strconv.ParseInt(micros, 10, 64)
	if !ok || err != nil || us <= 0 || id == "" || CheckText("The ID", id, 0) != nil {
		return RunCursor{}, bad
	}
	return RunCursor{Created: time.UnixMicro(us).UTC(), ID: id}, nil
}
