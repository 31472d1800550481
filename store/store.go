// Package store is the relational database of a Runlet server (R-SRV-2):
// workspaces, users, memberships, devices, tokens, device codes, the job set
// of each workspace, executions, the audit log, named leases and the ticks
// of schedules. It holds the records and the Store interface the server
// uses; the dialects (store/sqlite, store/postgres) implement it and all
// pass the contract suite in store/storetest. Job output is never stored
// here.
package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"strings"
	"time"

	"github.com/runlet/runlet"
)

// Store is the whole database, one interface per concern. Every method
// returns *runlet.Error values with the codes it documents, and any other
// error (the database is down, a bug) as an internal error.
//
// Times are stored to the microsecond and returned in UTC.
type Store interface {
	Workspaces
	Users
	Memberships
	Devices
	Tokens
	DeviceCodes
	Jobs
	Executions
	Audit
	Leases
	Ticks
	Sensors
	Telemetry
	Alerts
	Keys
	Logs

	// Ping reports whether the database answers, for /readyz.
	Ping(ctx context.Context) error
	// DiskFull returns err, an error of this store, as an EFULL error
	// naming the database when it means the database's disk is full, and
	// err itself otherwise. Any write may fail so; the server asks here
	// where it answers, rather than each method mapping its errors.
	DiskFull(err error) error
	// Close releases the database.
	Close() error
}

// Options configures a store when a dialect opens it (sqlite.Open,
// postgres.Open, connect.Open). The zero value is the default; later
// options are added here as fields.
type Options struct {
	// Now is the store's clock: created times, token and device code
	// expiry, run expiry, the time migrations are recorded. Nil means
	// time.Now. Tests pass a clock they move, so that expiry is tested
	// without waiting.
	Now func() time.Time
}

// Workspaces stores the tenants: every other record belongs to one.
type Workspaces interface {
	// CreateWorkspace stores w, setting w.ID when empty and w.Created.
	// EINVALID: no name. ECONFLICT: the name or the ID is taken.
	CreateWorkspace(ctx context.Context, w *runlet.Workspace) error
	// Workspace returns the workspace with the ID. ENOTFOUND.
	Workspace(ctx context.Context, id string) (runlet.Workspace, error)
	// WorkspaceByName returns the workspace with the name. ENOTFOUND.
	WorkspaceByName(ctx context.Context, name string) (runlet.Workspace, error)
	// ListWorkspaces returns every workspace, by name.
	ListWorkspaces(ctx context.Context) ([]runlet.Workspace, error)
	// RenameWorkspace changes the workspace's name and returns it.
	// EINVALID: no name. ENOTFOUND. ECONFLICT: the name is taken.
	RenameWorkspace(ctx context.Context, id, name string) (runlet.Workspace, error)
}

// Users stores people who sign in to the web UI or approve devices.
type Users interface {
	// CreateUser stores u, setting u.ID when empty, u.Created, and u.Type to
	// basic when empty. EINVALID: no email, unknown type. ECONFLICT: the
	// email (compared case-insensitively) or the ID is taken.
	CreateUser(ctx context.Context, u *runlet.User) error
	// User returns the user with the ID. ENOTFOUND.
	User(ctx context.Context, id string) (runlet.User, error)
	// UserByEmail returns the user whose email equals email, ignoring
	// case. ENOTFOUND.
	UserByEmail(ctx context.Context, email string) (runlet.User, error)
	// UpdateUser changes the fields set in upd and returns the user.
	// ENOTFOUND. EINVALID: unknown type.
	UpdateUser(ctx context.Context, id string, upd UserUpdate) (runlet.User, error)
}

