package store

import (
	"time"

	"github.com/runlet/runlet"
)

// UserUpdate names the fields UpdateUser changes; nil leaves one as is.
type UserUpdate struct {
	Name         *string
	AvatarURL    *string
	Type         *runlet.UserType
	PasswordHash *string
}

// DeviceUpdate names the fields UpdateDevice changes; nil leaves one as is.
type DeviceUpdate struct {
	Name    *string
	OS      *string
	Arch    *string
	Version *string
	Labels  map[string]string // replaces all labels when not nil
}

// ExecutionFilter selects runs for ListExecutions; empty fields match all.
type ExecutionFilter struct {
	Job    string
	Device string
	Status runlet.Status
	Limit  int // 0: DefaultLimit; at most MaxLimit
	Offset int
}

// RunFilter selects runs for ListRuns; empty fields match all. A run
// that matches is listed with every one of its targets.
type RunFilter struct {
	Job    string
	Client string // who started it
	// Device: the runs with a target on this device.
	Device string
	// Outcome: the runs with a target of this outcome
	// (runlet.Execution.Outcome).
	Outcome runlet.Outcome
	// From and To: the runs created at or after From and before To.
	From, To time.Time
	// After: the runs after this place in the list, for the next page.
	After runlet.RunCursor
	Limit int // 0: DefaultLimit; at most MaxLimit
}

// RunPage is one page of ListRuns: the runs, newest first, and the cursor
// of the page after it (zero when this is the last).
type RunPage struct {
	Runs []runlet.Run
	Next runlet.RunCursor
}

// Page sizes of ListExecutions and ListRuns.
const (
	DefaultLimit = 50
	MaxLimit     = 1000
)

// StatusUpdate is a status message from a device about one run.
type StatusUpdate struct {
	Status   runlet.Status
	Time     time.Time // when it happened on the device; zero: the store's Now
	ExitCode int
	Signal   string
	Reason   string
}

// AuditKind says what an audit event records.
type AuditKind string

const (
	// AuditAccountLocked: failed passwords for one account (an email, known
	// or not) started a lockout.
	AuditAccountLocked AuditKind = "account_locked"
	// AuditAddressLocked: failed passwords from one source address started
	// a lockout.
	AuditAddressLocked AuditKind = "address_locked"
	// AuditGuessesLocked: unknown device codes, user codes or tokens from
	// one source address started a lockout.
	AuditGuessesLocked AuditKind = "guesses_locked"
	// AuditAdminChange: an admin changed a user, a sensor, a device or
	// their configuration through the admin API (R-TEL-7). User is who,
	// Subject what ("sensor 12", "user ann@example.com"), Detail the
	// change, never a secret.
	AuditAdminChange AuditKind = "admin_change"
)

// AuditEvent is one security event kept for the operator.
type AuditEvent struct {
	ID        string    `json:"id"`
	Workspace string    `json:"workspace,omitempty"` // empty for server-wide events
	Kind      AuditKind `json:"kind"`
	Subject   string    `json:"subject,omitempty"` // what it is about: an email, an address
	User      string    `json:"user,omitempty"`    // the user ID, when the subject is a known user
	Source    string    `json:"source,omitempty"`  // the address of the client that caused it
	Detail    string    `json:"detail,omitempty"`  // a sentence for people
	Time      time.Time `json:"time"`
}

// JobsSave is a new version of a workspace's job set, for SaveJobs.
type JobsSave struct {
	Source []byte
	// Expect is the version it replaces: 0 when there is none yet,
	// AnyVersion for whatever it is.
	Expect int64
	// By is who saves it: a user's email or a device's name; "" unknown.
	By string
	// Jobs is how many jobs Source defines, for the history (the store does
	// not parse it); -1 when unknown.
	Jobs int
	// Note says why, when it is not an edit: "rollback to version 3".
	Note string
}

// Lease is a named lease (Leases): one holder at a time, until it expires.
// The scheduler holds "scheduler"; other single-leader work takes names of
// its own.
type Lease struct {
	Name   string
	Holder string
	// Acquired is when the holder took it (renewals keep it); Expires is
	// when another may take it unless the holder renews it before.
	Acquired time.Time
	Expires  time.Time
}

// TickHistory is how many ticks of each job the store keeps: a finished
// tick drops the job's ticks older than the last TickHistory.
const TickHistory = 100
