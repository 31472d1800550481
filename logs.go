package runlet

import (
	"fmt"
	"strings"
	"time"
)

// Run logs (issue 15, R-LOG-1 to R-LOG-3). A device records every run's
// terminal output as an asciicast, encrypted as it is written to the
// workspace's log key (an age X25519 recipient) in independent segments
// (package castlog), keeps it under its home and uploads it when the run
// ends. The server and the object store hold only ciphertext: the private
// half of the key exists on the server only sealed with the workspace's
// log passphrase, and is unsealed by a person's CLI or browser.

// LogKey is one generation of a workspace's log key. The newest generation
// is the active one: devices encrypt new logs to its Recipient. Older
// generations stay so that older logs can be read; a rotation re-seals
// them with the new passphrase (see docs/security.md).
type LogKey struct {
	// Generation numbers the workspace's keys from 1.
	Generation int64 `json:"generation"`
	// Recipient is the public half, an age X25519 recipient ("age1…").
	Recipient string `json:"recipient"`
	// Sealed is the private half (an "AGE-SECRET-KEY-1…" identity)
	// encrypted with the passphrase by age's scrypt recipient, armored
	// ("-----BEGIN AGE ENCRYPTED FILE-----"). The server cannot open it.
	Sealed string `json:"sealed"`
	// Created is when the generation was made, by CreatedBy (a user id).
	Created   time.Time `json:"created"`
	CreatedBy string    `json:"createdBy,omitempty"`
}

// LogState is where a run's log stands for one device.
type LogState string

const (
	// LogUploaded: the object store holds the whole log.
	LogUploaded LogState = "uploaded"
	// LogInterrupted: the object store holds the log of a run its daemon
	// did not see end (killed, power cut): every segment sealed before
	// the end, and what the daemon recovered from its plaintext at restart.
	LogInterrupted LogState = "interrupted"
)

// LogObject is a run's log on one device as the object store holds it.
type LogObject struct {
	Workspace string `json:"-"`
	Execution string `json:"execution"`
	// Device is the device's id; DeviceName its name, for people.
	Device     string   `json:"device"`
	DeviceName string   `json:"deviceName,omitempty"`
	State      LogState `json:"state"`
	// Size is the ciphertext's length in bytes; SHA256 its hex digest.
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// Modified is when the device last wrote the log (its file's
	// modification time); Uploaded when the server stored it.
	Modified time.Time `json:"modified"`
	Uploaded time.Time `json:"uploaded"`
	// Generation is the log key generation the log is encrypted to.
	Generation int64 `json:"generation"`
	// Segments is how many independently encrypted segments it holds.
	Segments int `json:"segments"`
}

// LogSettings are a workspace's log settings.
type LogSettings struct {
	// Retention is how long logs are kept, on the object store and on the
	// devices, counted from their upload; 0 means DefaultLogRetention.
	Retention Duration `json:"retention"`
}

// DefaultLogRetention is LogSettings.Retention when zero.
const DefaultLogRetention = 90 * 24 * time.Hour

// MaxLogRetention bounds LogSettings.Retention.
const MaxLogRetention = 10 * 365 * 24 * time.Hour

// RetentionOrDefault is s.Retention, or DefaultLogRetention when zero.
func (s LogSettings) RetentionOrDefault() time.Duration {
	if s.Retention <= 0 {
		return DefaultLogRetention
	}
	return time.Duration(s.Retention)
}

// Check reports settings that cannot apply, with EINVALID.
func (s LogSettings) Check() error {
	r := time.Duration(s.Retention)
	if r < 0 || (r > 0 && r < time.Hour) || r > MaxLogRetention {
		return Errorf(EINVALID, "log retention %s is out of range: give between 1h and %dd (0 for the default, %dd)",
			r, MaxLogRetention/(24*time.Hour), DefaultLogRetention/(24*time.Hour))
	}
	return nil
}

// CheckSHA256 reports, with EINVALID, a digest that is not 64 lower-case
// hex digits.
func CheckSHA256(s string) error {
	if len(s) != 64 || strings.Trim(s, "0123456789abcdef") != "" {
		return Errorf(EINVALID, "%q is not a sha256 digest: want 64 lower-case hex digits", s)
	}
	return nil
}

// LogCopy is what a reader knows of one copy of a log: whether it exists,
// and its ciphertext's sha256 and modification time.
type LogCopy struct {
	Present  bool
	SHA256   string
	Modified time.Time
}

// LogSource is the copy of a log to read.
type LogSource int

const (
	// LogMissing: neither copy exists.
	LogMissing LogSource = iota
	// ReadLocal: read the local copy as it is.
	ReadLocal
	// Download: fetch the remote copy (and keep it as the local one).
	Download
)

func (s LogSource) String() string {
	switch s {
	case ReadLocal:
		return "read the local copy"
	case Download:
		return "download the remote copy"
	default:
		return "no copy"
	}
}

// ChooseLogCopy is R-LOG-3, the one implementation of the seed's rule,
// used by the daemon and by the CLI: with no local copy, download the
// remote one; with a local copy, its hash is compared with the remote's,
// and the local copy is replaced only if the hashes differ and the remote
// copy is newer; otherwise the local copy is read.
func ChooseLogCopy(local, remote LogCopy) LogSource {
	switch {
	case !local.Present && !remote.Present:
		return LogMissing
	case !local.Present:
		return Download
	case remote.Present && remote.SHA256 != local.SHA256 && remote.Modified.After(local.Modified):
		return Download
	default:
		return ReadLocal
	}
}

// String describes c for errors and logs.
func (c LogCopy) String() string {
	if !c.Present {
		return "absent"
	}
	return fmt.Sprintf("sha256 %.12s…, modified %s", c.SHA256, c.Modified.UTC().Format(time.RFC3339))
}
