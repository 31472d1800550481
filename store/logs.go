package store

import (
	"context"
	"time"

	"github.com/runlet/runlet"
)

// Logs stores what the server knows of run logs (issue 15, R-LOG-1 to
// R-LOG-3): each workspace's log key generations (public recipients and
// passphrase-sealed identities, never an identity in clear), the log
// objects devices uploaded (the bytes are in the object store, this is
// their record), and the workspace's log settings.
type Logs interface {
	// LogKeys returns the workspace's log key generations, oldest first;
	// none when the workspace never made one. ENOTFOUND: no such workspace.
	LogKeys(ctx context.Context, workspace string) ([]runlet.LogKey, error)
	// AddLogKey stores k as generation after+1, the new active one, setting
	// k.Generation and k.Created, and in the same transaction replaces the
	// Sealed text of older generations with resealed (generation → sealed
	// text; generations it does not name keep theirs). ECONFLICT: the
	// newest generation is not after (someone rotated first; 0 means the
	// workspace has none). EINVALID: no recipient or sealed text, or
	// resealed names a generation that does not exist. ENOTFOUND: no such
	// workspace.
	AddLogKey(ctx context.Context, workspace string, after int64, k *runlet.LogKey, resealed map[int64]string) error

	// PutLogObject records o (keyed by workspace, execution and device),
	// replacing the record of an earlier upload of that log, and sets
	// o.Uploaded. EINVALID: no execution or device, a bad digest, a
	// negative size, an unknown state. ENOTFOUND: no such workspace.
	PutLogObject(ctx context.Context, o *runlet.LogObject) error
	// LogObject returns the record of one log. ENOTFOUND.
	LogObject(ctx context.Context, workspace, execution, device string) (runlet.LogObject, error)
	// LogObjects returns the records of an execution's logs, by device
	// name; none when nothing was uploaded.
	LogObjects(ctx context.Context, workspace, execution string) ([]runlet.LogObject, error)
	// ExpiredLogObjects returns up to limit records of the workspace
	// uploaded before before, oldest first.
	ExpiredLogObjects(ctx context.Context, workspace string, before time.Time, limit int) ([]runlet.LogObject, error)
	// DeleteLogObject removes a record; a missing one is no error.
	DeleteLogObject(ctx context.Context, workspace, execution, device string) error

	// LogSettings returns the workspace's log settings, the zero value
	// when never set. ENOTFOUND: no such workspace.
	LogSettings(ctx context.Context, workspace string) (runlet.LogSettings, error)
	// SetLogSettings stores them. EINVALID: s.Check fails. ENOTFOUND.
	SetLogSettings(ctx context.Context, workspace string, s runlet.LogSettings) error
}
