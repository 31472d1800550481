package api

import (
	"time"

	"github.com/runlet/runlet"
)

// Run logs (issue 15, R-LOG-1 to R-LOG-3): the workspace's log keys, the
// upload and download of each execution's encrypted log, and the
// workspace's log settings. The server never sees a log in clear nor a
// log key's identity unsealed.
//
//	GET  /logkeys                              the key generations (members and devices)
//	POST /logkeys                              make the first generation or rotate (admins)
//	GET  /logkeys/active                       the recipient devices encrypt to, and the retention
//	GET  /executions/{id}/logs                 each target device's log: uploaded or why not
//	PUT  /executions/{id}/logs/{device}        upload (the device itself only)
//	GET  /executions/{id}/logs/{device}        download (Range, If-None-Match: "sha256")
//	HEAD /executions/{id}/logs/{device}        the stored copy's sha256 and modification time
//	GET  /logs/settings, PUT /logs/settings    retention (PUT: admins)

// Headers of a log upload and download. Both carry LogSHA256Header and
// LogModifiedHeader; an upload also gives the state, generation and
// segment count. A download's ETag is the quoted sha256, so that a reader
// holding a copy sends If-None-Match with its hash and gets 304 when the
// server's copy is the same (R-LOG-3).
const (
	LogSHA256Header     = "X-Runlet-Log-Sha256"
	LogModifiedHeader   = "X-Runlet-Log-Modified" // RFC 3339 with nanoseconds
	LogStateHeader      = "X-Runlet-Log-State"
	LogGenerationHeader = "X-Runlet-Log-Generation"
	LogSegmentsHeader   = "X-Runlet-Log-Segments"
)

// MaxLogUpload bounds one uploaded log (413 above it).
const MaxLogUpload = 8 << 30

// LogKeys is the answer of GET /logkeys: every generation, oldest first
// (the last is the active one); none before a person made the first.
type LogKeys struct {
	Keys []runlet.LogKey `json:"keys"`
}

// NewLogKey is the body of POST /logkeys: the first generation (After 0)
// or a rotation from generation After. Resealed holds the older
// generations' identities sealed again with the new passphrase, keyed by
// generation (as decimal text, JSON's object keys); the ones it leaves
// out keep their sealed text. 409 when After is not the newest generation.
type NewLogKey struct {
	After     int64             `json:"after"`
	Recipient string            `json:"recipient"`
	Sealed    string            `json:"sealed"`
	Resealed  map[string]string `json:"resealed,omitempty"`
}

// ActiveLogKey is the answer of GET /logkeys/active: what a device needs
// to record logs. Generation is 0 and Recipient empty when the workspace
// has no log key yet (then logs stay on the device, unencrypted, and are
// not uploaded: docs/logs.md).
type ActiveLogKey struct {
	Generation int64           `json:"generation"`
	Recipient  string          `json:"recipient,omitempty"`
	Retention  runlet.Duration `json:"retention"`
}

// LogUpload is what an upload says of the log besides its bytes: sent as
// the Log* headers.
type LogUpload struct {
	SHA256     string
	Modified   time.Time
	State      runlet.LogState
	Generation int64
	Segments   int
}

// ExecutionLogs is the answer of GET /executions/{id}/logs: one entry per
// target device of the execution, by device name.
type ExecutionLogs struct {
	Logs []ExecutionLog `json:"logs"`
}

// ExecutionLog is one target's log: Object when it was uploaded; else
// Pending says why not, for people ("the run is still going", "the device
// pi-2 is offline since 17:57 UTC and has not uploaded it yet").
type ExecutionLog struct {
	Device   string            `json:"device"` // the device's name
	Status   runlet.Status     `json:"status"`
	Online   bool              `json:"online"`
	LastSeen time.Time         `json:"lastSeen,omitzero"`
	Object   *runlet.LogObject `json:"object,omitempty"`
	Pending  string            `json:"pending,omitempty"`
}