// Memberships stores who belongs to which workspace, with which role.
type Memberships interface {
	// PutMembership adds the user to the workspace or changes the role,
	// setting m.Created (kept from the first time on a change). ENOTFOUND:
	// no such workspace or user. EINVALID: unknown role.
	PutMembership(ctx context.Context, m *runlet.Membership) error
	// Membership returns the user's membership in the workspace. ENOTFOUND.
	Membership(ctx context.Context, workspace, user string) (runlet.Membership, error)
	// ListMembers returns the memberships of the workspace, oldest first.
	ListMembers(ctx context.Context, workspace string) ([]runlet.Membership, error)
	// ListUserMemberships returns the memberships of the user, oldest first.
	ListUserMemberships(ctx context.Context, user string) ([]runlet.Membership, error)
	// DeleteMembership removes the user from the workspace. ENOTFOUND.
	DeleteMembership(ctx context.Context, workspace, user string) error
}

// Devices stores the machines signed in to a workspace.
type Devices interface {
	// CreateDevice stores d, setting d.ID when empty and d.Created.
	// EINVALID: no name. ENOTFOUND: no such workspace. ECONFLICT: an
	// unrevoked device of the workspace has the name, or the ID is taken.
	CreateDevice(ctx context.Context, d *runlet.Device) error
	// Device returns the device of the workspace with the ID, revoked or
	// not. ENOTFOUND.
	Device(ctx context.Context, workspace, id string) (runlet.Device, error)
	// DeviceByName returns the unrevoked device of the workspace with the
	// name. ENOTFOUND.
	DeviceByName(ctx context.Context, workspace, name string) (runlet.Device, error)
	// ListDevices returns the devices of the workspace, revoked ones too, by
	// name.
	ListDevices(ctx context.Context, workspace string) ([]runlet.Device, error)
	// UpdateDevice changes the fields set in upd and returns the device.
	// ENOTFOUND. EINVALID: an empty name. ECONFLICT: the new name is taken.
	UpdateDevice(ctx context.Context, workspace, id string, upd DeviceUpdate) (runlet.Device, error)
	// TouchDevice records that the device was seen at seen (Now when zero).
	// LastSeen never moves back, so late heartbeats are harmless. ENOTFOUND.
	TouchDevice(ctx context.Context, workspace, id string, seen time.Time) error
	// RevokeDevice marks the device revoked, frees its name and revokes
	// every token whose subject it is, in one transaction. Revoking twice
	// is not an error. ENOTFOUND.
	RevokeDevice(ctx context.Context, workspace, id string) error
}

// Tokens stores bearer credentials, only as SHA-256 hashes of the secrets.
type Tokens interface {
	// CreateToken stores t, setting t.ID when empty and t.Created.
	// EINVALID: unknown kind, a hash that is not 32 bytes, no subject, no
	// workspace for a kind other than session. ENOTFOUND: no such
	// workspace. ECONFLICT: the hash or the ID is taken.
	CreateToken(ctx context.Context, t *runlet.Token) error
	// TokenByHash returns the usable token with the hash (see HashSecret).
	// ENOTFOUND: unknown, revoked, or expired at Now; the caller answers
	// all three the same way.
	TokenByHash(ctx context.Context, hash []byte) (runlet.Token, error)
	// ListTokens returns the tokens of the workspace, revoked and expired
	// ones too, newest first.
	ListTokens(ctx context.Context, workspace string) ([]runlet.Token, error)
	// RevokeToken revokes the token of the workspace ("" for a session
	// without one) with the ID. Revoking twice is not an error. ENOTFOUND.
	RevokeToken(ctx context.Context, workspace, id string) error
	// RevokeSubjectTokens revokes every token of the workspace whose
	// subject is subject (a user or device ID) and returns how many were
	// still unrevoked.
	RevokeSubjectTokens(ctx context.Context, workspace, subject string) (int, error)
}

