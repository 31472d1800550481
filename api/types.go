package api

import (
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/jobspec"
)

// DeviceCodeRequest starts the device authorization flow (RFC 8628 3.1):
// what the device says about itself.
type DeviceCodeRequest struct {
	Name    string `json:"name"`
	OS      string `json:"os,omitempty"`
	Arch    string `json:"arch,omitempty"`
	Version string `json:"version,omitempty"`
}

// DeviceCodeResponse is RFC 8628 3.2: what the device shows the person and
// how it polls.
type DeviceCodeResponse struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int    `json:"expires_in"` // seconds
	Interval                int    `json:"interval"`   // seconds between polls
}

// DeviceTokenRequest polls for the outcome of a device code.
type DeviceTokenRequest struct {
	DeviceCode string `json:"device_code"`
	// Labels are the device's, as in EnrollRequest; given with the poll
	// that gets the credentials (a Runlet extension of RFC 8628).
	Labels []string `json:"labels,omitempty"`
}

// EnrollRequest signs a device in with an enrollment token, unattended.
type EnrollRequest struct {
	Token   string `json:"token"`
	Name    string `json:"name"`
	OS      string `json:"os,omitempty"`
	Arch    string `json:"arch,omitempty"`
	Version string `json:"version,omitempty"`
	// Labels tag the device for targeting (--on label:lab): each "key" or
	// "key=value", or a comma-separated list of them (runlet.ParseLabels).
	Labels []string `json:"labels,omitempty"`
}

// DeviceLabels replaces a device's labels (PUT /devices/{name}/labels).
type DeviceLabels struct {
	Labels map[string]string `json:"labels"`
}

// LoginRequest signs a user in with email and password.
type LoginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// LoginResponse carries a user session token.
type LoginResponse struct {
	Token   string    `json:"token"`
	Expires time.Time `json:"expires"`
}

// Whoami is who a token acts as.
type Whoami struct {
	Workspace     string `json:"workspace"`
	WorkspaceName string `json:"workspaceName"`
	Device        string `json:"device,omitempty"` // name, for a device token
	DeviceID      string `json:"deviceId,omitempty"`
	User          string `json:"user,omitempty"` // email, for a user token
	UserID        string `json:"userId,omitempty"`
}

// Jobs is a workspace's job set: its YAML source, its version (for
// If-Match), the parsed jobs and what in it is valid but probably a mistake
// (a field that lost its indentation and reads as a job).
type Jobs struct {
	Source   string          `json:"source"`
	Version  int64           `json:"version"`
	Jobs     []*jobspec.Job  `json:"jobs"`
	Warnings []jobspec.Error `json:"warnings,omitempty"`
}

// JobVersions is the history of a workspace's job set, newest (the
// current version) first.
type JobVersions struct {
	Versions []runlet.JobVersion `json:"versions"`
	// Kept is how many versions the server keeps; older ones are dropped.
	Kept int `json:"kept"`
}

// JobVersion is one version of the job set with its YAML source.
type JobVersion struct {
	runlet.JobVersion
	Source string `json:"source"`
}

// RollbackRequest makes an older version the job set again, as a new
// version.
type RollbackRequest struct {
	Version int64 `json:"version"`
}

// DeleteJobResponse is the version of the job set after a delete.
type DeleteJobResponse struct {
	Version int64 `json:"version"`
}

// RunRequest starts a job, a command or a shell: exactly one of Job,
// Command and Shell. Where and On override the job's own targeting; a
// command or a shell runs where they say, or on the device that asks.
type RunRequest struct {
	Job  string   `json:"job,omitempty"`
	Args []string `json:"args,omitempty"` // the ARGS after the job name: {{ index .Args 1 }} is Args[0]
	// Command is a program and its arguments, run instead of a job and
	// recorded under its command line ("$ uname -a").
	Command []string `json:"command,omitempty"`
	// Shell runs the device user's login shell on one online device.
	Shell bool          `json:"shell,omitempty"`
	Where jobspec.Where `json:"where,omitempty"`
	On    []string      `json:"on,omitempty"`
	Size  *runlet.Size  `json:"size,omitempty"`
}

// RunResponse names the execution and where it went.
type RunResponse struct {
	Execution string   `json:"execution"`
	Targets   []Target `json:"targets"`
}

// Target is one device of a run and the status it starts with: Pending,
// or Error when the server could not queue the job for the device (the
// broker's disk is full, say), and then Reason says why.
type Target struct {
	Device string `json:"device"`
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// ExecutionFilter selects executions; empty fields match all.
type ExecutionFilter struct {
	Job    string
	Device string
	Status string
	Limit  int
	Offset int
}

// Execution is one target of an execution as the API answers it (GET
// /executions, GET /executions/{id}): the record, and its outcome as people
// read it (runlet.Execution.Outcome: Stopped or Killed for a run ended on
// request, otherwise the status).
type Execution struct {
	runlet.Execution
	Outcome runlet.Outcome `json:"outcome"`
}

// ExecutionsOf is es as the API answers them, never nil.
func ExecutionsOf(es []runlet.Execution) []Execution {
	out := make([]Execution, len(es))
	for i, e := range es {
		out[i] = Execution{Execution: e, Outcome: e.Outcome()}
	}
	return out
}

// Device is a device of the workspace with its presence.
type Device struct {
	Name     string            `json:"name"`
	ID       string            `json:"id"`
	OS       string            `json:"os,omitempty"`
	Arch     string            `json:"arch,omitempty"`
	Version  string            `json:"version,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
	LastSeen time.Time         `json:"lastSeen,omitzero"`
	Online   bool              `json:"online"`
	CPU      float64           `json:"cpu"`    // percent, from the last heartbeat
	Memory   float64           `json:"memory"` // percent used
	Uptime   time.Duration     `json:"uptime"` // nanoseconds, as in wire.Heartbeat
	Running  int               `json:"running"`
	Queued   int               `json:"queued"`
	// Telemetry is the device's outbox of sensor readings, from its last
	// heartbeat; nil when it has taken none.
	Telemetry *DeviceTelemetry `json:"telemetry,omitempty"`
}

// DeviceTelemetry is a device's outbox of sensor readings: accepted and
// refused since its daemon started, waiting for the broker, and dropped
// (oldest first) because the outbox was full; Full: it is dropping now.
type DeviceTelemetry struct {
	Accepted uint64 `json:"accepted"`
	Refused  uint64 `json:"refused"`
	Pending  uint64 `json:"pending"`
	Dropped  uint64 `json:"dropped"`
	Full     bool   `json:"full"`
}

// ErrorBody is the JSON of every API error except the RFC 8628 token
// endpoint's: {"error": {...}}.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is an error's code (runlet.E*), message and, for invalid job
// files, every problem found.
type ErrorDetail struct {
	Code    string          `json:"code"`
	Message string          `json:"message"`
	Details []jobspec.Error `json:"details,omitempty"`
	// Removed is, for a job set refused because it would delete jobs
	// without prune=true, the jobs it would delete.
	Removed []string `json:"removed,omitempty"`
	// RetryAfter is, for too_many_attempts, the seconds to wait (also in
	// the Retry-After header).
	RetryAfter int `json:"retryAfter,omitempty"`
}

// OAuthErrorBody is RFC 8628 3.5's error response of POST /device/token.
type OAuthErrorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}
