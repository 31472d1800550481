package apiclient

import (
	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/jobspec"
)

// OAuthError is an RFC 8628 answer of the token endpoint other than
// success. Pending and slow_down mean "poll again"; the others are final.
type OAuthError struct {
	Code        string
	Description string
}

func (e *OAuthError) Error() string {
	if e.Description != "" {
		return e.Description
	}
	return "device authorization: " + e.Code
}

// Unwrap gives the final answers a runlet code, so the CLI reports them
// like any other error.
func (e *OAuthError) Unwrap() error {
	switch e.Code {
	case api.AccessDenied:
		return runlet.Errorf(runlet.EFORBIDDEN, "%s", e.Error())
	case api.ExpiredToken:
		return runlet.Errorf(runlet.EUNAUTHORIZED, "%s", e.Error())
	}
	return nil
}

// ValidationError is an invalid-job-file answer: the *runlet.Error (code
// invalid, every problem in the message, one a line) plus each problem as
// a record. errors.As(err, new(*runlet.Error)) finds the former.
type ValidationError struct {
	Err     *runlet.Error
	Details []jobspec.Error
}

func (e *ValidationError) Error() string { return e.Err.Message }

// Unwrap returns the *runlet.Error.
func (e *ValidationError) Unwrap() error { return e.Err }

// RemovalError is the refusal of a job file that lacks jobs of the stored
// set, sent without prune: the *runlet.Error (code conflict) and the jobs
// it would delete. Send it again with PutJobsPrune to delete them.
type RemovalError struct {
	Err  *runlet.Error
	Jobs []string
}

func (e *RemovalError) Error() string { return e.Err.Message }

// Unwrap returns the *runlet.Error.
func (e *RemovalError) Unwrap() error { return e.Err }