// DeviceCodes stores the OAuth device authorization grants (RFC 8628) of
// @signin: pending → approved or denied by a user → consumed once by the
// polling device.
type DeviceCodes interface {
	// CreateDeviceCode stores c with status pending, setting c.Created.
	// EINVALID: a hash that is not 32 bytes, no user code, no expiry.
	// ECONFLICT: the hash or the user code is taken (make a new one).
	CreateDeviceCode(ctx context.Context, c *runlet.DeviceCode) error
	// DeviceCodeByUserCode returns the unexpired code, for the approval
	// page. User codes are matched exactly: normalise what people type
	// (case, dashes) before storing and looking up. ENOTFOUND: unknown or
	// expired.
	DeviceCodeByUserCode(ctx context.Context, userCode string) (runlet.DeviceCode, error)
	// ApproveDeviceCode lets the device join the workspace on behalf of the
	// user. ENOTFOUND: unknown or expired code, unknown workspace or user.
	// ECONFLICT: the code is no longer pending.
	ApproveDeviceCode(ctx context.Context, userCode, workspace, user string) (runlet.DeviceCode, error)
	// DenyDeviceCode refuses the device. ENOTFOUND: unknown or expired code.
	// ECONFLICT: the code is no longer pending.
	DenyDeviceCode(ctx context.Context, userCode, user string) (runlet.DeviceCode, error)
	// PollDeviceCode records a poll by the device at Now and returns the
	// code as it was before, so LastPoll is the previous poll (for
	// slow_down) and an expired code is returned as such (for
	// expired_token). ENOTFOUND: unknown.
	PollDeviceCode(ctx context.Context, hash []byte) (runlet.DeviceCode, error)
	// ConsumeDeviceCode turns an approved code into consumed, once: of two
	// pollers, one wins. ENOTFOUND: unknown or expired. ECONFLICT: not
	// approved (pending, denied or already consumed).
	ConsumeDeviceCode(ctx context.Context, hash []byte) (runlet.DeviceCode, error)
	// DeleteExpiredDeviceCodes removes codes expired before Now and returns
	// how many.
	DeleteExpiredDeviceCodes(ctx context.Context) (int, error)
}

// AnyVersion, given to PutJobs as expectVersion, replaces the job set
// whatever its version.
const AnyVersion int64 = -1

// JobHistory is how many versions of a workspace's job set the store keeps,
// the current one included: a save drops the versions older than the last
// JobHistory. A version is its whole source, so the history of a workspace
// takes at most JobHistory times its largest job file.
const JobHistory = 100

// Jobs stores each workspace's job set as its YAML source, with a version
// for optimistic concurrency (two editors cannot overwrite each other) and
// a history: every save is kept as a version, the last JobHistory of them,
// so that an older one can be read and restored.
type Jobs interface {
	// GetJobs returns the job set of the workspace, its version and when it
	// was last changed; a workspace without one returns nil, 0 and the zero
	// time. ENOTFOUND: no such workspace.
	GetJobs(ctx context.Context, workspace string) (src []byte, version int64, updated time.Time, err error)
	// PutJobs is SaveJobs of src when nothing is known of who saved it or
	// how many jobs it holds.
	PutJobs(ctx context.Context, workspace string, src []byte, expectVersion int64) (version int64, err error)
	// SaveJobs replaces the job set with s.Source if its version is
	// s.Expect (0: there is none yet; AnyVersion: whatever it is) and
	// returns the new version, which the history keeps with s.By, s.Jobs
	// and s.Note; versions older than the last JobHistory are dropped. The
	// store does not parse the source. ECONFLICT: the version differs.
	// ENOTFOUND: no such workspace. EINVALID: an unknown s.Expect.
	SaveJobs(ctx context.Context, workspace string, s JobsSave) (version int64, err error)
	// JobVersions returns the kept versions of the job set, newest (the
	// current one) first; none when the workspace has no job set.
	// ENOTFOUND: no such workspace.
	JobVersions(ctx context.Context, workspace string) ([]runlet.JobVersion, error)
	// JobVersion returns one kept version and its source. ENOTFOUND: no
	// such workspace, or a version never saved or no longer kept.
	JobVersion(ctx context.Context, workspace string, version int64) (runlet.JobVersion, []byte, error)
}

