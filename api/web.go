package api

import "time"

// The types of the endpoints the web UI uses: browser sessions, device
// approval and the settings pages.

// Session is a signed-in browser (GET/POST /session, POST
// /invites/accept). CSRF goes in the X-CSRF-Token header of every cookie
// request that changes something.
type Session struct {
	User      UserInfo      `json:"user"`
	Workspace WorkspaceInfo `json:"workspace"`
	Role      string        `json:"role"` // "admin" or "member"
	CSRF      string        `json:"csrf"`
	Expires   time.Time     `json:"expires"`
}

// UserInfo is a user as the UI shows them.
type UserInfo struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
}

// WorkspaceInfo is a workspace as the UI shows it (GET/PATCH /workspace).
type WorkspaceInfo struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Approval is a pending device sign-in (GET /device/approval).
type Approval struct {
	Code    string    `json:"code"`
	Device  string    `json:"device"`
	OS      string    `json:"os,omitempty"`
	Arch    string    `json:"arch,omitempty"`
	Expires time.Time `json:"expires"`
}

// ApprovalRequest answers a device sign-in (POST /device/approval).
type ApprovalRequest struct {
	Code   string `json:"code"`
	Action string `json:"action"` // "approve" or "deny"
}

// Member is a user of the workspace (GET /members). Pending: invited and
// has not set a password yet.
type Member struct {
	User    UserInfo  `json:"user"`
	Role    string    `json:"role"`
	Created time.Time `json:"created"`
	Pending bool      `json:"pending"`
}

// InviteRequest adds a member by email (POST /members).
type InviteRequest struct {
	Email string `json:"email"`
	Role  string `json:"role"`
}

// InviteResponse is the member added and, for a user who has no password
// yet, the one-time link to set one (empty otherwise).
type InviteResponse struct {
	Member    Member `json:"member"`
	InviteURL string `json:"inviteURL,omitempty"`
}

// AcceptInviteRequest sets the invited user's name and password (POST
// /invites/accept).
type AcceptInviteRequest struct {
	Token    string `json:"token"`
	Name     string `json:"name"`
	Password string `json:"password"`
}

// EnrollmentToken is an enrollment token as listed; the secret is shown
// only once, when created. Hint is its first 8 characters.
type EnrollmentToken struct {
	ID        string    `json:"id"`
	Created   time.Time `json:"created"`
	Expires   time.Time `json:"expires,omitzero"` // zero: never
	Revoked   bool      `json:"revoked"`
	Hint      string    `json:"hint"`
	Bootstrap bool      `json:"bootstrap,omitempty"` // the token of DATA/enroll-token, made on first start
}

// CreateEnrollmentTokenRequest asks for a token (POST /enrollment-tokens);
// TTL is a Go duration, "" for 24h, "0" for a token that never expires.
type CreateEnrollmentTokenRequest struct {
	TTL string `json:"ttl,omitempty"`
}

// NewEnrollmentToken is a token just made, with the command that signs a
// device in with it.
type NewEnrollmentToken struct {
	ID      string    `json:"id"`
	Token   string    `json:"token"`
	Expires time.Time `json:"expires,omitzero"`
	Command string    `json:"command"`
}

// PasswordChange is PUT /user/password.
type PasswordChange struct {
	Current string `json:"current"`
	New     string `json:"new"`
}

// TerminalEvent is a text message of the terminal WebSocket (GET
// /executions/{id}/terminal), both ways. Frames are binary messages: an
// 8-byte big-endian sequence number, then the bytes.
type TerminalEvent struct {
	Type    string `json:"type"` // server: end, encrypted (the rest is in the run's encrypted log), error; browser: input, resize, stop, kill
	Message string `json:"message,omitempty"`
	Data    string `json:"data,omitempty"`
	Cols    uint16 `json:"cols,omitempty"`
	Rows    uint16 `json:"rows,omitempty"`
}
