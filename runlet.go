// Package runlet holds the domain of Runlet: executions and their status, and
// the application errors every layer shares. It imports nothing outside the
// standard library; the packages around it (jobspec, runner, bus, store,
// server, daemon, cli) depend on it, never the other way round.
package runlet

import (
	"errors"
	"fmt"
	"time"
)

// Status is the state of one execution (R-JOB-8, the seed's enum).
type Status string

const (
	StatusPending  Status = "Pending"
	StatusRunning  Status = "Running"
	StatusError    Status = "Error"
	StatusFinished Status = "Finished"
)

// Final reports whether no further transition can follow s.
func (s Status) Final() bool { return s == StatusError || s == StatusFinished }

// Valid reports whether s is one of the four statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusPending, StatusRunning, StatusError, StatusFinished:
		return true
	}
	return false
}

// Execution is one run of a job on one device (R-JOB-8).
type Execution struct {
	ID        string    `json:"id"`
	Job       string    `json:"job"`
	Client    string    `json:"client,omitempty"` // who started it: a device or a user
	Device    string    `json:"device,omitempty"` // where it runs
	Status    Status    `json:"status"`
	Created   time.Time `json:"created"`
	Scheduled time.Time `json:"scheduled,omitzero"`
	Started   time.Time `json:"started,omitzero"`
	Finished  time.Time `json:"finished,omitzero"`
	ExitCode  int       `json:"exitCode"`
	Signal    string    `json:"signal,omitempty"` // the signal that ended the process, if any
	Killed    bool      `json:"killed"`           // a stop or kill was asked for
	Reason    string    `json:"reason,omitempty"` // why an execution ended in Error
	// Workspace and Expires are the server's: the workspace the
	// execution belongs to, and when a Pending run not started by then
	// ends as Error (zero: never). A device leaves both empty.
	Workspace string    `json:"workspace,omitempty"`
	Expires   time.Time `json:"expires,omitzero"`
}

// Duration is how long the execution ran, or zero if it has not both
// started and finished.
func (e Execution) Duration() time.Duration {
	if e.Started.IsZero() || e.Finished.IsZero() {
		return 0
	}
	return e.Finished.Sub(e.Started)
}

// Application error codes. Every layer that must decide on an error (HTTP
// status, CLI exit code, retry) looks at the code, not at the text.
const (
	ECONFLICT       = "conflict"
	EINTERNAL       = "internal"
	EINVALID        = "invalid"
	ENOTFOUND       = "not_found"
	EUNAUTHORIZED   = "unauthorized"
	EFORBIDDEN      = "forbidden"
	EUNAVAILABLE    = "unavailable"
	ENOTIMPLEMENTED = "not_implemented"
	// ETOOMANY: too many failed attempts (passwords, codes); wait, then
	// try again.
	ETOOMANY = "too_many_attempts"
	// EFULL: a disk has no space left (see DiskFull); free space, then
	// try again.
	EFULL = "disk_full"
)

// Error is an application error: a code for programs and a message for the
// person who reads it.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of the first *Error in err's chain, or
// "Internal error." for any other error.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// Size is a terminal window size in character cells.
type Size struct {
	Cols uint16 `json:"cols"`
	Rows uint16 `json:"rows"`
}

// DefaultSize is a terminal's size when none is given.
var DefaultSize = Size{Cols: 80, Rows: 24}