// Executions stores runs of jobs (R-JOB-8). One execution ID may target
// several devices: a run is identified by workspace, ID and device.
type Executions interface {
	// CreateExecution stores e as Pending, setting e.ID when empty (give the
	// same ID to every target of a fan-out, see NewID) and e.Created when
	// zero. EINVALID: no job or device, a status other than Pending.
	// ENOTFOUND: no such workspace. ECONFLICT: the (ID, device) is taken.
	CreateExecution(ctx context.Context, e *runlet.Execution) error
	// CreateExecutions stores every one of es as CreateExecution does, all
	// or none: the targets of a fan-out, in one transaction. Same errors.
	CreateExecutions(ctx context.Context, es []*runlet.Execution) error
	// Execution returns the run of the ID on the device. ENOTFOUND.
	Execution(ctx context.Context, workspace, id, device string) (runlet.Execution, error)
	// ExecutionTargets returns every run of the ID, by device. ENOTFOUND:
	// none.
	ExecutionTargets(ctx context.Context, workspace, id string) ([]runlet.Execution, error)
	// ListExecutions returns the runs of the workspace that match f, newest
	// first. EINVALID: a negative limit or offset, an unknown status.
	ListExecutions(ctx context.Context, workspace string, f ExecutionFilter) ([]runlet.Execution, error)
	// ListRuns returns a page of the workspace's runs that match f, newest
	// first (by Created, then by ID): one per execution ID, with its
	// targets by device. Created is the first target's, Job and Client
	// the run's. The page after it starts after f.After, so runs added
	// while someone pages are never listed twice nor shift a run off the
	// next page. EINVALID: a negative limit, an unknown outcome, From not
	// before To.
	ListRuns(ctx context.Context, workspace string, f RunFilter) (RunPage, error)
	// UpdateExecutionStatus moves the run forward: Pending → Running →
	// Finished or Error, or Pending straight to a final status. An update
	// that is not forward (a replay, a Running that arrives after the end)
	// changes nothing and is not an error; changed tells which happened and
	// e is the run as stored afterwards. Running sets Started, a final
	// status sets Finished, ExitCode, Signal and Reason. ENOTFOUND.
	// EINVALID: the status is Pending or unknown.
	UpdateExecutionStatus(ctx context.Context, workspace, id, device string, u StatusUpdate) (e runlet.Execution, changed bool, err error)
	// MarkExecutionKilled records that a stop or kill was asked for a run
	// that has not ended; on an ended run it changes nothing. ENOTFOUND.
	MarkExecutionKilled(ctx context.Context, workspace, id, device string) (runlet.Execution, error)
	// CancelExecution ends a run that has not started, because a stop or
	// kill was asked for it: a Pending run becomes Error, marked killed,
	// finished at Now, exit code -1, with reason (runlet's "stopped before
	// it started" or "killed before it started"). The statuses its device
	// may still send (a late Running) then change nothing. On a run that
	// has started or ended it changes nothing; changed tells which
	// happened. ENOTFOUND.
	CancelExecution(ctx context.Context, workspace, id, device, reason string) (e runlet.Execution, changed bool, err error)
	// ExpireExecutions ends as Error every Pending run, in any workspace,
	// whose expiry is at or before Now, and returns them.
	ExpireExecutions(ctx context.Context) ([]runlet.Execution, error)
}

// Leases are named leases in the database: one holder at a time, until it
// expires unless renewed, so that one server of several sharing a database
// does a piece of work alone (the scheduler, later the telemetry silence
// alerts). A holder that stops without releasing (kill -9) loses the lease
// when it expires. Times are the store's clock (Options.Now): the holders
// of one lease must share a clock, as servers on one database do.
type Leases interface {
	// AcquireLease makes holder the holder of the lease called name until
	// Now+ttl when the lease is free (never taken, released, or expired at
	// Now), or renews it when holder holds it already. It returns the
	// lease as it stands afterwards, and held reports whether holder holds
	// it: when another does, l says who and until when. EINVALID: no name
	// or holder, a ttl under a millisecond.
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (l Lease, held bool, err error)
	// ReleaseLease frees the lease when holder holds it, so that another
	// may take it at once; otherwise it does nothing.
	ReleaseLease(ctx context.Context, name, holder string) error
	// Lease returns the lease called name. ENOTFOUND: never taken, or
	// released.
	Lease(ctx context.Context, name string) (Lease, error)
}

