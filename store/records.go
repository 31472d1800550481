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

// Page sizes of ListExecutions.
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
