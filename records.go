package runlet

import "time"

// The records below are what the server stores and the API returns: the
// store keeps them, the server and the client exchange them. They belong
// to the domain so that neither the client nor the CLI imports the store.

// Workspace is a tenant: its devices, users and jobs see only each other.
type Workspace struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
}

// UserType is the plan of a user account.
type UserType string

const (
	UserBasic UserType = "basic"
	UserPro   UserType = "pro"
)

// Valid reports whether t is a known type.
func (t UserType) Valid() bool { return t == UserBasic || t == UserPro }

// User is a person with an account on the server.
type User struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"` // unique, compared case-insensitively
	Name      string    `json:"name"`
	AvatarURL string    `json:"avatarURL,omitempty"`
	Type      UserType  `json:"type"`
	Created   time.Time `json:"created"`
	// PasswordHash is the encoded hash (argon2id or bcrypt), empty for a
	// user who cannot sign in with a password.
	PasswordHash string `json:"-"`
}

// Role is what a member may do in a workspace.
type Role string

const (
	RoleOwner  Role = "owner"
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleOwner || r == RoleAdmin || r == RoleMember }

// Membership says that a user belongs to a workspace.
type Membership struct {
	Workspace string    `json:"workspace"`
	User      string    `json:"user"`
	Role      Role      `json:"role"`
	Created   time.Time `json:"created"`
}

// Device is a machine signed in to a workspace, running the daemon.
type Device struct {
	ID        string            `json:"id"`
	Workspace string            `json:"workspace"`
	Name      string            `json:"name"` // unique among the workspace's unrevoked devices
	OS        string            `json:"os,omitempty"`
	Arch      string            `json:"arch,omitempty"`
	Version   string            `json:"version,omitempty"` // of runlet on the device
	Labels    map[string]string `json:"labels,omitempty"`
	LastSeen  time.Time         `json:"lastSeen,omitzero"`
	Created   time.Time         `json:"created"`
	Revoked   bool              `json:"revoked"`
}

// TokenKind says what a token authenticates.
type TokenKind string

const (
	TokenSession    TokenKind = "session"    // a user's browser session
	TokenDevice     TokenKind = "device"     // a signed-in device's API token
	TokenEnrollment TokenKind = "enrollment" // signs devices in unattended
	TokenAPI        TokenKind = "api"        // a user's token for scripts
	TokenInvite     TokenKind = "invite"     // lets an invited user set a password, once
)

// Valid reports whether k is a known kind.
func (k TokenKind) Valid() bool {
	switch k {
	case TokenSession, TokenDevice, TokenEnrollment, TokenAPI, TokenInvite:
		return true
	}
	return false
}

// Token is a bearer credential. The secret itself is never stored.
type Token struct {
	ID        string    `json:"id"`
	Workspace string    `json:"workspace,omitempty"` // empty only for sessions
	Kind      TokenKind `json:"kind"`
	Hash      []byte    `json:"-"`       // HashSecret of the secret
	Subject   string    `json:"subject"` // the user or device it acts as
	Created   time.Time `json:"created"`
	Expires   time.Time `json:"expires,omitzero"` // zero: never
	Revoked   bool      `json:"revoked"`
}

// Active reports whether t may be used at now.
func (t Token) Active(now time.Time) bool {
	return !t.Revoked && (t.Expires.IsZero() || now.Before(t.Expires))
}

// DeviceCodeStatus is where a device authorization grant stands.
type DeviceCodeStatus string

const (
	DeviceCodePending  DeviceCodeStatus = "pending"
	DeviceCodeApproved DeviceCodeStatus = "approved"
	DeviceCodeDenied   DeviceCodeStatus = "denied"
	DeviceCodeConsumed DeviceCodeStatus = "consumed"
)

// DeviceCode is one RFC 8628 grant: the device polls with the device code
// (stored hashed), the user types the user code on the approval page.
type DeviceCode struct {
	Hash       []byte           `json:"-"` // HashSecret of the device_code
	UserCode   string           `json:"userCode"`
	Workspace  string           `json:"workspace,omitempty"` // set on approval
	DeviceName string           `json:"deviceName"`          // the name the device asked for
	Status     DeviceCodeStatus `json:"status"`
	ApprovedBy string           `json:"approvedBy,omitempty"` // the user who approved or denied
	Created    time.Time        `json:"created"`
	Expires    time.Time        `json:"expires"`
	Interval   time.Duration    `json:"interval"` // least time between polls, stored in seconds
	LastPoll   time.Time        `json:"lastPoll,omitzero"`
}

// Expired reports whether c can no longer be approved or consumed at now.
func (c DeviceCode) Expired(now time.Time) bool { return !now.Before(c.Expires) }

// JobVersion is one saved version of a workspace's job set, as its history
// lists it; the source is read one version at a time.
type JobVersion struct {
	Version int64     `json:"version"`
	Saved   time.Time `json:"saved"`
	By      string    `json:"by,omitempty"` // a user's email or a device's name; empty when unknown
	// Jobs is how many jobs the version defines; -1 when unknown.
	Jobs int `json:"jobs"`
	// Note says why it was saved when it was not an edit ("rollback to
	// version 3").
	Note string `json:"note,omitempty"`
}