// Ticks records each firing of a job's schedule (runlet.Tick), unique per
// workspace, job and instant: whoever claims a tick first runs it, so a
// run happens once a tick however many schedulers try.
type Ticks interface {
	// ClaimTick records t as claimed by t.Holder at Now and returns it
	// with claimed true, unless the tick (t.Workspace, t.Job, t.At) is
	// recorded already. A recorded tick is claimed again (claimed true,
	// its Execution kept, Holder and Claimed changed) only when it is
	// still TickClaimed and either t.Holder holds it or its claim is at
	// least stale old: its holder stopped mid-tick. Otherwise the
	// recorded tick is returned with claimed false. EINVALID: no job,
	// holder or execution, a zero At. ENOTFOUND: no such workspace.
	ClaimTick(ctx context.Context, t runlet.Tick, stale time.Duration) (got runlet.Tick, claimed bool, err error)
	// FinishTick moves a tick that holder has claimed to state (started,
	// failed or skipped) with reason, and drops the job's ticks older than
	// the last TickHistory. EINVALID: state is claimed or unknown.
	// ENOTFOUND: no such tick. ECONFLICT: holder no longer holds the
	// claim (another took it over, or it is finished).
	FinishTick(ctx context.Context, workspace, job string, at time.Time, holder string, state runlet.TickState, reason string) (runlet.Tick, error)
	// LastTicks returns the latest tick of every job of the workspace
	// that has one, deleted jobs too, by job name.
	LastTicks(ctx context.Context, workspace string) ([]runlet.Tick, error)
}

// Sensors stores the sensors of each workspace (runlet.Sensor). A sensor's
// id is unique across the store; its secret is stored hashed (salted,
// slow enough that a copy of the database does not give secrets away) and
// never returned.
type Sensors interface {
	// AddSensor stores s with secret and its rules, setting s.Created and
	// s.State to active when empty. EINVALID: an id of 0 or less, no
	// secret or one longer than runlet.MaxSensorSecret, an unknown state,
	// a minimum above its maximum, a silence period under
	// runlet.MinAlertPeriod. ENOTFOUND: no
	// such workspace. ECONFLICT: the id is taken, in any workspace.
	AddSensor(ctx context.Context, s *runlet.Sensor, secret string) error
	// Sensor returns the workspace's sensor with the id, with its
	// LastSeen and Latest values. ENOTFOUND: none, or it belongs to
	// another workspace.
	Sensor(ctx context.Context, workspace string, id int64) (runlet.Sensor, error)
	// ListSensors returns the workspace's sensors by id, with LastSeen and
	// Latest.
	ListSensors(ctx context.Context, workspace string) ([]runlet.Sensor, error)
	// UpdateSensor stores s's name, owner, location, contact, state and
	// rules, and a new secret when secret is not empty, and returns the
	// sensor.
	// EINVALID: as AddSensor. ENOTFOUND: as Sensor.
	UpdateSensor(ctx context.Context, s runlet.Sensor, secret string) (runlet.Sensor, error)
	// DeleteSensor removes the sensor, its series, its raw archive and
	// the marks of its alert keys; its alerts stay, those still open
	// resolved.
	// ENOTFOUND: as Sensor.
	DeleteSensor(ctx context.Context, workspace string, id int64) error
	// CheckSensor returns the sensor with the id, in whatever workspace,
	// when secret is its secret: the ingest authenticates readings so.
	// ENOTFOUND: no such sensor. EUNAUTHORIZED: a wrong secret.
	CheckSensor(ctx context.Context, id int64, secret string) (runlet.Sensor, error)
}

// Telemetry stores readings twice: the raw archive (runlet.RawReading,
// the seed's raw table, replayable per sensor in insertion order) and
// the series (one point per sensor, metric and time). Both are idempotent,
// so that a batch delivered twice is stored once.
type Telemetry interface {
	// AddReadings stores rs, readings device relayed for sensors of the
	// workspace, in one transaction: each is archived unless the
	// archive holds its (device, Seq) already, and each of its values
	// becomes a point of the series unless the sensor has a point of
	// that metric at that time already (the first stored wins). It moves
	// the sensors' LastSeen and Latest forward. It returns how many
	// readings were archived (not there before). It does not check that
	// the sensors exist or belong to the workspace: the caller has.
	// ENOTFOUND: no such workspace.
	AddReadings(ctx context.Context, workspace string, rs []runlet.RawReading) (archived int, err error)
	// RawReadings returns the archive of a sensor of the workspace in
	// insertion order: readings with a Time in [from, to) and an ID
	// above after (0 for the first page), at most limit of them (0 means
	// DefaultLimit, more than MaxLimit means MaxLimit). ENOTFOUND: as
	// Sensor.
	RawReadings(ctx context.Context, workspace string, sensor int64, from, to time.Time, after int64, limit int) ([]runlet.RawReading, error)
	// Series returns the points of a sensor's metric with a Time in
	// [from, to), oldest first: every point when step is 0, else one
	// SeriesPoint per bucket of step that has points, buckets aligned on
	// multiples of step since the unix epoch. At most limit points or
	// buckets (as RawReadings). EINVALID: an unknown metric, a negative
	// step, to before from. ENOTFOUND: as Sensor.
	Series(ctx context.Context, workspace string, sensor int64, metric runlet.Metric, from, to time.Time, step time.Duration, limit int) ([]runlet.SeriesPoint, error)
	// TelemetrySettings returns the workspace's telemetry settings.
	// ENOTFOUND: no such workspace.
	TelemetrySettings(ctx context.Context, workspace string) (TelemetrySettings, error)
	// SetTelemetrySettings stores them. EINVALID: a retention under an
	// hour. ENOTFOUND.
	SetTelemetrySettings(ctx context.Context, workspace string, s TelemetrySettings) error
	// PruneReadings deletes the workspace's series points and archived
	// readings with a Time before before, and returns how many rows went.
	PruneReadings(ctx context.Context, workspace string, before time.Time) (int64, error)
}

// TelemetrySettings are a workspace's telemetry settings.
type TelemetrySettings struct {
	// Retention is how long readings are kept; DefaultRetention when the
	// workspace never set it.
	Retention time.Duration `json:"retention"`
	// AutoRegister lets the first reading of an unknown sensor register
	// it, with that reading's secret as its secret (off by default).
	AutoRegister bool `json:"autoRegister"`
}

// DefaultRetention is TelemetrySettings.Retention of a workspace that
// never set it: a year and a day.
const DefaultRetention = 366 * 24 * time.Hour

// Audit keeps the security events an operator must be able to read later:
// accounts and addresses locked out after failed sign-ins.
type Audit interface {
	// AddAudit stores e, setting e.ID when empty and e.Time when zero.
	// EINVALID: no kind. ENOTFOUND: no such workspace.
	AddAudit(ctx context.Context, e *AuditEvent) error
	// ListAudit returns the newest limit events of the workspace, or of
	// every workspace and none when workspace is "", newest first; a limit
	// of 0 means DefaultLimit and more than MaxLimit means MaxLimit.
	// EINVALID: a negative limit.
	ListAudit(ctx context.Context, workspace string, limit int) ([]AuditEvent, error)
}

// NewID returns a random identifier of 26 lowercase letters and digits, safe
// as one word of a bus key.
func NewID() string { return strings.ToLower(rand.Text()) }

// HashSecret returns the SHA-256 of a token or device code secret: the only
// form in which the store keeps it.
func HashSecret(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}
